"""SPEC 3 (DynamoDB): key `id` (S), PROVISIONED from the two variables, AWS-managed key."""

from __future__ import annotations

import json

from cdktf import Testing

from runners.terraform_runner import Terraform
from tests.conftest import VALID_INPUTS
from tests.support.configurations import only
from tests.support.plans import planned_one


def test_table_is_provisioned_from_the_capacity_variables_with_string_id_key(synth):
    assert Testing.to_have_resource_with_properties(
        synth.text,
        "aws_dynamodb_table",
        {
            "billing_mode": "PROVISIONED",
            "hash_key": "id",
            "attribute": [{"name": "id", "type": "S"}],
            "read_capacity": "${var.DynamoDbReadCapacity}",
            "write_capacity": "${var.DynamoDbWriteCapacity}",
        },
    )


def test_table_is_encrypted_with_the_aws_managed_key(synth):
    # enabled without kms_key_arn = the AWS-managed aws/dynamodb key (not the AWS-owned default).
    assert synth.at("items/table")["server_side_encryption"] == {"enabled": True}


def test_planned_capacities_follow_the_inputs(synth, emulator, provider, tmp_path):
    # The table alone, with what it refers to (tests/support/configurations.py): a plan validates nothing else.
    (tmp_path / "cdk.tf.json").write_text(json.dumps(only(synth.json, [synth.address_at("items/table")])))
    terraform = Terraform(tmp_path, emulator.client_env(), provider)
    terraform.init()
    result = terraform.plan({**VALID_INPUTS, "DynamoDbReadCapacity": 7, "DynamoDbWriteCapacity": 9}, plan_file="capacity.plan")
    assert result.returncode == 0, result.errors
    table = planned_one(result.plan, "aws_dynamodb_table")
    assert (table["read_capacity"], table["write_capacity"]) == (7, 9)
    assert table["server_side_encryption"][0]["enabled"] is True


def test_table_is_protected_against_accidental_destroy(synth):
    table = synth.at("items/table")
    assert table["deletion_protection_enabled"] is True
    assert table["point_in_time_recovery"] == {"enabled": True}
