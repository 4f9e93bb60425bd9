"""SPEC "Parameterization": each deployment has its own state, and a plan of one deployment against
another's state is refused before anything changes (constructs_lib/deployment_guard.py).

Real plans on the emulator against a state that deployment "team-a" owns: the guard's record is
applied alone (-target), so the state is exactly what a first apply of team-a starts with.
"""

from __future__ import annotations

import json
import shutil

import pytest
from cdktf import TerraformStack, Testing

from constructs_lib.deployment_guard import DeploymentGuard, DeploymentGuardProps
from stacks.facts import STACK_NAME
from tests.conftest import VALID_INPUTS
from tools.terraform_runner import Terraform

OWNER = "team-a"


@pytest.fixture(scope="module")
def owned(synth, emulator, provider, tmp_path_factory):
    """A copy of the synthesized stack whose (local, default-workspace) state deployment team-a owns."""
    workdir = tmp_path_factory.mktemp("guard") / STACK_NAME
    shutil.copytree(synth.stack_dir, workdir)
    runner = Terraform(workdir, emulator.client_env(), provider)
    runner.init()
    (record,) = synth.resources("terraform_data")
    runner.apply({**VALID_INPUTS, "ResourcePrefix": OWNER}, targets=[f"terraform_data.{record}"])
    return runner


def _in_workspace(runner: Terraform, workspace: str) -> Terraform:
    return Terraform(runner.workdir, {**runner.env, "TF_WORKSPACE": workspace}, runner.provider)


def _state(runner: Terraform, workspace: str = "default") -> dict:
    path = runner.workdir / ("terraform.tfstate" if workspace == "default" else f"terraform.tfstate.d/{workspace}/terraform.tfstate")
    return json.loads(path.read_text())


def _record(runner: Terraform) -> str:
    (record,) = [f"{r['type']}.{r['name']}" for r in _state(runner)["resources"] if r["type"] == "terraform_data"]
    return record


def test_the_state_records_the_deployment_and_stack_that_own_it(owned):
    (record,) = [r for r in _state(owned)["resources"] if r["type"] == "terraform_data"]
    assert record["instances"][0]["attributes"]["input"]["value"] == {"deployment": OWNER, "stack": STACK_NAME}


def test_a_plan_of_another_deployment_against_this_state_is_refused_and_names_its_owner(owned):
    before = _state(owned)
    # The whole plan, as a user runs it: the other tests here target the record, which alone decides.
    result = owned.plan({**VALID_INPUTS, "ResourcePrefix": "team-b"}, plan_file="other.plan")
    assert result.returncode != 0 and result.plan is None
    (error,) = [e for e in result.errors if "belongs to" in e]
    assert f'This state belongs to deployment "{OWNER}" of {STACK_NAME}, not "team-b"' in error
    assert "export TF_WORKSPACE=team-b" in error
    assert _state(owned) == before


def test_the_owning_deployment_plans_against_its_state(owned):
    result = owned.plan({**VALID_INPUTS, "ResourcePrefix": OWNER}, plan_file="owner.plan", targets=[_record(owned)])
    assert result.returncode == 0, result.errors
    (record,) = [c for c in result.plan["resource_changes"] if c["type"] == "terraform_data"]
    assert record["change"]["actions"] == ["no-op"]


def test_a_second_deployment_in_its_own_workspace_plans_only_creates_named_after_it(owned):
    second = _in_workspace(owned, "team-b")
    result = second.plan(VALID_INPUTS, plan_file="second.plan")
    assert result.returncode == 0, result.errors
    actions = {tuple(c["change"]["actions"]) for c in result.plan["resource_changes"] if c["mode"] == "managed"}
    assert actions == {("create",)}
    (table,) = [c for c in result.plan["resource_changes"] if c["type"] == "aws_dynamodb_table"]
    assert table["change"]["after"]["name"] == "team-b-items"
    assert _state(owned)["resources"]  # the first deployment's state is untouched


def test_a_state_another_stack_wrote_is_refused(owned):
    """A state of this project's other stack (or one copied by hand) under this stack's workspace."""
    state = _state(owned)
    for resource in state["resources"]:
        if resource["type"] == "terraform_data":
            for key in ("input", "output"):
                resource["instances"][0]["attributes"][key]["value"] = {"deployment": "foreign", "stack": "state-bootstrap"}
    target = owned.workdir / "terraform.tfstate.d" / "foreign" / "terraform.tfstate"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(state))
    result = _in_workspace(owned, "foreign").plan(VALID_INPUTS, plan_file="foreign.plan", targets=[_record(owned)])
    assert result.returncode != 0
    assert any('This state holds stack "state-bootstrap", not data-processing' in e for e in result.errors), result.errors


def _guard(named_workspace_required: bool) -> dict:
    stack = TerraformStack(Testing.app(), "guarded")
    props = DeploymentGuardProps(
        stack="guarded", deployment="team-a", workspace="${terraform.workspace}", named_workspace_required=named_workspace_required
    )
    DeploymentGuard(stack, "deployment", props)
    (record,) = json.loads(Testing.synth(stack))["resource"]["terraform_data"].values()
    return record


def test_shared_state_refuses_the_default_workspace_and_the_stack_asks_for_it_with_s3_only(synth):
    """With the S3 backend every deployment is planned in its own workspace (the e2e test plans it);
    the local backend (experiments, tests) keeps one deployment in the default workspace."""
    (precondition,) = _guard(named_workspace_required=True)["lifecycle"]["precondition"]
    assert '!= "default")}' in precondition["condition"]
    assert "export TF_WORKSPACE=<name>" in precondition["error_message"]
    assert "precondition" not in _guard(named_workspace_required=False)["lifecycle"]
    # The stack: S3 asks for it (stacks/data_processing_stack.py), the session's local synth does not.
    (local_record,) = synth.resources("terraform_data").values()
    assert "precondition" not in local_record["lifecycle"] and local_record["lifecycle"]["ignore_changes"] == ["input"]
