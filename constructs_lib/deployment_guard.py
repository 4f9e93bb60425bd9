"""Keeps each deployment on its own state: a plan for another deployment is refused before anything changes.

The state records whose it is: a `terraform_data` record of the stack and the deployment (its
ResourcePrefix) that first applied it. `ignore_changes` keeps the recorded values in every later
plan, so the record's postcondition compares the state's owner with the deployment being planned,
and Terraform stops the plan (and `apply`, which plans first) when they differ. Without it, a
plan of deployment B against deployment A's state replaces every named resource of A with one of
B (measured: 45 to destroy).

With shared remote state, the default workspace holds no deployment (`named_workspace_required`):
each deployment is planned in its own workspace, so a command that names none is refused instead
of acting on whichever deployment the default workspace would hold.

Not covered, and written down in docs/delivery.md: `terraform destroy` evaluates no conditions
(the workspace, chosen by the deployment's name, is what selects the state there), `-target`
plans that leave the record out, and states that this stack never wrote (Terraform cannot tell
them from an empty one; the plan review flags what such a plan would delete).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import DataResource, Op, Postcondition, Precondition, TerraformResourceLifecycle, TerraformSelf
from constructs import Construct

DEFAULT_WORKSPACE = "default"


@dataclass(frozen=True)
class DeploymentGuardProps:
    stack: str  # the stack whose state this is
    deployment: str  # the deployment's name: its effective ResourcePrefix (a token)
    workspace: str  # terraform.workspace (a token)
    # Shared remote state: every deployment in its own workspace, none in the default one.
    named_workspace_required: bool = False


class DeploymentGuard(Construct):
    def __init__(self, scope: Construct, id_: str, props: DeploymentGuardProps) -> None:
        super().__init__(scope, id_)
        owner = TerraformSelf.get_string("input.deployment")
        owner_stack = TerraformSelf.get_string("input.stack")
        select = "export TF_WORKSPACE=<name> (or terraform workspace select -or-create <name>)"
        preconditions = []
        if props.named_workspace_required:
            preconditions.append(
                Precondition(
                    condition=Op.neq(props.workspace, DEFAULT_WORKSPACE),
                    error_message=(
                        f"The shared state keeps each deployment of {props.stack} in the workspace named after it, and the "
                        f"default workspace holds none: name the deployment first, {select}. Its ResourcePrefix is then the "
                        "workspace's name."
                    ),
                )
            )
        self.record = DataResource(
            self,
            "owner",
            input={"stack": props.stack, "deployment": props.deployment},
            lifecycle=TerraformResourceLifecycle(
                ignore_changes=["input"],
                precondition=preconditions or None,
                postcondition=[
                    Postcondition(
                        condition=Op.eq(owner_stack, props.stack),
                        error_message=(
                            f'This state holds stack "{owner_stack}", not {props.stack}: point {props.stack} at its own '
                            "state (its workspace, STATE_KEY or STATE_LOCAL_PATH)."
                        ),
                    ),
                    Postcondition(
                        condition=Op.eq(owner, props.deployment),
                        error_message=(
                            f'This state belongs to deployment "{owner}" of {props.stack}, not "{props.deployment}": '
                            "each deployment keeps its own state, in the workspace named after it. To plan "
                            f'"{props.deployment}", select its workspace: export TF_WORKSPACE={props.deployment} (or '
                            f"terraform workspace select -or-create {props.deployment}) and leave ResourcePrefix unset. "
                            f'To plan "{owner}", use its workspace and name.'
                        ),
                    ),
                ],
            ),
        )
