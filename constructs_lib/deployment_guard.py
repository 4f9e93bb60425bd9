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

A state without the record is no state of this release's. Terraform cannot tell it from an
empty one, so with remote state (`state` given) the guard reads the stored state object itself
and refuses a plan over a state that holds resources but none of this stack's (another stack's, or
a key given by mistake), and a first plan of a deployment while the state from before
per-deployment keys still lies at the old shared key unmoved (docs/delivery.md, "Upgrading from
one shared key"). That old state, moved to its deployment's key, is this stack's (its resources
are), and plans its record as the one change.

Not covered, and written down in docs/delivery.md: `-target` plans that leave the record and
the variable out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import jsii
from cdktf import (
    DataResource,
    Fn,
    IResolveContext,
    IStringProducer,
    Lazy,
    Op,
    Postcondition,
    TerraformResource,
    TerraformResourceLifecycle,
    TerraformSelf,
    TerraformStack,
    TerraformVariable,
    Token,
)
from cdktf_cdktf_provider_aws.data_aws_s3_object import DataAwsS3Object
from cdktf_cdktf_provider_aws.data_aws_s3_objects import DataAwsS3Objects
from constructs import Construct


@dataclass(frozen=True)
class StoredState:
    """The state object a remote backend keeps, and where states were kept before per-deployment keys."""

    bucket: str
    key: str
    legacy_key: str


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
            _read_stored_state(self, props.stack, props.state)


def _read_stored_state(scope: Construct, stack: str, state: StoredState) -> None:
    """Refuse a stored state this stack never wrote, and a first plan beside an unmoved old state."""
    where = f"s3://{state.bucket}/{state.key}"
    stored = DataAwsS3Objects(
        scope,
        "stored-states",
        bucket=state.bucket,
        prefix=f"{stack}/",
        lifecycle=TerraformResourceLifecycle(
            postcondition=[
                Postcondition(
                    condition=Op.or_(
                        Op.not_(Fn.contains(TerraformSelf.get_any("keys"), state.legacy_key)),
                        Fn.contains(TerraformSelf.get_any("keys"), state.key),
                    ),
                    error_message=(
                        f"The state from before per-deployment keys is still at s3://{state.bucket}/{state.legacy_key}, and {where} "
                        "does not exist yet: move that state to the deployment that owns it, then delete the old object "
                        '(docs/delivery.md, "Upgrading from one shared key"). Nothing was planned.'
                    ),
                )
            ]
        ),
    )
    # Its body: Terraform's S3 backend stores the state as application/json, which the data source reads.
    DataAwsS3Object(
        scope,
        "stored-state",
        bucket=state.bucket,
        key=state.key,
        count=Token.as_number(Fn.conditional(Fn.contains(stored.keys, state.key), 1, 0)),
        lifecycle=TerraformResourceLifecycle(
            postcondition=[
                Postcondition(
                    condition=Lazy.string_value(_HoldsThisStack(TerraformStack.of(scope))),
                    error_message=(
                        f"The state at {where} holds resources, none of them of stack {stack}: another stack wrote it, or a "
                        "setting points at the wrong key (STATE_KEY). Nothing was planned; point this deployment at its own "
                        "state (unset STATE_KEY for the key named after RESOURCE_PREFIX)."
                    ),
                )
            ]
        ),
    )


@jsii.implements(IStringProducer)
class _HoldsThisStack:
    """The condition: the stored state is empty, or one of its resources is one of this stack's
    (its addresses, found when the stack synthesizes)."""

    def __init__(self, stack: TerraformStack) -> None:
        self.stack = stack

    def produce(self, context: IResolveContext) -> str:
        ours = sorted(
            f"{c.terraform_resource_type}.{c.friendly_unique_id}" for c in self.stack.node.find_all() if isinstance(c, TerraformResource)
        )
        resources = "try(jsondecode(self.body).resources, [])"
        stored = f'[for r in {resources} : "${{r.type}}.${{r.name}}" if r.mode == "managed"]'
        return f"${{length({resources}) == 0 || length(setintersection({stored}, {json.dumps(ours)})) > 0}}"


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
