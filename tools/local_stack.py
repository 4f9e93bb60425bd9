"""The whole stack on a local moto server: synth aimed at it, apply, seed, destroy.

Shared by `make up` / `make down` (tools/up.py) and the end-to-end test. The emulator creates the
Lambda function but cannot run its code (that needs Docker): the local API (tools/local_api.py)
runs it, configured from this deployment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks.facts import PROJECT_ROOT, stack_dir
from tools.emulator import client, client_env
from tools.terraform_runner import OnLine, Terraform

# The emulator profile: the settings a local deployment needs, each for what moto cannot do
# (docs/emulator.md, "Emulator differences"). The stack knows features, not the emulator.
EMULATOR_PROFILE = {
    # Local state in the deployment's folder.
    "STATE_BACKEND": "local",
    # `make down` must be able to destroy everything.
    "PROTECT_STATEFUL": "false",
    # moto refuses to change Object Lock settings of a non-empty bucket, so destroy could not
    # remove a default retention.
    "OBJECT_LOCK_DAYS": "0",
    # moto has no API for CloudFront response headers policies: AWS's managed one by id.
    "OWN_SECURITY_HEADERS": "false",
    # moto deploys a distribution at once, but the provider waits a fixed half minute before it
    # first asks (measured: apply 38 s with the wait, 5 s without).
    "CDN_WAIT_FOR_DEPLOYMENT": "false",
}


@dataclass
class LocalStack:
    """One deployment of the stack on one emulator, with its state and synth under `root`."""

    root: Path
    endpoint: str
    variables: dict[str, Any] = field(default_factory=dict)
    # Synth settings beyond the emulator profile (stacks/settings.py), e.g. a small quota for tests.
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def outdir(self) -> Path:
        return self.root / "cdktf.out"

    @property
    def state_file(self) -> Path:
        return self.root / "terraform.tfstate"

    @property
    def terraform(self) -> Terraform:
        return Terraform(stack_dir(self.outdir), self.client_env())

    def client_env(self) -> dict[str, str]:
        return client_env(self.endpoint)

    def synth(self) -> Path:
        """`python main.py` aimed at the emulator, with local state and no destroy protection."""
        self.root.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            CDKTF_OUTDIR=str(self.outdir),
            EMULATOR_ENDPOINT=self.endpoint,
            STATE_LOCAL_PATH=str(self.state_file),
            **EMULATOR_PROFILE,
            **self.settings,
        )
        subprocess.run([sys.executable, "main.py"], cwd=PROJECT_ROOT, env=env, check=True)
        return stack_dir(self.outdir)

    def up(self, log: Path | None = None, on_line: OnLine = None) -> dict[str, Any]:
        """Synth, init and apply (Terraform's output to `log` and `on_line`); returns the outputs."""
        self.synth()
        return self.apply(log, on_line)

    def apply(self, log: Path | None = None, on_line: OnLine = None) -> dict[str, Any]:
        terraform = self.terraform
        terraform.init()
        terraform.apply(self.variables, log=log, on_line=on_line)
        return terraform.outputs()

    def deployed(self) -> bool:
        """Whether the state holds any resource (after a destroy it exists, empty)."""
        return self.state_file.exists() and bool(json.loads(self.state_file.read_text()).get("resources"))

    def down(self, log: Path | None = None, on_line: OnLine = None) -> None:
        if self.deployed():
            self.terraform.destroy(self.variables, log=log, on_line=on_line)

    def boto3(self, service: str):
        return client(self.endpoint, service)

    def seed_item(self, table: str, item: Mapping[str, str]) -> None:
        self.boto3("dynamodb").put_item(TableName=table, Item={k: {"S": v} for k, v in item.items()})
