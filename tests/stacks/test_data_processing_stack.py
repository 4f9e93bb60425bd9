"""The whole stack: valid Terraform, a clean plan on the emulator, region, tags, names, outputs."""

from __future__ import annotations

import json

import pytest

from constructs_lib.naming import MAX_PREFIX_LENGTH, Name
from tests.support.plans import planned

# The attributes that carry a resource's name, by resource type.
NAME_ATTRIBUTES = {
    "aws_s3_bucket": "bucket",
    "aws_dynamodb_table": "name",
    "aws_lambda_function": "function_name",
    "aws_iam_role": "name",
    "aws_iam_policy": "name",
    "aws_api_gateway_rest_api": "name",
    "aws_api_gateway_api_key": "name",
    "aws_api_gateway_usage_plan": "name",
    "aws_cloudfront_origin_access_control": "name",
    "aws_sns_topic": "name",
    "aws_kms_alias": "name",
    "aws_cloudwatch_log_group": "name",
    "aws_cloudwatch_log_metric_filter": "name",
    "aws_cloudwatch_metric_alarm": "alarm_name",
}
# Service limits on those names.
NAME_LIMITS = {
    "aws_s3_bucket": 63,
    "aws_lambda_function": 64,
    "aws_iam_role": 64,
    "aws_iam_policy": 128,
    "aws_cloudfront_origin_access_control": 64,
    "aws_dynamodb_table": 255,
    "aws_sns_topic": 256,
    "aws_kms_alias": 256,
    "aws_cloudwatch_log_group": 512,
    "aws_cloudwatch_metric_alarm": 255,
}


def test_synthesized_terraform_is_valid(terraform):
    result = terraform.validate()
    assert result["valid"] is True, result["diagnostics"]
    assert result["error_count"] == 0


def test_plan_succeeds_on_the_emulator_with_valid_inputs(valid_plan):
    actions = {tuple(change["change"]["actions"]) for change in valid_plan["resource_changes"]}
    assert actions == {("create",), ("read",)} or actions == {("create",)}
    assert len(planned(valid_plan, "aws_lambda_function")) == 1


def test_provider_is_us_east_1_with_environment_production_default_tag(synth):
    (provider,) = synth.json["provider"]["aws"]
    assert provider["region"] == "us-east-1"
    assert provider["default_tags"] == [{"tags": {"Environment": "Production"}}]


def test_every_taggable_planned_resource_carries_environment_production(terraform, valid_plan):
    schema = terraform.provider_schema()["provider_schemas"]["registry.terraform.io/hashicorp/aws"]["resource_schemas"]
    taggable = {name for name, s in schema.items() if "tags_all" in s["block"].get("attributes", {})}
    managed = [c for c in valid_plan["resource_changes"] if c["mode"] == "managed"]
    tagged = [c for c in managed if c["type"] in taggable]
    assert len(tagged) >= 15  # the table, bucket, function, roles, API, distribution, topic, key, alarms...
    for change in tagged:
        assert change["change"]["after"]["tags_all"].get("Environment") == "Production", change["address"]


def test_every_resource_name_comes_from_the_prefix(longest_prefix_plan):
    # The session's plan with a non-default prefix (the longest the validation accepts) serves.
    prefix = "p" * MAX_PREFIX_LENGTH
    for resource_type, attribute in NAME_ATTRIBUTES.items():
        # Unknown until apply: only names AWS dictates (API Gateway's execution log group, named after the API's id).
        names = [after[attribute] for after in planned(longest_prefix_plan, resource_type) if attribute in after]
        unknown = [after for after in planned(longest_prefix_plan, resource_type) if attribute not in after]
        assert len(unknown) == (1 if resource_type == "aws_cloudwatch_log_group" else 0), (resource_type, unknown)
        assert names, resource_type
        for name in names:
            assert prefix in name and "dataproc" not in name, (resource_type, name)


def test_longest_valid_prefix_keeps_every_name_within_its_service_limit(longest_prefix_plan):
    assert max(len(b["bucket"]) for b in planned(longest_prefix_plan, "aws_s3_bucket")) == Name.DATA_BUCKET.value.limit
    for resource_type, limit in NAME_LIMITS.items():
        for after in planned(longest_prefix_plan, resource_type):
            name = after.get(NAME_ATTRIBUTES[resource_type], "")  # unknown: AWS-dictated (see above)
            assert len(name) <= limit, (resource_type, name)


@pytest.mark.parametrize(
    "output",
    [
        "api_invoke_url",
        "api_key_id",
        "cloudfront_domain",
        "data_bucket_name",
        "log_bucket_name",
        "table_name",
        "function_name",
        "alert_topic_arn",
    ],
)
def test_stack_outputs_what_operators_need(synth, output):
    assert synth.json["output"][output]["description"]
    assert not synth.json["output"][output].get("sensitive")


def test_api_key_value_output_is_sensitive(synth):
    assert synth.json["output"]["api_key_value"]["sensitive"] is True


def test_a_deployment_can_leave_the_region_wide_logging_setting_to_another(tmp_path):
    """MANAGE_API_ACCOUNT=false (docs/delivery.md, several deployments in a region): no account
    setting, no logging role, and the stage as it is otherwise."""
    from tests.conftest import run_main

    document = json.loads((run_main(tmp_path / "cdktf.out", MANAGE_API_ACCOUNT="false") / "cdk.tf.json").read_text())
    resources = document["resource"]
    assert "aws_api_gateway_account" not in resources
    assert not [r for r in resources["aws_iam_role"].values() if "apigateway.amazonaws.com" in json.dumps(r)]
    (stage,) = resources["aws_api_gateway_stage"].values()
    assert stage["stage_name"] == "v1" and stage["xray_tracing_enabled"] is True
