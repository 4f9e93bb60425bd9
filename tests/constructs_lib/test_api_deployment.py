"""Every change an API Gateway deployment snapshots reaches the live stage (constructs_lib/api.py):
the deployment's trigger digests every attribute of every snapshotted resource of the API, so a
change to any of them plans a new deployment, and a change elsewhere plans none.

The API construct alone, applied on the emulator once per case, each copy in front of a function
of its own; then one real plan in which each copy carries exactly one change (so each copy's
deployment answers for its change alone), and one copy none.
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

# Copy of the API -> (resource type, attributes changed): each reaches the stage only through a new deployment.
SNAPSHOTTED_CHANGES = {
    "key": ("aws_api_gateway_method", {"api_key_required": False}),
    "authorization": ("aws_api_gateway_method", {"authorization": "AWS_IAM"}),
    "response": ("aws_api_gateway_gateway_response", {"response_templates": {"application/json": '{"error":"InvalidBody"}'}}),
    "integration": ("aws_api_gateway_integration", {"timeout_milliseconds": 5000}),
    "model": ("aws_api_gateway_model", {"schema": json.dumps({"type": "object"})}),
    "validator": ("aws_api_gateway_request_validator", {"validate_request_parameters": True}),
    "path": ("aws_api_gateway_resource", {"path_part": "process-v2"}),
    "description": ("aws_api_gateway_rest_api", {"description": "changed"}),
}
# Copies whose changes no deployment serves, or none at all.
UNRELATED = "unrelated"
UNCHANGED = "unchanged"
COPIES = (*SNAPSHOTTED_CHANGES, UNRELATED, UNCHANGED)


def _package(outdir: Path) -> Path:
    package = outdir / "function.zip"
    if not package.exists():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.js", "exports.handler = async () => ({ statusCode: 200, body: '{}' });\n")
        package.write_bytes(buffer.getvalue())
    return package


def _api_stack(outdir: Path, endpoint: str, copies: tuple[str, ...] = COPIES, extra_resource: bool = False) -> dict:
    """The API construct's Terraform JSON, once per copy, each with a function to invoke."""
    app = App(outdir=str(outdir / "cdktf.out"))
    stack = TerraformStack(app, "api")
    LocalBackend(stack, path="terraform.tfstate")
    aws_provider(stack, "aws", ProviderProps(region=REGION, default_tags={"Environment": "Production"}, emulator_endpoint=endpoint))
    role = IamRole(stack, "role", name="api-test-role", assume_role_policy=json.dumps(TRUST))
    for copy in copies:
        function = LambdaFunction(
            stack,
            f"function-{copy}",
            function_name=f"api-{copy}",
            role=role.arn,
            runtime="nodejs22.x",
            handler="index.handler",
            filename=str(_package(outdir)),
        )
        api = ProcessApi(
            stack,
            copy,
            ProcessApiProps(
                name=f"api-{copy}",
                key_name=f"api-{copy}-key",
                usage_plan_name=f"api-{copy}-plan",
                access_log_group_name=f"/aws/apigateway/api-{copy}",
                function=function,
                id_rule=HandlerContract.load().id_rule,
                logging_account=role,
            ),
        )
        if extra_resource:
            ApiGatewayResource(
                api, "later-resource", rest_api_id=api.rest_api.id, parent_id=api.rest_api.root_resource_id, path_part="later"
            )
    app.synth()
    return json.loads((outdir / "cdktf.out" / "stacks" / "api" / "cdk.tf.json").read_text())


def _of(document: dict, copy: str, resource_type: str) -> tuple[str, dict]:
    """The one resource of a type in a copy of the API (or its function): its address and config."""
    (found,) = [
        (f"{resource_type}.{name}", config)
        for name, config in document["resource"].get(resource_type, {}).items()
        if config["//"]["metadata"]["path"].split("/")[1] in (copy, f"function-{copy}")
    ]
    return found


@pytest.fixture(scope="module")
def planned(emulator, provider, tmp_path_factory):
    """Every copy applied as built; then one plan with each copy's change made (and none in one)."""
    root = tmp_path_factory.mktemp("api-deployment")
    document = _api_stack(root, emulator.endpoint)
    workdir = root / "work"
    workdir.mkdir()
    (workdir / "cdk.tf.json").write_text(json.dumps(document))
    terraform = Terraform(workdir, emulator.client_env(), provider)
    terraform.init()
    terraform.apply({})
    edited = json.loads(json.dumps(document))
    for copy, (resource_type, attributes) in SNAPSHOTTED_CHANGES.items():
        _of(edited, copy, resource_type)[1].update(attributes)
    _of(edited, UNRELATED, "aws_api_gateway_rest_api")[1]["tags"] = {"CostCentre": "42"}
    _of(edited, UNRELATED, "aws_lambda_function")[1]["memory_size"] = 512
    (workdir / "cdk.tf.json").write_text(json.dumps(edited))
    # The state as applied: what the configuration changes, with no reads of the emulator.
    return document, terraform.planned_actions({}, refresh=False)


def _deployment_action(planned, copy: str) -> str:
    document, actions = planned
    address, _ = _of(document, copy, "aws_api_gateway_deployment")
    return actions.get(address, "no-op")


@pytest.mark.parametrize("copy", SNAPSHOTTED_CHANGES, ids=[f"{c}: {t}" for c, (t, _) in SNAPSHOTTED_CHANGES.items()])
def test_a_change_the_deployment_snapshots_plans_a_new_deployment(planned, copy):
    assert _deployment_action(planned, copy) == "replace"


def test_a_change_no_deployment_serves_plans_none(planned):
    document, actions = planned
    assert actions[_of(document, UNRELATED, "aws_api_gateway_rest_api")[0]] == "update"  # the tag is planned
    assert _deployment_action(planned, UNRELATED) == "no-op"
    assert _deployment_action(planned, UNCHANGED) == "no-op"  # and the applied configuration is stable


def test_a_resource_added_to_the_api_is_in_the_trigger_without_being_listed(tmp_path):
    document = _api_stack(tmp_path, "http://127.0.0.1:1", copies=("added",), extra_resource=True)
    (deployment,) = document["resource"]["aws_api_gateway_deployment"].values()
    trigger = deployment["triggers"]["redeployment"]
    snapshotted = [f"{kind}.{name}" for kind, named in document["resource"].items() if kind in SNAPSHOTTED_TYPES for name in named]
    assert len(snapshotted) == 8 and all(address in trigger for address in snapshotted), trigger
    assert "aws_api_gateway_stage." not in trigger and "aws_lambda_function." not in trigger
