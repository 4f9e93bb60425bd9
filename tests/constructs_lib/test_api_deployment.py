"""Every change an API Gateway deployment snapshots reaches the live stage (constructs_lib/api.py):
the deployment's trigger digests every attribute of every resource of the stack that configures
the API, so a change to any of them plans a new deployment, and a change elsewhere plans none.

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
from cdktf import App, LocalBackend, TerraformStack, TerraformVariable
from cdktf_cdktf_provider_aws.api_gateway_method import ApiGatewayMethod
from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
from cdktf_cdktf_provider_aws.api_gateway_rest_api_policy import ApiGatewayRestApiPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.lambda_alias import LambdaAlias
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction

from constructs_lib.api import ProcessApi, ProcessApiProps
from constructs_lib.api_snapshot import snapshotted
from constructs_lib.aws_provider import ProviderProps, aws_provider
from runners.terraform_runner import Terraform
from stacks.facts import REGION
from stacks.handler_contract import HandlerContract

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
# A copy whose gateway response is removed: redeployed, though before the deletion (docs/security.md).
REMOVED = "removed"
COPIES = (*SNAPSHOTTED_CHANGES, UNRELATED, UNCHANGED, REMOVED)


def _package(outdir: Path) -> Path:
    package = outdir / "function.zip"
    if not package.exists():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.js", "exports.handler = async () => ({ statusCode: 200, body: '{}' });\n")
        package.write_bytes(buffer.getvalue())
    return package


def _api_stack(outdir: Path, copies: tuple[str, ...] = COPIES, added_beside: bool = False) -> dict:
    """The API construct's Terraform JSON, once per copy, each with a function to invoke; with
    `added_beside`, a route and a resource policy added to the first copy's API from the stack."""
    app = App(outdir=str(outdir / "cdktf.out"))
    stack = TerraformStack(app, "api")
    LocalBackend(stack, path="terraform.tfstate")
    aws_provider(stack, "aws", ProviderProps(region=REGION, default_tags={"Environment": "Production"}))
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
            publish=True,
        )
        alias = LambdaAlias(stack, f"alias-{copy}", name="live", function_name=function.function_name, function_version=function.version)
        api = ProcessApi(
            stack,
            copy,
            ProcessApiProps(
                name=f"api-{copy}",
                key_name=f"api-{copy}-key",
                usage_plan_name=f"api-{copy}-plan",
                access_log_group_name=f"/aws/apigateway/api-{copy}",
                function=alias,
                id_rule=HandlerContract.load().id_rule,
                logging_account=role,
            ),
        )
        if added_beside and copy == copies[0]:
            later = ApiGatewayResource(
                stack, "later-resource", rest_api_id=api.rest_api.id, parent_id=api.rest_api.root_resource_id, path_part="later"
            )
            ApiGatewayMethod(
                stack, "later-method", rest_api_id=api.rest_api.id, resource_id=later.id, http_method="GET", authorization="NONE"
            )
            ApiGatewayRestApiPolicy(stack, "later-policy", rest_api_id=api.rest_api.id, policy=json.dumps(TRUST))
            # Built for another API, pointed at this one by an escape hatch: the synthesized JSON is what counts.
            hatch = ApiGatewayMethod(
                stack,
                "hatch-method",
                rest_api_id=role.id,
                resource_id=api.rest_api.root_resource_id,
                http_method="PUT",
                authorization="NONE",
            )
            hatch.add_override("rest_api_id", api.rest_api.id)
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


# Once per worker, as it applies fixed names on the worker's session emulator (see weakened_review).
@pytest.fixture(scope="session")
def planned(emulator, provider, tmp_path_factory):
    """Every copy applied as built; then one plan with each copy's change made (and none in one)."""
    root = tmp_path_factory.mktemp("api-deployment")
    document = _api_stack(root)
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
    # As a synth without the gateway response writes it: gone, and out of its deployment's trigger.
    removed, _ = _of(edited, REMOVED, "aws_api_gateway_gateway_response")
    del edited["resource"]["aws_api_gateway_gateway_response"][removed.split(".")[1]]
    triggers = _of(edited, REMOVED, "aws_api_gateway_deployment")[1]["triggers"]
    triggers["redeployment"] = triggers["redeployment"].replace(f"{removed}, ", "")
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


def test_a_removed_part_of_the_api_plans_a_new_deployment_and_its_deletion(planned):
    document, actions = planned
    assert _deployment_action(planned, REMOVED) == "replace"
    assert actions[_of(document, REMOVED, "aws_api_gateway_gateway_response")[0]] == "delete"


def test_every_resource_configuring_the_api_is_in_the_trigger_wherever_it_is_declared(tmp_path):
    """Resources added beside the construct (from the stack) are found by the API they name, with
    none of another API's: the second copy's resources stay out of the first's trigger."""
    document = _api_stack(tmp_path, copies=("first", "second"), added_beside=True)
    resources = document["resource"]
    (first,) = [
        d for d in resources["aws_api_gateway_deployment"].values() if d["rest_api_id"].startswith("${aws_api_gateway_rest_api.first")
    ]
    trigger = first["triggers"]["redeployment"]
    api_id = first["rest_api_id"]
    configuring = [
        f"{kind}.{name}"
        for kind, named in resources.items()
        if snapshotted(kind)
        for name, config in named.items()
        if config.get("rest_api_id") == api_id
    ]
    beside = {"aws_api_gateway_method.later-method", "aws_api_gateway_rest_api_policy.later-policy", "aws_api_gateway_method.hatch-method"}
    assert beside <= set(configuring)
    assert len(configuring) == 10 and all(address in trigger for address in configuring), trigger
    assert "aws_api_gateway_rest_api.first" in trigger and "aws_api_gateway_rest_api.second" not in trigger
    assert "_second_" not in trigger and "aws_api_gateway_stage." not in trigger and "aws_lambda_function." not in trigger


def test_a_resource_naming_the_api_indirectly_stops_the_synth(tmp_path):
    """Through a variable it might be this API, out of the digest's sight: refused, not skipped."""
    app = App(outdir=str(tmp_path / "cdktf.out"))
    stack = TerraformStack(app, "api")
    api = ProcessApi(
        stack,
        "api",
        ProcessApiProps(
            name="api",
            key_name="api-key",
            usage_plan_name="api-plan",
            access_log_group_name="/aws/apigateway/api",
            function=LambdaAlias(stack, "alias", name="live", function_name="f", function_version="1"),
            id_rule=HandlerContract.load().id_rule,
            logging_account=None,
        ),
    )
    somewhere = TerraformVariable(stack, "api-id", type="string")
    ApiGatewayResource(stack, "elsewhere", rest_api_id=somewhere.string_value, parent_id=api.rest_api.root_resource_id, path_part="x")
    with pytest.raises(Exception, match="names its REST API as"):
        app.synth()
