"""Keeps each deployment on its own state: a plan for another deployment is refused before anything changes.

The state records whose it is: a `terraform_data` record of the stack and the deployment that
first applied it. `ignore_changes` keeps the recorded values in every later plan, so a check
compares the state's owner with the deployment being planned, and Terraform refuses the plan
(and `apply`, which plans first) when they differ. Without it, a plan of deployment B against
deployment A's state replaces every named resource of A with one of B (measured: 45 to destroy).

Where the synth names its deployment (`deployment` given), the record holds that name as written,
and the check is a validation of the deployment's variable (ResourcePrefix): a variable's
validation runs in every plan, `destroy` and `-refresh-only` included, so no command of this
synth can act on another deployment's state, or with another prefix on its own. Unnamed (local
experiments), the record holds the variable's value and a postcondition makes the check: plans
and applies only, since Terraform evaluates no postcondition while destroying.

With remote state (`state` given), the guard also lists the state bucket's keys and refuses a
deployment's first plan while the state from before per-deployment keys still lies at the old
shared key unmoved (docs/delivery.md, "Upgrading from one shared key"); that state, moved to its
deployment's key, plans its record as the one change.

Not covered, and written down in docs/delivery.md: `-target` plans that leave the record and the
variable out, and a state this stack never wrote at the deployment's key (Terraform cannot tell it
from an empty one; reading the state object from the configuration would nest a copy of it in
every state written, so the check runs before Terraform: `python -m review.state_owner`).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import DataResource, Fn, Op, Postcondition, TerraformProvider, TerraformResourceLifecycle, TerraformSelf, TerraformVariable
from cdktf_cdktf_provider_aws.data_aws_s3_objects import DataAwsS3Objects
from constructs import Construct


@dataclass(frozen=True)
class StoredState:
    """The state object a remote backend keeps, and where states were kept before per-deployment keys."""

    bucket: str
    key: str
    legacy_key: str
    # The provider in the bucket's region, when it is not the stack's (S3 refuses listings from another region).
    provider: TerraformProvider | None = None


@dataclass(frozen=True)
class DeploymentGuardProps:
    stack: str  # the stack whose state this is
    # The deployment's variable (ResourcePrefix); None for a stack with one deployment and no variable.
    variable: TerraformVariable | None = None
    # The name the synth gives the deployment; None: whatever the variable is set to.
    deployment: str | None = None
    # How a user addresses deployment {name} instead (a command), for the refusal's message.
    address: str = "point {stack} at deployment {name}'s own state"
    # The remote state object, read to refuse a state this stack never wrote; None: local state.
    state: StoredState | None = None


class DeploymentGuard(Construct):
    def __init__(self, scope: Construct, id_: str, props: DeploymentGuardProps) -> None:
        super().__init__(scope, id_)
        if props.deployment is None and props.variable is None:
            raise ValueError("a deployment guard needs the deployment's name, its variable, or both")
        planned = props.variable.string_value if props.variable is not None else props.deployment
        recorded = {"stack": props.stack, "deployment": props.deployment if props.deployment is not None else planned}
        if props.deployment is not None and props.variable is not None:
            record = DataResource(self, "owner", input=recorded, lifecycle=TerraformResourceLifecycle(ignore_changes=["input"]))
            checks = _checks(props, Fn.lookup(record.input, "stack", ""), Fn.lookup(record.input, "deployment", ""), planned)
            for condition, message in checks:
                props.variable.add_validation(condition=condition, error_message=message)
        else:
            checks = _checks(props, TerraformSelf.get_string("input.stack"), TerraformSelf.get_string("input.deployment"), planned)
            DataResource(
                self,
                "owner",
                input=recorded,
                lifecycle=TerraformResourceLifecycle(
                    ignore_changes=["input"],
                    postcondition=[Postcondition(condition=condition, error_message=message) for condition, message in checks],
                ),
            )
        if props.state is not None:
            _read_stored_state(self, props.state)


def _read_stored_state(scope: Construct, state: StoredState) -> None:
    """Refuse a deployment's first plan while the state from before per-deployment keys lies unmoved.
    Only keys are read: a data source's result is kept in the state, and a copy of the state
    object itself would nest one more copy in every state written."""
    # Each key as its own prefix: it and its lock file, however many objects the bucket holds.
    own = DataAwsS3Objects(scope, "own-state", bucket=state.bucket, prefix=state.key, provider=state.provider)
    DataAwsS3Objects(
        scope,
        "legacy-state",
        bucket=state.bucket,
        provider=state.provider,
        prefix=state.legacy_key,
        lifecycle=TerraformResourceLifecycle(
            postcondition=[
                Postcondition(
                    condition=Op.or_(
                        Op.not_(Fn.contains(TerraformSelf.get_any("keys"), state.legacy_key)), Fn.contains(own.keys, state.key)
                    ),
                    error_message=(
                        f"The state from before per-deployment keys is still at s3://{state.bucket}/{state.legacy_key}, and "
                        f"s3://{state.bucket}/{state.key} does not exist yet: move that state to the deployment that owns it, "
                        'then delete the old object (docs/delivery.md, "Upgrading from one shared key"). Nothing was planned.'
                    ),
                )
            ]
        ),
    )


def _checks(props: DeploymentGuardProps, owner_stack: str, owner: str, planned: str) -> list[tuple[str, str]]:
    """(condition, message): the state's stack is this one and its deployment the planned one. One
    condition, since a variable's validation must read the variable."""
    stack = props.stack
    return [
        (
            Op.and_(Op.eq(owner_stack, stack), Op.eq(owner, planned)),
            f'This state belongs to deployment "{owner}" of stack {owner_stack}, not to "{planned}" of {stack}: each '
            f'deployment keeps its own state. To plan "{planned}", {props.address.format(stack=stack, name=planned)}; to plan '
            f'"{owner}", {props.address.format(stack=stack, name=owner)}.',
        )
    ]
