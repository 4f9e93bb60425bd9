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

Not covered, and written down in docs/delivery.md: `-target` plans that leave the record and
the variable out, and states this stack never wrote (Terraform cannot tell them from an empty
one; the plan review flags what such a plan would delete).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import DataResource, Fn, Op, Postcondition, TerraformResourceLifecycle, TerraformSelf, TerraformVariable
from constructs import Construct


@dataclass(frozen=True)
class DeploymentGuardProps:
    stack: str  # the stack whose state this is
    # The deployment's variable (ResourcePrefix); None for a stack with one deployment and no variable.
    variable: TerraformVariable | None = None
    # The name the synth gives the deployment; None: whatever the variable is set to.
    deployment: str | None = None
    # How a user addresses deployment {name} instead (a command), for the refusal's message.
    address: str = "point {stack} at deployment {name}'s own state"


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
            return
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
