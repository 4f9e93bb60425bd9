"""SPEC "The four inputs": named TerraformVariables whose validations refuse bad values at plan."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from constructs_lib.naming import MAX_PREFIX_LENGTH
from runners.terraform_runner import Terraform
from tests.conftest import VALID_INPUTS
from tests.support.plans import planned_one

PREFIX_LENGTH = "ResourcePrefix must be 3 to 45 characters long"
PREFIX_CHARS = "ResourcePrefix may hold only lowercase letters, digits and single hyphens"
PREFIX_RESERVED = "ResourcePrefix must not start with xn--, sthree- or amzn-s3-demo-"
READ = "DynamoDbReadCapacity must be a whole number of at least 5"
WRITE = "DynamoDbWriteCapacity must be a whole number of at least 5"
EMAIL = "AlertEmail must be a plausible email address"

# (variable, bad value, the message its validation must give)
BAD_VALUES = [
    ("ResourcePrefix", "DataProc", PREFIX_CHARS),
    ("ResourcePrefix", "data_proc", PREFIX_CHARS),
    ("ResourcePrefix", "1data", PREFIX_CHARS),
    ("ResourcePrefix", "data-", PREFIX_CHARS),
    ("ResourcePrefix", "data--proc", PREFIX_CHARS),
    ("ResourcePrefix", "data.proc", PREFIX_CHARS),
    ("ResourcePrefix", "ab", PREFIX_LENGTH),
    ("ResourcePrefix", "a" * (MAX_PREFIX_LENGTH + 1), PREFIX_LENGTH),
    ("ResourcePrefix", "xn--data", PREFIX_RESERVED),
    ("DynamoDbReadCapacity", "4", READ),
    ("DynamoDbReadCapacity", "5.5", READ),
    ("DynamoDbReadCapacity", "0", READ),
    ("DynamoDbReadCapacity", "-10", READ),
    ("DynamoDbWriteCapacity", "4", WRITE),
    ("DynamoDbWriteCapacity", "5.5", WRITE),
    ("DynamoDbWriteCapacity", "-5", WRITE),
    ("AlertEmail", "ops.example.com", EMAIL),
    ("AlertEmail", "ops@example", EMAIL),
    ("AlertEmail", "ops@@example.com", EMAIL),
    ("AlertEmail", "ops @example.com", EMAIL),
    ("AlertEmail", "@example.com", EMAIL),
    ("AlertEmail", "ops@example.c", EMAIL),
    ("AlertEmail", "ops@-example.com", EMAIL),
    ("AlertEmail", "o" * 250 + "@example.com", EMAIL),
]


@pytest.fixture(scope="module")
def variables_only(synth, tmp_path_factory) -> Terraform:
    """The synthesized `variable` blocks alone, exactly as written, in a configuration of their own.

    Terraform evaluates variable validation before it plans any resource, so these plans refuse a
    bad value exactly as the stack's plan does (`test_the_whole_stack_refuses_a_bad_value_before_planning_anything`
    shows it once), in a fraction of a second each: no provider, no emulator.
    """
    workdir = tmp_path_factory.mktemp("variables-only")
    document = {
        "terraform": {"required_version": synth.json["terraform"]["required_version"]},
        "variable": synth.json["variable"],
    }
    (workdir / "variables.tf.json").write_text(json.dumps(document))
    runner = Terraform(workdir, {})
    runner.init()
    return runner


@pytest.fixture(scope="module")
def bad_value_plans(variables_only):
    def plan(case):
        variable, value, _ = case
        return variables_only.plan({**VALID_INPUTS, variable: value}, plan_file=f"bad-{BAD_VALUES.index(case)}.plan")

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(map(tuple, BAD_VALUES), pool.map(plan, BAD_VALUES), strict=True))


def test_stack_has_exactly_the_four_named_inputs(synth):
    variables = synth.json["variable"]
    assert {name: spec["type"] for name, spec in variables.items()} == {
        "ResourcePrefix": "string",
        "DynamoDbReadCapacity": "number",
        "DynamoDbWriteCapacity": "number",
        "AlertEmail": "string",
    }
    assert all(spec["validation"] for spec in variables.values())


@pytest.mark.parametrize("case", BAD_VALUES, ids=[f"{v}={val[:20]!r}" for v, val, _ in BAD_VALUES])
def test_plan_refuses_bad_input_with_its_message(bad_value_plans, case):
    result = bad_value_plans[case]
    assert result.returncode != 0
    variable, _, message = case
    assert any(message in error for error in result.errors), result.errors
    # Only the bad variable is refused: every other input was valid.
    assert all(variable in error or message in error for error in result.errors), result.errors


def test_the_variables_only_configuration_accepts_valid_input(variables_only):
    # Else every "refused" above could be a configuration that refuses everything.
    result = variables_only.plan(VALID_INPUTS, plan_file="valid-variables.plan")
    assert result.returncode == 0, result.errors


def test_the_whole_stack_refuses_a_bad_value_before_planning_anything(terraform):
    result = terraform.plan({**VALID_INPUTS, "DynamoDbReadCapacity": "4"}, plan_file="bad-whole-stack.plan")
    assert result.returncode != 0 and result.plan is None
    assert any(READ in error for error in result.errors), result.errors


def test_plan_accepts_boundary_values(terraform):
    result = terraform.plan(
        {
            "ResourcePrefix": "abc",
            "DynamoDbReadCapacity": 5,
            "DynamoDbWriteCapacity": 5,
            "AlertEmail": "first.last+alerts@sub.example.co",
        },
        plan_file="boundary.plan",
    )
    assert result.returncode == 0, result.errors
    table = planned_one(result.plan, "aws_dynamodb_table")
    assert (table["read_capacity"], table["write_capacity"]) == (5, 5)
