"""Run terraform in a synthesized stack folder and read its plans and diagnostics as data."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import terraform_cli

# Go's garbage collector at a quarter of its default frequency for terraform and the provider it
# starts: building the AWS provider's schema is allocation-bound, and this cuts a plan's CPU time by
# about a fifth (13.5 -> 11 CPU-seconds for the whole stack) for about 250 MB more memory per run
# (docs/performance.md). A GOGC of the caller's own wins.
GO_GC_PERCENT = "400"


@dataclass(frozen=True)
class PlanResult:
    returncode: int
    diagnostics: list[dict[str, Any]]
    plan: dict[str, Any] | None

    @property
    def errors(self) -> list[str]:
        """Each error diagnostic as one line: summary and detail, whitespace folded."""
        return [" ".join(f"{d.get('summary', '')} {d.get('detail', '')}".split()) for d in self.diagnostics if d.get("severity") == "error"]


@dataclass
class Terraform:
    workdir: Path
    env: Mapping[str, str]

    def run(self, *args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess:
        """`terraform ARGS` in the workdir; without `capture`, its output goes to this stdout."""
        terraform_cli.configure()
        return subprocess.run(
            ["terraform", *args],
            cwd=self.workdir,
            env={"GOGC": GO_GC_PERCENT, **os.environ, "TF_IN_AUTOMATION": "1", **self.env},
            capture_output=capture,
            text=True,
            check=check,
        )

    def init(self) -> None:
        # Terraform's plugin cache is not safe for concurrent inits (parallel test workers):
        # one at a time; with the cache warm each takes a second or two.
        lock_path = terraform_cli.configure().with_name("init.lock")
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.run("init", "-input=false", "-no-color")

    def validate(self) -> dict[str, Any]:
        return json.loads(self.run("validate", "-json", check=False).stdout)

    def plan(self, variables: Mapping[str, Any], plan_file: str = "plan.bin", targets: Sequence[str] = ()) -> PlanResult:
        """`terraform plan` with -var inputs; the plan as `terraform show -json` gives it."""
        result = self.run(
            "plan",
            "-input=false",
            "-lock=false",
            "-json",
            f"-out={plan_file}",
            *self._var_args(variables),
            *(f"-target={target}" for target in targets),
            check=False,
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

    def apply(self, variables: Mapping[str, Any], stream: bool = False, targets: Sequence[str] = ()) -> None:
        """`terraform apply -auto-approve`; with `stream`, its progress goes to this stdout."""
        self._change("apply", variables, stream, targets)

    def destroy(self, variables: Mapping[str, Any], stream: bool = False) -> None:
        self._change("destroy", variables, stream)

    def _change(self, command: str, variables: Mapping[str, Any], stream: bool, targets: Sequence[str] = ()) -> None:
        args = [
            command,
            "-input=false",
            "-auto-approve",
            "-no-color",
            *self._var_args(variables),
            *(f"-target={target}" for target in targets),
        ]
        result = self.run(*args, check=False, capture=not stream)
        if result.returncode != 0:
            shown = "" if stream else f":\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            raise RuntimeError(f"terraform {command} failed{shown}")

    def outputs(self) -> dict[str, Any]:
        """Output values by name (sensitive ones included: callers decide what to print)."""
        raw = json.loads(self.run("output", "-json").stdout)
        return {name: spec["value"] for name, spec in raw.items()}

    def state_resources(self) -> list[str]:
        result = self.run("state", "list", check=False)
        return result.stdout.split() if result.returncode == 0 else []

    @staticmethod
    def _var_args(variables: Mapping[str, Any]) -> list[str]:
        return [f"-var={name}={value}" for name, value in variables.items()]

    def provider_schema(self) -> dict[str, Any]:
        return json.loads(self.run("providers", "schema", "-json").stdout)
