"""The whole stack on a local moto server: synth aimed at it, apply, seed, destroy.

Shared by `make up` / `make down` (local_cloud/up.py) and the end-to-end test. Two ways, as users have:
local state and plain terraform (`make up`), or the README's deploy path (the end-to-end test):
the state bucket created by `npx cdktf deploy state-bootstrap`, the service deployed with
`npx cdktf deploy` onto the S3 backend with its lock, under the deployment's own state key. The
emulator creates the Lambda function but cannot run its code (that needs
Docker): the local API (local_cloud/api.py) runs it, configured from this deployment.
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

from local_cloud.emulator import client, client_env
from local_cloud.provider_override import aim_at_emulator
from runners.cdktf_cli import Cdktf
from runners.terraform_runner import OnLine, Terraform
from stacks.facts import BOOTSTRAP_STACK_NAME, PROJECT_ROOT, STACK_NAME, stack_dir
from stacks.settings import deployment_state_key

# The emulator profile: the settings a local deployment needs, each for what moto cannot do
# (docs/emulator.md, "Emulator differences"). The stack knows features, not the emulator.
EMULATOR_PROFILE = {
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
class LocalDeployment:
    """One deployment of the stack on one emulator, with its state and synth under `root`."""

    root: Path
    endpoint: str
    variables: dict[str, Any] = field(default_factory=dict)
    # Synth settings beyond the emulator profile (stacks/settings.py), e.g. a small quota for tests.
    settings: dict[str, str] = field(default_factory=dict)
    # Remote state: the bucket state-bootstrap creates, and the deployment (its ResourcePrefix).
    state_bucket: str | None = None
    deployment: str | None = None

    @property
    def outdir(self) -> Path:
        return self.root / "cdktf.out"

    @property
    def state_file(self) -> Path:
        return self.root / "terraform.tfstate"

    @property
    def state_key(self) -> str:
        """The deployment's state object in the state bucket."""
        return deployment_state_key(self.deployment)

    @property
    def terraform(self) -> Terraform:
        return Terraform(stack_dir(self.outdir), self.client_env())

    @property
    def cdktf(self) -> Cdktf:
        return Cdktf(self.outdir, {**self.client_env(), **self.synth_env()})

    def client_env(self) -> dict[str, str]:
        return client_env(self.endpoint)

    def synth_env(self) -> dict[str, str]:
        """The app's settings: no destroy protection, local or remote state."""
        if self.state_bucket:
            backend = {"STATE_BACKEND": "s3", "STATE_BUCKET": self.state_bucket, "RESOURCE_PREFIX": self.deployment}
        else:
            backend = {"STATE_BACKEND": "local", "STATE_LOCAL_PATH": str(self.state_file)}
        return {**EMULATOR_PROFILE, **backend, **self.settings}

    def aim_at_emulator(self) -> None:
        """Both stacks' providers at the emulator (local_cloud/provider_override.py)."""
        for name in (STACK_NAME, BOOTSTRAP_STACK_NAME):
            aim_at_emulator(stack_dir(self.outdir, name), self.endpoint)

    def synth(self) -> Path:
        """`python main.py` with `synth_env` and no AWS credentials."""
        self.root.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(CDKTF_OUTDIR=str(self.outdir), **self.synth_env())
        subprocess.run([sys.executable, "main.py"], cwd=PROJECT_ROOT, env=env, check=True)
        self.aim_at_emulator()
        return stack_dir(self.outdir)

    def bootstrap_state(self, log: Path | None = None) -> None:
        """`npx cdktf deploy state-bootstrap`: synthesizes both stacks and creates the state bucket."""
        self.aim_at_emulator()
        self.cdktf.deploy(BOOTSTRAP_STACK_NAME, {}, log=log)

    def deploy(self, log: Path | None = None, on_line: OnLine = None) -> dict[str, Any]:
        """`npx cdktf deploy data-processing` onto the remote state (synthesized by bootstrap_state)."""
        self.aim_at_emulator()
        self.cdktf.deploy(STACK_NAME, self.variables, synth=False, log=log, on_line=on_line)
        return self.terraform.outputs()

    def destroy(self, log: Path | None = None) -> None:
        """`npx cdktf destroy data-processing`."""
        self.cdktf.destroy(STACK_NAME, self.variables, synth=False, log=log)

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
