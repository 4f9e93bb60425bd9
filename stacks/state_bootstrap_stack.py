"""The remote-state bucket: created once per account, before the service stack's first deploy.

Its own state is local (a bucket cannot hold the state that creates it): the file
`state-bootstrap.tfstate` at the project root. The bucket is versioned (every state version is
recoverable), encrypted, private, owner-enforced, TLS-only, keeps old state versions for a
while, and refuses `terraform destroy` (prevent_destroy) unless PROTECT_STATEFUL=false.
"""

from __future__ import annotations

from pathlib import Path

from cdktf import TerraformOutput, TerraformStack
from constructs import Construct

from constructs_lib.aws_provider import ProviderProps, aws_provider
from constructs_lib.data_bucket import BucketLifecycle, SecureBucket, SecureBucketProps
from constructs_lib.deployment_guard import DeploymentGuard, DeploymentGuardProps
from constructs_lib.guardrails import acknowledge, apply_guardrails
from constructs_lib.state_backend import StateBackendProps, apply_state_backend
from stacks.facts import BOOTSTRAP_STACK_NAME, REGION, REQUIRED_TAGS, stack_dir
from stacks.settings import StackSettings

# At the project root, relative to the stack's folder (cdktf.out/stacks/state-bootstrap).
BOOTSTRAP_STATE = "/".join([".."] * len(stack_dir(Path("cdktf.out"), BOOTSTRAP_STACK_NAME).parts) + [f"{BOOTSTRAP_STACK_NAME}.tfstate"])
STATE_VERSIONS_KEPT_DAYS = 90


class StateBootstrapStack(TerraformStack):
    def __init__(self, scope: Construct, id_: str, settings: StackSettings) -> None:
        super().__init__(scope, id_)
        apply_state_backend(self, StateBackendProps(kind="local", local_path=BOOTSTRAP_STATE))
        region = settings.backend.region or REGION
        provider = aws_provider(self, "aws", ProviderProps(region=region, default_tags=REQUIRED_TAGS))
        if region != REGION:
            acknowledge(provider, "GR5", "The state bucket lies where the service's backend looks for it: STATE_REGION")
        state = SecureBucket(
            self,
            "state",
            SecureBucketProps(
                name=settings.backend.bucket,
                object_lock=False,
                force_destroy=not settings.protect_stateful,
                lifecycle=BucketLifecycle(noncurrent_days=STATE_VERSIONS_KEPT_DAYS),
            ),
        )
        if settings.protect_stateful:
            state.bucket.add_override("lifecycle.prevent_destroy", True)
        # Its state records the stack and the bucket, so no other stack's plan can take it over.
        DeploymentGuard(self, "deployment", DeploymentGuardProps(stack=id_, deployment=settings.backend.bucket))
        TerraformOutput(self, "state_bucket", value=state.bucket.bucket, description="Set as STATE_BUCKET / stateBucket")
        TerraformOutput(self, "state_region", value=region, description="Set as STATE_REGION / stateRegion")
        apply_guardrails(self, region=REGION, required_tags=REQUIRED_TAGS)
