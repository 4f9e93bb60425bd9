"""SPEC "Parameterization": each deployment has its own state, and a plan of one deployment against
another's state is refused before anything changes (constructs_lib/deployment_guard.py).

Real plans on the emulator. A state that deployment "team-a" owns is made by applying the guard's
record alone (-target): exactly what a first apply of team-a starts with (a named and an unnamed
synth record it alike). A named synth (RESOURCE_PREFIX, as the S3 backend requires) is refused by
ResourcePrefix's validation, in plans and destroys; the unnamed synth of experiments and tests by
the record's postcondition.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cdktf import TerraformStack, TerraformVariable, Testing

from constructs_lib.deployment_guard import DeploymentGuard, DeploymentGuardProps
from runners.terraform_runner import Terraform
from stacks.facts import STACK_NAME
from tests.conftest import VALID_INPUTS, run_main
from tests.support.configurations import only

OWNER = "team-a"
BELONGS = f'This state belongs to deployment "{OWNER}" of stack {STACK_NAME}, not to "team-b" of {STACK_NAME}'


def _workdir(stack_dir: Path, root: Path, emulator, provider, only_types: tuple[str, ...] = ()) -> Terraform:
    """A copy of a synth, initialised; with `only_types`, cut down to its resources of those types
    and what they refer to (the checks judged here live in the record and the variables)."""
    workdir = root / STACK_NAME
    shutil.copytree(stack_dir, workdir)
    if only_types:
        document = json.loads((workdir / "cdk.tf.json").read_text())
        kept = [f"{kind}.{name}" for kind in only_types for name in document["resource"][kind]]
        (workdir / "cdk.tf.json").write_text(json.dumps(only(document, kept)))
    runner = Terraform(workdir, emulator.client_env(), provider)
    runner.init()
    return runner


def _address(runner: Terraform, resource_type: str) -> str:
    (name,) = json.loads((runner.workdir / "cdk.tf.json").read_text())["resource"][resource_type]
    return f"{resource_type}.{name}"


def _state(runner: Terraform) -> dict:
    return json.loads((runner.workdir / "terraform.tfstate").read_text())


def _errors(result) -> str:
    return " ".join(" ".join(result.errors).split())


@pytest.fixture(scope="module")
def unnamed(synth, emulator, provider, tmp_path_factory):
    """The session's unnamed synth, on a state team-a owns."""
    runner = _workdir(synth.stack_dir, tmp_path_factory.mktemp("unnamed"), emulator, provider, only_types=("terraform_data",))
    runner.apply({**VALID_INPUTS, "ResourcePrefix": OWNER}, targets=[_address(runner, "terraform_data")])
    return runner


@pytest.fixture(scope="module")
def named_synth(tmp_path_factory):
    """The synth named team-b."""
    return run_main(tmp_path_factory.mktemp("named") / "cdktf.out", RESOURCE_PREFIX="team-b")


@pytest.fixture(scope="module")
def named(named_synth, emulator, provider, tmp_path_factory):
    """team-b's synth, whole, on its own (empty) state."""
    return _workdir(named_synth, tmp_path_factory.mktemp("named-whole"), emulator, provider)


@pytest.fixture(scope="module")
def named_guard(named_synth, emulator, provider, tmp_path_factory):
    """team-b's synth cut down to its record and its table (which names the deployment), on its own state."""
    return _workdir(
        named_synth, tmp_path_factory.mktemp("named-guard"), emulator, provider, only_types=("terraform_data", "aws_dynamodb_table")
    )


def test_the_state_records_the_deployment_and_stack_that_own_it(unnamed):
    (record,) = [r for r in _state(unnamed)["resources"] if r["type"] == "terraform_data"]
    assert record["instances"][0]["attributes"]["input"]["value"] == {"deployment": OWNER, "stack": STACK_NAME}


def test_an_unnamed_synth_refuses_a_plan_of_another_deployment_against_this_state(unnamed):
    before = _state(unnamed)
    # The record alone decides (its postcondition).
    result = unnamed.plan(
        {**VALID_INPUTS, "ResourcePrefix": "team-b"}, plan_file="other.plan", targets=[_address(unnamed, "terraform_data")]
    )
    assert result.returncode != 0 and result.plan is None
    assert BELONGS in _errors(result) and "RESOURCE_PREFIX=team-b npx cdktf deploy data-processing" in _errors(result)
    assert _state(unnamed) == before
    owner = unnamed.plan({**VALID_INPUTS, "ResourcePrefix": OWNER}, plan_file="owner.plan", targets=[_address(unnamed, "terraform_data")])
    assert owner.returncode == 0, owner.errors


def test_a_named_synth_plans_only_its_own_deployment(named_guard):
    """The synth for team-b refuses any other ResourcePrefix, even on an empty state, and plans its own."""
    named = named_guard
    table = _address(named, "aws_dynamodb_table")
    refused = named.plan({**VALID_INPUTS, "ResourcePrefix": OWNER}, plan_file="other.plan", targets=[table])
    assert refused.returncode != 0
    assert f'deployment "team-b" of stack {STACK_NAME}, not to "{OWNER}" of {STACK_NAME}' in _errors(refused)
    own = named.plan(VALID_INPUTS, plan_file="own.plan", targets=[table])
    assert own.returncode == 0, own.errors


def test_another_deployments_synth_can_neither_plan_nor_destroy_this_state(unnamed, named_guard):
    """team-b's synth pointed at team-a's state (a copied state file, a hand-set STATE_KEY)."""
    named = named_guard
    shutil.copy(unnamed.workdir / "terraform.tfstate", named.workdir / "terraform.tfstate")
    try:
        before = _state(named)
        plan = named.plan(VALID_INPUTS, plan_file="intrude.plan", targets=[_address(named, "aws_dynamodb_table")])
        assert plan.returncode != 0 and BELONGS in _errors(plan)
        destroy = named.run("plan", "-destroy", "-input=false", "-no-color", *named.var_args(VALID_INPUTS), check=False)
        assert destroy.returncode == 1 and BELONGS in " ".join(destroy.stderr.split()), destroy.stderr
        assert _state(named) == before
    finally:
        (named.workdir / "terraform.tfstate").unlink()


def test_a_second_deployment_plans_only_creates_named_after_it(named):
    """team-b's synth on its own (empty) state: the whole stack, created, nothing of team-a touched."""
    result = named.plan(VALID_INPUTS, plan_file="second.plan")
    assert result.returncode == 0, result.errors
    actions = {tuple(c["change"]["actions"]) for c in result.plan["resource_changes"] if c["mode"] == "managed"}
    assert actions == {("create",)}
    (table,) = [c for c in result.plan["resource_changes"] if c["type"] == "aws_dynamodb_table"]
    assert table["change"]["after"]["name"] == "team-b-items"


def test_a_state_another_stack_wrote_is_refused(unnamed):
    """A state of this project's other stack (state-bootstrap records itself the same way)."""
    state = _state(unnamed)
    for resource in state["resources"]:
        if resource["type"] == "terraform_data":
            for key in ("input", "output"):
                resource["instances"][0]["attributes"][key]["value"] = {"deployment": OWNER, "stack": "state-bootstrap"}
    foreign = Terraform(unnamed.workdir, unnamed.env, unnamed.provider)
    (unnamed.workdir / "foreign.tfstate").write_text(json.dumps(state))
    result = foreign.run(
        "plan",
        "-input=false",
        "-no-color",
        "-state=foreign.tfstate",
        f"-target={_address(unnamed, 'terraform_data')}",
        *foreign.var_args({**VALID_INPUTS, "ResourcePrefix": OWNER}),
        check=False,
    )
    assert result.returncode == 1
    assert f'deployment "{OWNER}" of stack state-bootstrap, not to "{OWNER}" of {STACK_NAME}' in " ".join(result.stderr.split()), (
        result.stderr
    )


def _guard_alone(deployment: str | None) -> dict:
    stack = TerraformStack(Testing.app(), "guarded")
    variable = TerraformVariable(stack, "ResourcePrefix", type="string")
    DeploymentGuard(stack, "deployment", DeploymentGuardProps(stack="guarded", variable=variable, deployment=deployment))
    return json.loads(Testing.synth(stack))


def test_a_named_deployment_is_checked_by_the_variable_and_an_unnamed_one_by_the_record():
    """A variable's validation is evaluated by destroy too; a postcondition is not."""
    named = _guard_alone("team-a")
    (record,) = named["resource"]["terraform_data"].values()
    assert record["input"] == {"stack": "guarded", "deployment": "team-a"} and "postcondition" not in record["lifecycle"]
    (check,) = named["variable"]["ResourcePrefix"]["validation"]
    assert "var.ResourcePrefix" in check["condition"] and "input.deployment" in check["condition"]
    unnamed = _guard_alone(None)
    (record,) = unnamed["resource"]["terraform_data"].values()
    assert record["input"]["deployment"] == "${var.ResourcePrefix}" and record["lifecycle"]["ignore_changes"] == ["input"]
    (check,) = record["lifecycle"]["postcondition"]
    assert "self.input.deployment" in check["condition"] and "validation" not in unnamed["variable"]["ResourcePrefix"]
