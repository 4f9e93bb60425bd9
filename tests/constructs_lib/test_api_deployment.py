"""Every change an API Gateway deployment snapshots reaches the live stage (constructs_lib/api.py):
the deployment's trigger digests every attribute of every snapshotted resource of the API, so a
change to any of them plans a new deployment, and a change elsewhere plans none.

The API construct alone, in front of a minimal function, applied on the emulator; then real
plans of one change each.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from cdktf import App, LocalBackend, TerraformStack
from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction

from constructs_lib.api import SNAPSHOTTED_TYPES, ProcessApi, ProcessApiProps
from constructs_lib.aws_provider import ProviderProps, aws_provider
from stacks.facts import REGION
from stacks.handler_contract import HandlerContract
from tools.terraform_runner import Terraform

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _api_stack(outdir: Path, endpoint: str, extra_resource: bool = False) -> dict:
    """The API construct's Terraform JSON, with a function to invoke and nothing else of the stack."""
    package = outdir / "function.zip"
    if not package.exists():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.js", "exports.handler = async () => ({ statusCode: 200, body: '{}' });\n")
        package.write_bytes(buffer.getvalue())
    app = App(outdir=str(outdir / "cdktf.out"))
    stack = TerraformStack(app, "api")
    LocalBackend(stack, path="terraform.tfstate")
    aws_provider(stack, "aws", ProviderProps(region=REGION, default_tags={"Environment": "Production"}, emulator_endpoint=endpoint))
    role = IamRole(stack, "role", name="api-test-role", assume_role_policy=json.dumps(TRUST))
    function = LambdaFunction(
        stack, "function", function_name="api-test", role=role.arn, runtime="nodejs22.x", handler="index.handler", filename=str(package)
    )
    api = ProcessApi(
        stack,
        "api",
        ProcessApiProps(
            name="api-test",
            key_name="api-test-key",
            usage_plan_name="api-test-plan",
            access_log_group_name="/aws/apigateway/api-test",
            function=function,
            id_rule=HandlerContract.load().id_rule,
            logging_account=role,
        ),
    )
    if extra_resource:
        ApiGatewayResource(api, "later-resource", rest_api_id=api.rest_api.id, parent_id=api.rest_api.root_resource_id, path_part="later")
    app.synth()
    return json.loads((outdir / "cdktf.out" / "stacks" / "api" / "cdk.tf.json").read_text())


@pytest.fixture(scope="module")
def applied(emulator, provider, tmp_path_factory):
    root = tmp_path_factory.mktemp("api-deployment")
    document = _api_stack(root, emulator.endpoint)
    workdir = root / "work"
    workdir.mkdir()
    (workdir / "cdk.tf.json").write_text(json.dumps(document))
    terraform = Terraform(workdir, emulator.client_env(), provider)
    terraform.init()
    terraform.apply({})
    return terraform, document


def _first(document: dict, resource_type: str) -> dict:
    (config,) = document["resource"][resource_type].values()
    return config


def _deployment_action(terraform: Terraform, document: dict) -> str:
    """The deployment's planned action with `document` as the configuration (then restored)."""
    path = terraform.workdir / "cdk.tf.json"
    original = path.read_text()
    path.write_text(json.dumps(document))
    try:
        # The state as applied: what the configuration changes, with no reads of the emulator.
        actions = terraform.planned_actions({}, refresh=False)
    finally:
        path.write_text(original)
    (deployment,) = [address for address in document["resource"]["aws_api_gateway_deployment"]]
    return actions.get(f"aws_api_gateway_deployment.{deployment}", "no-op")


def _edited(document: dict, resource_type: str, **changes) -> dict:
    edited = json.loads(json.dumps(document))
    _first(edited, resource_type).update(changes)
    return edited


SNAPSHOTTED_CHANGES = {
    "a method no longer needing an API key": ("aws_api_gateway_method", {"api_key_required": False}),
    "a method's authorization": ("aws_api_gateway_method", {"authorization": "AWS_IAM"}),
    "the 400 gateway response's template": (
        "aws_api_gateway_gateway_response",
        {"response_templates": {"application/json": '{"error":"InvalidBody"}'}},
    ),
    "an integration setting other than its URI": ("aws_api_gateway_integration", {"timeout_milliseconds": 5000}),
    "the request model's schema": ("aws_api_gateway_model", {"schema": json.dumps({"type": "object"})}),
    "the validator": ("aws_api_gateway_request_validator", {"validate_request_parameters": True}),
    "the resource's path": ("aws_api_gateway_resource", {"path_part": "process-v2"}),
    "the REST API's description": ("aws_api_gateway_rest_api", {"description": "changed"}),
}


@pytest.mark.parametrize("change", SNAPSHOTTED_CHANGES, ids=list(SNAPSHOTTED_CHANGES))
def test_a_change_the_deployment_snapshots_plans_a_new_deployment(applied, change):
    terraform, document = applied
    resource_type, attributes = SNAPSHOTTED_CHANGES[change]
    assert _deployment_action(terraform, _edited(document, resource_type, **attributes)) == "replace"


def test_a_change_no_deployment_serves_plans_none(applied):
    terraform, document = applied
    # (The applied configuration itself is no change either, or this could not hold.)
    unrelated = _edited(document, "aws_lambda_function", memory_size=512)
    _first(unrelated, "aws_api_gateway_rest_api")["tags"] = {"CostCentre": "42"}
    unrelated["provider"]["aws"][0]["default_tags"] = [{"tags": {"Environment": "Production", "Team": "data"}}]
    assert _deployment_action(terraform, unrelated) == "no-op"


def test_a_resource_added_to_the_api_is_in_the_trigger_without_being_listed(tmp_path):
    document = _api_stack(tmp_path, "http://127.0.0.1:1", extra_resource=True)
    trigger = _first(document, "aws_api_gateway_deployment")["triggers"]["redeployment"]
    snapshotted = [f"{kind}.{name}" for kind, named in document["resource"].items() if kind in SNAPSHOTTED_TYPES for name in named]
    assert len(snapshotted) == 8 and all(address in trigger for address in snapshotted), trigger
    assert "aws_api_gateway_stage." not in trigger and "aws_lambda_function." not in trigger
