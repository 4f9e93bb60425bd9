"""SPEC 2 (API Gateway): regional REST API, POST /process with an API key, proxy to Lambda,
usage plan of 1000 requests per day, structured access logs, the account CloudWatch role."""

from __future__ import annotations

import json

import pytest
from cdktf import Testing

from local_cloud.gateway import render
from stacks.settings import SettingsError, StackSettings
from tests.conftest import run_main
from tests.support.plans import planned_one


def test_api_is_a_regional_rest_api(synth):
    assert synth.at("api/rest-api")["endpoint_configuration"] == {"types": ["REGIONAL"]}


def test_post_process_requires_an_api_key(synth):
    assert synth.at("api/resource")["path_part"] == "process"
    assert Testing.to_have_resource_with_properties(synth.text, "aws_api_gateway_method", {"http_method": "POST", "api_key_required": True})


def test_post_process_invokes_the_lambda_through_proxy_integration(synth):
    alias = synth.name_at("processor/live-alias")
    integration = synth.at("api/integration")
    assert integration["type"] == "AWS_PROXY"
    assert integration["integration_http_method"] == "POST"
    # The live alias, never $LATEST: what serves is a published version.
    assert integration["uri"] == f"${{aws_lambda_alias.{alias}.invoke_arn}}"
    api = synth.name_at("api/rest-api")
    method = synth.name_at("api/method")
    resource = synth.name_at("api/resource")
    permission = synth.at("api/invoke-permission")
    assert permission["principal"] == "apigateway.amazonaws.com"
    # The permission is the alias's alone: the API cannot invoke $LATEST or another version.
    assert (permission["function_name"], permission["qualifier"]) == (
        f"${{aws_lambda_alias.{alias}.function_name}}",
        f"${{aws_lambda_alias.{alias}.name}}",
    )
    # Only this API's stage and route may invoke the function.
    assert permission["source_arn"] == (
        f"${{aws_api_gateway_rest_api.{api}.execution_arn}}/v1/"
        f"${{aws_api_gateway_method.{method}.http_method}}${{aws_api_gateway_resource.{resource}.path}}"
    )


def test_usage_plan_allows_1000_requests_per_day_with_throttling_for_the_key(valid_plan, synth):
    plan = planned_one(valid_plan, "aws_api_gateway_usage_plan")
    assert plan["quota_settings"] == [{"limit": 1000, "offset": 0, "period": "DAY"}]
    (throttle,) = plan["throttle_settings"]
    assert throttle["rate_limit"] > 0 and throttle["burst_limit"] > 0
    usage_plan = synth.name_at("api/usage-plan")
    key = synth.name_at("api/api-key")
    plan_key = synth.at("api/usage-plan-key")
    assert plan_key["key_id"] == f"${{aws_api_gateway_api_key.{key}.id}}"
    assert plan_key["key_type"] == "API_KEY"
    assert plan_key["usage_plan_id"] == f"${{aws_api_gateway_usage_plan.{usage_plan}.id}}"


def test_stage_writes_structured_json_access_logs_to_its_own_log_group(synth):
    stage = synth.at("api/stage")
    group = synth.referenced(stage["access_log_settings"]["destination_arn"])
    assert group["name"].startswith("/aws/apigateway/")
    log_format = json.loads(stage["access_log_settings"]["format"])
    assert {"requestId", "status", "sourceIp", "httpMethod", "resourcePath"} <= set(log_format)


def test_stage_and_method_settings_wait_for_the_account_cloudwatch_role(synth):
    account = synth.name_at("api-logging/account")
    (role_address,) = [a for a, r in synth.resources("aws_iam_role").items() if r["name"].endswith("-apigw-cloudwatch")]
    assert synth.at("api-logging/account")["cloudwatch_role_arn"] == f"${{aws_iam_role.{role_address}.arn}}"
    for path in ("api/stage", "api/method-settings"):
        assert f"aws_api_gateway_account.{account}" in synth.at(path)["depends_on"], path


def test_stage_throttles_every_method(synth):
    settings = synth.at("api/method-settings")
    assert settings["method_path"] == "*/*"
    assert settings["settings"]["throttling_rate_limit"] > 0
    assert settings["settings"]["throttling_burst_limit"] > 0


def test_destroy_resets_the_region_wide_logging_role_instead_of_leaving_a_deleted_one(synth):
    # Deprecated in hashicorp/aws 5.x only because 6.0 makes it the behaviour.
    assert synth.at("api-logging/account")["reset_on_delete"] is True


def test_execution_logs_go_to_a_group_terraform_owns_with_retention_and_the_key(synth):
    api = synth.name_at("api/rest-api")
    ((address, group),) = [
        (a, g) for a, g in synth.resources("aws_cloudwatch_log_group").items() if g["name"].startswith("API-Gateway-Execution-Logs_")
    ]
    key = synth.name_at("key/key")
    assert group == {
        **group,
        "name": f"API-Gateway-Execution-Logs_${{aws_api_gateway_rest_api.{api}.id}}/v1",
        "retention_in_days": 30,
        "kms_key_id": f"${{aws_kms_key.{key}.arn}}",
    }
    # Before API Gateway could create it itself on the first logged error.
    assert f"aws_cloudwatch_log_group.{address}" in synth.at("api/method-settings")["depends_on"]


def test_stage_has_no_client_certificate_a_lambda_proxy_would_ignore(synth):
    # A client certificate authenticates API Gateway to HTTP backends only.
    assert "client_certificate_id" not in synth.at("api/stage")
    assert not synth.resources("aws_api_gateway_client_certificate")


def test_the_request_model_validates_the_handlers_own_id_rule(synth):
    # One home for the id rule: the handler reads handler/src/contract.json, and so does the model.
    from stacks.handler_contract import HandlerContract

    rule = HandlerContract.load().id_rule
    schema = json.loads(synth.at("api/request-model")["schema"])
    assert schema["properties"]["id"] == {
        "type": "string",
        "minLength": rule["minLength"],
        "maxLength": rule["maxLength"],
        "pattern": rule["pattern"],
    }
    assert schema["required"] == ["id"] and schema["additionalProperties"] is False


def test_a_smaller_quota_is_a_setting_for_tests_and_the_default_stays_the_specifications(synth, tmp_path):
    local = {"STATE_BACKEND": "local"}
    assert StackSettings.load(lambda key: None, environ=local).api_requests_per_day is None
    assert StackSettings.load(lambda key: None, environ={**local, "API_REQUESTS_PER_DAY": "12"}).api_requests_per_day == 12
    for bad in ("0", "-1", "many", "1.5"):
        with pytest.raises(SettingsError, match="API_REQUESTS_PER_DAY must be a whole number of at least 1"):
            StackSettings.load(lambda key: None, environ={**local, "API_REQUESTS_PER_DAY": bad})
    assert synth.at("api/usage-plan")["quota_settings"] == {"limit": 1000, "period": "DAY"}
    stack_dir = run_main(tmp_path, API_REQUESTS_PER_DAY="12")
    plans = json.loads((stack_dir / "cdk.tf.json").read_text())["resource"]["aws_api_gateway_usage_plan"]
    assert [p["quota_settings"] for p in plans.values()] == [{"limit": 12, "period": "DAY"}]


def test_a_refused_body_answers_valid_json_in_the_handlers_error_shape(synth):
    """validationErrorString is inserted unquoted, its inner quotes escaped (docs/emulator.md)."""
    response = synth.at("api/bad-body-response")
    assert (response["response_type"], response["status_code"]) == ("BAD_REQUEST_BODY", "400")
    template = response["response_templates"]["application/json"]
    rendered = render(
        template,
        {"$context.error.validationErrorString": '[object has missing required properties ([\\"id\\"])]', "$context.requestId": "r-1"},
    )
    assert json.loads(rendered) == {
        "error": "InvalidBody",
        "message": '[object has missing required properties (["id"])]',
        "requestId": "r-1",
    }
