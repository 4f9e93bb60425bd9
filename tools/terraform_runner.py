"""Run terraform in a synthesized stack folder and read its plans and diagnostics as data."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from tools import terraform_cli


@dataclass(frozen=True)
class PlanResult:
    returncode: int
    diagnostics: list[dict[str, Any]]
    plan: dict[str, Any] | None

    @property
    def errors(self) -> list[str]:
        """Each error diagnostic as one line: summary and detail, whitespace folded."""
        return [
            " ".join(f"{d.get('summary', '')} {d.get('detail', '')}".split())
            for d in self.diagnostics
            if d.get("severity") == "error"
        ]


@dataclass
class Terraform:
    workdir: Path
    env: Mapping[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        terraform_cli.configure()
        return subprocess.run(
            ["terraform", *args],
            cwd=self.workdir,
            env={**os.environ, "TF_IN_AUTOMATION": "1", **self.env},
            capture_output=True,
            text=True,
            check=check,
        )

    def init(self) -> None:
        self.run("init", "-input=false", "-no-color")

    def validate(self) -> dict[str, Any]:
        return json.loads(self.run("validate", "-json", check=False).stdout)

    def plan(self, variables: Mapping[str, Any], plan_file: str = "plan.bin") -> PlanResult:
        """`terraform plan` with -var inputs; the plan as `terraform show -json` gives it."""
        var_args = [f"-var={name}={value}" for name, value in variables.items()]
        result = self.run(
            "plan", "-input=false", "-lock=false", "-json", f"-out={plan_file}", *var_args, check=False
        )
        diagnostics = [
            message["diagnostic"]
            for message in map(json.loads, filter(None, result.stdout.splitlines()))
            if message.get("type") == "diagnostic"
        ]
        plan = None
        if result.returncode == 0:
            plan = json.loads(self.run("show", "-json", plan_file).stdout)
        return PlanResult(result.returncode, diagnostics, plan)

    def provider_schema(self) -> dict[str, Any]:
        return json.loads(self.run("providers", "schema", "-json").stdout)
