"""End to end on the emulator, by the README's commands: `npx cdktf deploy state-bootstrap` creates
the state bucket, `npx cdktf deploy data-processing` deploys with non-default inputs onto the S3
backend, under the deployment's own state key, while a second engineer's plan and apply
are refused by the state lock. Then every required property is read back through the AWS API, the
local API (local_cloud/api.py) is called over HTTP as a client calls the deployed one, a stale
lock is recovered, a broken state is restored from its previous version, the re-plan is clean,
and `npx cdktf destroy` leaves nothing behind.

The tests run in file order on one deployment; the last one destroys it.
"""

from __future__ import annotations

import json
import shlex
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pytest

from constructs_lib.function import LIVE_ALIAS
from local_cloud.api import LocalApi
from local_cloud.deployment import LocalDeployment
from local_cloud.emulator import MotoServer
from runners.terraform_runner import Terraform
from stacks.facts import PROJECT_ROOT
from stacks.handler_contract import HandlerContract
from tests.support.policy_simulator import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, Request, assert_decisions, decide, foreign

INPUTS = {
    "ResourcePrefix": "e2e-check",
    "DynamoDbReadCapacity": 7,
    "DynamoDbWriteCapacity": 6,
    "AlertEmail": "alerts@example.org",
}
# A small usage-plan quota, so the quota can be spent (the default, 1000, is proven on the plan:
# tests/constructs_lib/test_api.py).
QUOTA = 12
PREFIX = INPUTS["ResourcePrefix"]
# The deployment is named by the synth (RESOURCE_PREFIX): ResourcePrefix is left unset and defaults to it.
DEPLOY_INPUTS = {name: value for name, value in INPUTS.items() if name != "ResourcePrefix"}
STATE_BUCKET = "tfstate-e2e-123456789012"
TAG = {"Key": "Environment", "Value": "Production"}
LOCK_REFUSED = "Error acquiring the state lock"
# aws CLI options that shape its output, not the request.
CLI_ONLY = {"--query", "--output"}

# What re-planning a fresh deployment may still change, because moto does not read some settings
# back as AWS does (see docs/emulator.md, "Emulator differences"): resource type -> attributes that may
# differ. The bucket policy's document names the distribution, so it is re-read after it.
EMULATOR_ARTIFACTS = {
    "aws_cloudfront_distribution": {"origin", "default_cache_behavior", "viewer_certificate"},
    "aws_s3_bucket_policy": {"policy"},
}
# Within those distribution blocks, the (block, attribute) pairs moto does not round-trip: it
# drops the origin's OAC id, reports a legacy forwarded_values block beside the cache policy,
# and an SSL support method for the default certificate.
DISTRIBUTION_ARTIFACTS = {
    ("origin", "origin_access_control_id"),
    ("default_cache_behavior", "forwarded_values"),
    ("viewer_certificate", "ssl_support_method"),
}


def _wait_until(condition, what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


def _text(path) -> str:
    return path.read_text() if path.exists() else ""


def _exists(s3, key: str) -> bool:
    return bool(s3.list_objects_v2(Bucket=STATE_BUCKET, Prefix=key).get("KeyCount"))


@dataclass
class Deployment:
    stack: LocalDeployment
    outputs: dict[str, Any]
    # What a second engineer's terraform said while the deploy held the state lock: command -> (exit code, output).
    concurrent: dict[str, tuple[int, str]]
    # Commands for another deployment, refused before anything changes (_refusals): case -> (exit code, output).
    refusals: dict[str, tuple[int, str]]


def _refusals(engineer: Terraform) -> dict[str, tuple[int, str]]:
    """A plan of this synth for another deployment. It targets the table (which names the deployment,
    so Terraform judges ResourcePrefix) to stay short, and takes no lock: it runs while the deploy
    holds it. (A destroy is refused the same way: tests/constructs_lib/test_deployment_guard.py.)"""
    (table,) = json.loads((engineer.workdir / "cdk.tf.json").read_text())["resource"]["aws_dynamodb_table"]
    other = [*engineer.var_args({**DEPLOY_INPUTS, "ResourcePrefix": "someone-else"}), f"-target=aws_dynamodb_table.{table}"]
    results = {"a plan for another deployment": engineer.run("plan", "-input=false", "-no-color", "-lock=false", *other, check=False)}
    return {case: (result.returncode, " ".join((result.stdout + result.stderr).split())) for case, result in results.items()}


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    with MotoServer(log_path=root / "moto.log") as emulator:
        stack = LocalDeployment(
            root=root,
            endpoint=emulator.endpoint,
            variables=dict(DEPLOY_INPUTS),
            settings={"API_REQUESTS_PER_DAY": str(QUOTA)},
            state_bucket=STATE_BUCKET,
            deployment=PREFIX,
        )
        s3 = stack.boto3("s3")
        with ThreadPoolExecutor(2) as pool:
            # The bootstrap then waits about a minute on its lifecycle rule, which the deploy does not need.
            bootstrap = pool.submit(stack.bootstrap_state, root / "bootstrap.log")
            _wait_until(lambda: bootstrap.done() or STATE_BUCKET in {b["Name"] for b in s3.list_buckets()["Buckets"]}, "the state bucket")
            if bootstrap.done():
                bootstrap.result()
            deploy_log = root / "deploy.log"
            deploying = pool.submit(stack.deploy, deploy_log)
            # Once the deploy holds the lock and has planned (its apply then mostly waits on AWS for
            # about a minute): a second engineer with the same synth, and its refusals of another
            # deployment.
            _wait_until(lambda: deploying.done() or "Creating..." in _text(deploy_log), "the deploy's apply")
            assert _exists(s3, stack.state_key + ".tflock"), "the deploy is applying without the state lock"
            second = Terraform(root / "second-engineer", stack.client_env())
            shutil.copytree(stack.terraform.workdir, second.workdir, ignore=shutil.ignore_patterns(".terraform*"))
            second.init()
            concurrent = {}
            for command in ("plan", "apply -auto-approve"):
                result = second.run(*command.split(), "-input=false", "-no-color", *second.var_args(DEPLOY_INPUTS), check=False)
                concurrent[command] = (result.returncode, result.stdout + result.stderr)
            assert not deploying.done(), "the deploy ended before the second engineer tried: the lock was not held throughout"
            refusals = _refusals(second)
            outputs = deploying.result()
            bootstrap.result()
        try:
            yield Deployment(stack, outputs, concurrent, refusals)
        finally:
            if stack.terraform.state_resources():
                stack.destroy(root / "destroy.log")


@pytest.fixture(scope="module")
def deployment(chain):
    return chain.stack, chain.outputs


@pytest.fixture(scope="module")
def aws(deployment):
    stack, _ = deployment
    return stack.boto3


@pytest.fixture(scope="module")
def outputs(deployment):
    return deployment[1]


def _rest_api_id(outputs) -> str:
    return urlparse(outputs["api_invoke_url"]).hostname.split(".")[0]


def _state_versions(s3, key: str) -> list[dict[str, Any]]:
    """Every version of the state object, oldest first, each with its lineage, serial and resources."""
    listed = s3.list_object_versions(Bucket=STATE_BUCKET, Prefix=key)["Versions"]
    # S3 lists a key's versions newest first (LastModified has whole seconds only).
    versions = [v for v in listed if v["Key"] == key][::-1]
    assert versions[-1]["IsLatest"]
    return [
        {**v, "state": json.loads(s3.get_object(Bucket=STATE_BUCKET, Key=key, VersionId=v["VersionId"])["Body"].read())} for v in versions
    ]


def _addresses(state: dict[str, Any]) -> set[str]:
    return {f"{r['type']}.{r['name']}" for r in state["resources"] if r["mode"] == "managed"}


def test_the_deployment_state_lands_in_the_bootstrapped_bucket_encrypted_and_versioned(deployment, aws):
    stack, _ = deployment
    s3 = aws("s3")
    assert stack.state_key == f"data-processing/{PREFIX}/terraform.tfstate"
    assert s3.get_bucket_versioning(Bucket=STATE_BUCKET)["Status"] == "Enabled"
    head = s3.head_object(Bucket=STATE_BUCKET, Key=stack.state_key)
    assert head["ServerSideEncryption"] == "AES256" and head["VersionId"] not in (None, "null")
    # The deployment guard reads the stored state through the data source, which reads JSON bodies only.
    assert head["ContentType"] == "application/json"
    assert not _exists(s3, stack.state_key + ".tflock")  # the deploy released its lock
    # The bootstrap's own state stays local, beside the synth output.
    assert STATE_BUCKET in (stack.root / "state-bootstrap.tfstate").read_text()


def test_a_concurrent_plan_and_apply_are_refused_by_the_lock_and_the_state_stays_intact(chain, aws):
    for command, (returncode, output) in chain.concurrent.items():
        assert returncode == 1, (command, output)
        assert LOCK_REFUSED in output and "PreconditionFailed" in output, (command, output)
        assert "Operation: OperationTypeApply" in output, (command, output)
    versions = _state_versions(aws("s3"), chain.stack.state_key)
    assert len({v["state"]["lineage"] for v in versions}) == 1
    serials = [v["state"]["serial"] for v in versions]
    assert serials == sorted(serials)
    synthesized = json.loads((chain.stack.terraform.workdir / "cdk.tf.json").read_text())["resource"]
    assert _addresses(versions[-1]["state"]) == {f"{kind}.{name}" for kind, named in synthesized.items() for name in named}


def test_this_deployments_synth_refuses_to_plan_another_deployment(chain):
    for case, (returncode, output) in chain.refusals.items():
        assert returncode == 1, (case, output)
        assert f'This state belongs to deployment "{PREFIX}" of stack data-processing, not to "someone-else"' in output, (case, output)
        assert "RESOURCE_PREFIX=someone-else npx cdktf deploy data-processing" in output, (case, output)


def test_bucket_has_object_lock_versioning_encryption_and_no_public_access(aws, outputs):
    s3, bucket = aws("s3"), outputs["data_bucket_name"]
    assert bucket == "e2e-check-data-123456789012"
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    (ownership,) = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert ownership["ObjectOwnership"] == "BucketOwnerEnforced"


def test_bucket_policy_lets_only_the_distribution_read_and_denies_non_tls(aws, outputs):
    """The deployed policy, evaluated for concrete requests (tests/support/policy_simulator.py)."""
    bucket = outputs["data_bucket_name"]
    policy = json.loads(aws("s3").get_bucket_policy(Bucket=bucket)["Policy"])
    (distribution,) = aws("cloudfront").list_distributions()["DistributionList"]["Items"]
    result = f"arn:aws:s3:::{bucket}/results/order-1/r.json"
    tls = {"aws:SecureTransport": "true"}
    ours = {**tls, "aws:SourceArn": distribution["ARN"], "aws:SourceAccount": "123456789012"}
    other_distribution = {
        **tls,
        "aws:SourceArn": "arn:aws:cloudfront::210987654321:distribution/EOTHER",
        "aws:SourceAccount": "210987654321",
    }
    requests = {
        "this distribution reads a result": (Request("cloudfront.amazonaws.com", "s3:GetObject", result, ours), ALLOWED),
        "another account's distribution": (Request("cloudfront.amazonaws.com", "s3:GetObject", result, other_distribution), IMPLICIT_DENY),
        "an anonymous reader": (Request("anonymous", "s3:GetObject", result, tls), IMPLICIT_DENY),
        "another account": (foreign("210987654321", "s3:GetObject", result, tls), IMPLICIT_DENY),
        "the distribution writing": (Request("cloudfront.amazonaws.com", "s3:PutObject", result, ours), IMPLICIT_DENY),
        "the distribution over plain HTTP": (
            Request("cloudfront.amazonaws.com", "s3:GetObject", result, {**ours, "aws:SecureTransport": "false"}),
            EXPLICIT_DENY,
        ),
        "the bucket's own account over plain HTTP": (
            Request("arn:aws:iam::123456789012:root", "s3:ListBucket", f"arn:aws:s3:::{bucket}", {"aws:SecureTransport": "false"}),
            EXPLICIT_DENY,
        ),
    }
    assert_decisions(requests, resource_policy=policy)
    # The refusals hang on the policy's conditions: without the SourceArn condition, another
    # account's distribution could read.
    loosened = json.loads(json.dumps(policy))
    for statement in loosened["Statement"]:
        if statement["Sid"] == "AllowCloudFrontRead":
            del statement["Condition"]
    assert decide([requests["another account's distribution"][0]], resource_policy=loosened) == [ALLOWED]


def test_log_bucket_takes_logs_only_from_this_accounts_delivery_services(aws, outputs):
    bucket, source = outputs["log_bucket_name"], outputs["data_bucket_name"]
    policy = json.loads(aws("s3").get_bucket_policy(Bucket=bucket)["Policy"])
    tls = {"aws:SecureTransport": "true"}
    s3_logs = {**tls, "aws:SourceArn": f"arn:aws:s3:::{source}", "aws:SourceAccount": "123456789012"}
    delivery = {
        **tls,
        "aws:SourceArn": "arn:aws:logs:us-east-1:123456789012:delivery-source:e2e-check-cdn-access",
        "aws:SourceAccount": "123456789012",
        "s3:x-amz-acl": "bucket-owner-full-control",
    }
    requests = {
        "S3 logging for the data bucket": (
            Request("logging.s3.amazonaws.com", "s3:PutObject", f"arn:aws:s3:::{bucket}/s3-access/x", s3_logs),
            ALLOWED,
        ),
        "S3 logging for another bucket": (
            Request(
                "logging.s3.amazonaws.com",
                "s3:PutObject",
                f"arn:aws:s3:::{bucket}/s3-access/x",
                {**s3_logs, "aws:SourceArn": "arn:aws:s3:::someone-else"},
            ),
            IMPLICIT_DENY,
        ),
        "S3 logging outside its prefix": (
            Request("logging.s3.amazonaws.com", "s3:PutObject", f"arn:aws:s3:::{bucket}/cloudfront/x", s3_logs),
            IMPLICIT_DENY,
        ),
        "CloudFront log delivery": (
            Request("delivery.logs.amazonaws.com", "s3:PutObject", f"arn:aws:s3:::{bucket}/cloudfront/x", delivery),
            ALLOWED,
        ),
        "log delivery for another delivery source of this account": (
            Request(
                "delivery.logs.amazonaws.com",
                "s3:PutObject",
                f"arn:aws:s3:::{bucket}/cloudfront/x",
                {**delivery, "aws:SourceArn": delivery["aws:SourceArn"] + "-other"},
            ),
            IMPLICIT_DENY,
        ),
        "log delivery for another account": (
            Request(
                "delivery.logs.amazonaws.com",
                "s3:PutObject",
                f"arn:aws:s3:::{bucket}/cloudfront/x",
                {**delivery, "aws:SourceAccount": "210987654321"},
            ),
            IMPLICIT_DENY,
        ),
        "an anonymous reader": (Request("anonymous", "s3:GetObject", f"arn:aws:s3:::{bucket}/cloudfront/x", tls), IMPLICIT_DENY),
    }
    assert_decisions(requests, resource_policy=policy)


def test_table_key_capacities_encryption_and_tags(aws, outputs):
    dynamodb = aws("dynamodb")
    table = dynamodb.describe_table(TableName=outputs["table_name"])["Table"]
    assert table["TableName"] == "e2e-check-items"
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    throughput = table["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (7, 6)
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert TAG in dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]


def test_the_api_invokes_the_live_alias_on_the_published_version(aws, outputs):
    """Deployed: the integration names the alias, the alias the newest published version, and the
    invoke permission is the alias's (the function's unqualified policy grants the API nothing)."""
    lambda_client, name = aws("lambda"), outputs["function_name"]
    alias = lambda_client.get_alias(FunctionName=name, Name=LIVE_ALIAS)
    published = [v["Version"] for v in lambda_client.list_versions_by_function(FunctionName=name)["Versions"] if v["Version"] != "$LATEST"]
    assert published and alias["FunctionVersion"] == max(published, key=int)
    apigateway = aws("apigateway")
    api_id = outputs["api_invoke_url"].split("//", 1)[1].split(".", 1)[0]
    (resource,) = [r for r in apigateway.get_resources(restApiId=api_id)["items"] if r["path"] == "/process"]
    integration = apigateway.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod="POST")
    assert integration["uri"].endswith(f"/functions/{alias['AliasArn']}/invocations")
    policy = json.loads(lambda_client.get_policy(FunctionName=name, Qualifier=LIVE_ALIAS)["Policy"])
    assert [s["Principal"] for s in policy["Statement"]] == [{"Service": "apigateway.amazonaws.com"}]


def test_function_runtime_environment_and_tags(aws, outputs):
    function = aws("lambda").get_function(FunctionName=outputs["function_name"])
    configuration = function["Configuration"]
    assert configuration["FunctionName"] == "e2e-check-processor"
    assert configuration["Runtime"] == "nodejs22.x"
    assert configuration["Environment"]["Variables"] == HandlerContract.load().environment_for(
        table=outputs["table_name"], bucket=outputs["data_bucket_name"], cdnDomain=outputs["cloudfront_domain"]
    )
    assert function["Tags"]["Environment"] == "Production"


def test_function_role_has_only_attached_least_privilege_policies(aws, outputs):
    iam = aws("iam")
    role_name = aws("lambda").get_function_configuration(FunctionName=outputs["function_name"])["Role"].split("/")[-1]
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == []
    (attached,) = iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
    policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
    document = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    table_arn = aws("dynamodb").describe_table(TableName=outputs["table_name"])["Table"]["TableArn"]
    log_group = f"/aws/lambda/{outputs['function_name']}"
    configuration = aws("lambda").get_function_configuration(FunctionName=outputs["function_name"])

    def as_list(value):
        return sorted(value) if isinstance(value, list) else [value]

    assert {(s["Sid"], s["Effect"], *map(tuple, map(as_list, (s["Action"], s["Resource"])))) for s in document["Statement"]} == {
        ("ReadItems", "Allow", ("dynamodb:GetItem",), (table_arn,)),
        ("WriteResults", "Allow", ("s3:PutObject",), (f"arn:aws:s3:::{outputs['data_bucket_name']}/*",)),
        (
            "WriteOwnLogs",
            "Allow",
            ("logs:CreateLogStream", "logs:PutLogEvents"),
            (f"arn:aws:logs:us-east-1:123456789012:log-group:{log_group}:log-stream:*",),
        ),
        ("SendTraces", "Allow", ("xray:PutTelemetryRecords", "xray:PutTraceSegments"), ("*",)),
    }
    # The same document, evaluated: the handler's two calls pass, their neighbours do not.
    role = f"arn:aws:iam::123456789012:role/{role_name}"
    bucket = f"arn:aws:s3:::{outputs['data_bucket_name']}"
    requests = {
        "read an item": (Request(role, "dynamodb:GetItem", table_arn), ALLOWED),
        "write a result": (Request(role, "s3:PutObject", f"{bucket}/results/a/b.json"), ALLOWED),
        "scan the table": (Request(role, "dynamodb:Scan", table_arn), IMPLICIT_DENY),
        "write an item": (Request(role, "dynamodb:PutItem", table_arn), IMPLICIT_DENY),
        "read a result back": (Request(role, "s3:GetObject", f"{bucket}/results/a/b.json"), IMPLICIT_DENY),
        "delete a result": (Request(role, "s3:DeleteObject", f"{bucket}/results/a/b.json"), IMPLICIT_DENY),
        "write to the log bucket": (Request(role, "s3:PutObject", f"arn:aws:s3:::{outputs['log_bucket_name']}/x"), IMPLICIT_DENY),
        "write another group's logs": (
            Request(role, "logs:PutLogEvents", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/other:log-stream:x"),
            IMPLICIT_DENY,
        ),
        "write its own logs": (
            Request(role, "logs:PutLogEvents", f"arn:aws:logs:us-east-1:123456789012:log-group:{log_group}:log-stream:s"),
            ALLOWED,
        ),
        "decrypt with the stack key": (Request(role, "kms:Decrypt", configuration["KMSKeyArn"]), IMPLICIT_DENY),
    }
    assert_decisions(requests, identity_policies=[document])


def test_function_is_traced_and_reserves_no_concurrency_by_default(aws, outputs):
    function = aws("lambda").get_function(FunctionName=outputs["function_name"])
    assert function["Configuration"]["TracingConfig"]["Mode"] == "Active"
    assert "ReservedConcurrentExecutions" not in function.get("Concurrency", {})


def test_data_bucket_logs_access_and_expires_old_versions(aws, outputs):
    s3, bucket = aws("s3"), outputs["data_bucket_name"]
    # No default retention on the emulator (docs/emulator.md, "Emulator differences"); Object Lock is on.
    assert "Rule" not in s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    logging = s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]
    assert logging["TargetBucket"] == outputs["log_bucket_name"] == "e2e-check-logs-123456789012"
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
    log_bucket = outputs["log_bucket_name"]
    assert s3.get_public_access_block(Bucket=log_bucket)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert s3.get_bucket_encryption(Bucket=log_bucket)["ServerSideEncryptionConfiguration"]["Rules"]


def test_function_log_group_keeps_30_days(aws, outputs):
    name = f"/aws/lambda/{outputs['function_name']}"
    (group,) = aws("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert (group["logGroupName"], group["retentionInDays"]) == (name, 30)


def test_api_method_requires_a_key_and_proxies_to_the_function(aws, outputs):
    apigateway, api_id = aws("apigateway"), _rest_api_id(outputs)
    (resource,) = [r for r in apigateway.get_resources(restApiId=api_id)["items"] if r["path"] == "/process"]
    method = apigateway.get_method(restApiId=api_id, resourceId=resource["id"], httpMethod="POST")
    assert method["apiKeyRequired"] is True
    integration = apigateway.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod="POST")
    assert method["requestModels"] == {"application/json": "ProcessRequest"}
    validator = apigateway.get_request_validator(restApiId=api_id, requestValidatorId=method["requestValidatorId"])
    assert validator["validateRequestBody"] is True
    function_arn = aws("lambda").get_function_configuration(FunctionName=outputs["function_name"])["FunctionArn"]
    assert (integration["type"], integration["httpMethod"]) == ("AWS_PROXY", "POST")
    assert function_arn in integration["uri"]
    assert apigateway.get_rest_api(restApiId=api_id)["endpointConfiguration"]["types"] == ["REGIONAL"]


def test_stage_writes_json_access_logs_to_its_own_group(aws, outputs):
    stage = aws("apigateway").get_stage(restApiId=_rest_api_id(outputs), stageName="v1")
    (group,) = aws("logs").describe_log_groups(logGroupNamePrefix="/aws/apigateway/e2e-check-api-access")["logGroups"]
    assert stage["accessLogSettings"]["destinationArn"] in (group["arn"], group["arn"].removesuffix(":*"))
    assert {"requestId", "status"} <= set(json.loads(stage["accessLogSettings"]["format"]))
    assert stage["tracingEnabled"] is True
    account = aws("apigateway").get_account()
    assert account["cloudwatchRoleArn"].endswith(":role/e2e-check-apigw-cloudwatch")


def test_usage_plan_caps_requests_per_day_for_the_key(aws, outputs):
    apigateway = aws("apigateway")
    (plan,) = [p for p in apigateway.get_usage_plans()["items"] if p["name"] == "e2e-check-usage-plan"]
    assert (plan["quota"]["limit"], plan["quota"]["period"]) == (QUOTA, "DAY")
    assert plan["throttle"]["rateLimit"] > 0 and plan["throttle"]["burstLimit"] > 0
    assert plan["apiStages"] == [{"apiId": _rest_api_id(outputs), "stage": "v1"}]
    keys = apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert [key["id"] for key in keys] == [outputs["api_key_id"]]


def test_distribution_is_https_only_through_an_origin_access_control(aws, outputs):
    cloudfront = aws("cloudfront")
    (summary,) = cloudfront.list_distributions()["DistributionList"]["Items"]
    assert summary["DomainName"] == outputs["cloudfront_domain"]
    config = cloudfront.get_distribution_config(Id=summary["Id"])["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only")
    (origin,) = config["Origins"]["Items"]
    assert origin["DomainName"] == f"{outputs['data_bucket_name']}.s3.us-east-1.amazonaws.com"
    controls = cloudfront.list_origin_access_controls()["OriginAccessControlList"]["Items"]
    (oac,) = [c for c in controls if c["Name"] == "e2e-check-data-oac"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == ("s3", "always")


def test_distribution_access_logs_are_delivered_to_the_log_bucket(aws, outputs):
    logs = aws("logs")
    (source,) = logs.describe_delivery_sources()["deliverySources"]
    (summary,) = aws("cloudfront").list_distributions()["DistributionList"]["Items"]
    assert (source["name"], source["logType"], source["resourceArns"]) == ("e2e-check-cdn-access", "ACCESS_LOGS", [summary["ARN"]])
    (delivery,) = logs.describe_deliveries()["deliveries"]
    destination = logs.get_delivery_destination(name="e2e-check-cdn-access-s3")["deliveryDestination"]
    assert delivery["deliveryDestinationArn"] == destination["arn"]
    assert destination["deliveryDestinationConfiguration"]["destinationResourceArn"] == (
        f"arn:aws:s3:::{outputs['log_bucket_name']}/cloudfront"
    )


def test_api_stage_and_distribution_sit_behind_waf(aws, outputs):
    wafv2 = aws("wafv2")
    stage_arn = f"arn:aws:apigateway:us-east-1::/restapis/{_rest_api_id(outputs)}/stages/v1"
    assert wafv2.get_web_acl_for_resource(ResourceArn=stage_arn)["WebACL"]["Name"] == "e2e-check-api-waf"
    (summary,) = aws("cloudfront").list_distributions()["DistributionList"]["Items"]
    cdn_acls = {acl["ARN"]: acl["Name"] for acl in wafv2.list_web_acls(Scope="CLOUDFRONT")["WebACLs"]}
    assert cdn_acls[summary["WebACLId"]] == "e2e-check-cdn-waf"


def test_topic_emails_the_alert_address_under_its_kms_key(aws, outputs):
    sns = aws("sns")
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=outputs["alert_topic_arn"])["Subscriptions"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "alerts@example.org")
    key_id = sns.get_topic_attributes(TopicArn=outputs["alert_topic_arn"])["Attributes"]["KmsMasterKeyId"]
    key = aws("kms").describe_key(KeyId=key_id)["KeyMetadata"]
    assert key["KeyManager"] == "CUSTOMER"
    assert aws("kms").get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
    # Its policy, evaluated: CloudWatch (alarms -> encrypted topic) may use it for this account
    # only; nothing else outside the account may.
    policy = json.loads(aws("kms").get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    arn = key["Arn"]
    this_account = {"aws:SourceAccount": "123456789012"}
    requests = {
        "alarms publish to the topic": (Request("cloudwatch.amazonaws.com", "kms:GenerateDataKey", arn, this_account), ALLOWED),
        "alarms of another account": (
            Request("cloudwatch.amazonaws.com", "kms:GenerateDataKey", arn, {"aws:SourceAccount": "210987654321"}),
            IMPLICIT_DENY,
        ),
        "another service": (Request("s3.amazonaws.com", "kms:Decrypt", arn, this_account), IMPLICIT_DENY),
        "another account": (foreign("210987654321", "kms:Decrypt", arn), IMPLICIT_DENY),
    }
    assert_decisions(requests, resource_policy=policy)
    # CloudWatch Logs may use it only for this account's log groups. The evaluator cannot judge
    # kms:EncryptionContext keys, so that statement's condition is read instead.
    (logs,) = [s for s in policy["Statement"] if s["Sid"] == "CloudWatchLogsEncryptsThisAccountsLogGroups"]
    assert logs["Principal"] in ({"Service": "logs.us-east-1.amazonaws.com"}, {"Service": ["logs.us-east-1.amazonaws.com"]})
    assert logs["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": ["arn:aws:logs:us-east-1:123456789012:log-group:*"]}}


def test_alarms_notify_the_topic(aws, outputs, deployment):
    """Every alarm the stack synthesizes is deployed (what each watches: tests/constructs_lib/test_alarms.py)."""
    stack, _ = deployment
    synthesized = json.loads((stack.terraform.workdir / "cdk.tf.json").read_text())["resource"]["aws_cloudwatch_metric_alarm"]
    alarms = aws("cloudwatch").describe_alarms(AlarmNamePrefix=PREFIX)["MetricAlarms"]
    metrics = {(a["Namespace"], a["MetricName"]) for a in alarms}
    assert metrics == {(a["namespace"].replace("${var.ResourcePrefix}", PREFIX), a["metric_name"]) for a in synthesized.values()}
    assert {("AWS/Lambda", "Errors"), ("AWS/ApiGateway", "5XXError"), (f"{PREFIX}/DataProcessor", "HandlerErrors")} <= metrics
    # The read capacity alarm's threshold follows the deployed capacity input (80% of it per second, over the period).
    (reads,) = [a for a in alarms if a["MetricName"] == "ConsumedReadCapacityUnits"]
    assert reads["Threshold"] == pytest.approx(DEPLOY_INPUTS["DynamoDbReadCapacity"] * 0.8 * reads["Period"])
    dashboard = json.loads(aws("cloudwatch").get_dashboard(DashboardName=f"{PREFIX}-operations")["DashboardBody"])
    (panel,) = [w for w in dashboard["widgets"] if w["type"] == "alarm"]
    assert sorted(panel["properties"]["alarms"]) == sorted(a["AlarmArn"] for a in alarms)
    for alarm in alarms:
        assert alarm["AlarmActions"] == [outputs["alert_topic_arn"]], alarm["AlarmName"]
    (metric_filter,) = aws("logs").describe_metric_filters(logGroupName=f"/aws/lambda/{outputs['function_name']}")["metricFilters"]
    assert metric_filter["filterPattern"] == HandlerContract.load().error_pattern


@pytest.fixture(scope="module")
def local_api(deployment):
    stack, outputs = deployment
    api = LocalApi.start(stack.root, stack.endpoint, outputs["api_invoke_url"], stack.outdir)
    yield api
    api.stop()


def _access_log(aws, request_id, timeout=10):
    """The stage's access-log line for a request, from the deployed log group on the emulator."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = aws("logs").filter_log_events(logGroupName=f"/aws/apigateway/{PREFIX}-api-access")["events"]
        lines = [json.loads(e["message"]) for e in events if request_id in e["message"]]
        if lines:
            return lines
        time.sleep(0.2)
    raise AssertionError(f"no access-log line for {request_id}")


def test_local_api_processes_a_request_and_its_result_url_serves_the_result(deployment, local_api, aws):
    stack, outputs = deployment
    stack.seed_item(outputs["table_name"], {"id": "e2e-item", "name": "seeded"})
    status, headers, body = local_api.post(json.dumps({"id": "e2e-item", "payload": {"n": 1}}), outputs["api_key_value"])
    assert status == 200, body
    answer = json.loads(body)
    assert answer["url"] == f"https://{outputs['cloudfront_domain']}/{answer['key']}"
    # The url, fetched as it is, through the distribution's stand-in (TLS for its domain).
    fetched, cdn_headers, content = local_api.fetch(answer["url"])
    assert fetched == 200, content
    result = json.loads(content)
    assert (result["item"], result["payload"], result["requestId"]) == ({"id": "e2e-item", "name": "seeded"}, {"n": 1}, answer["requestId"])
    assert cdn_headers["Strict-Transport-Security"].startswith("max-age=")
    # As CloudFront with GET/HEAD only, and S3 behind an origin access control without ListBucket.
    assert local_api.fetch(answer["url"], method="POST")[0] == 403
    assert local_api.fetch(answer["url"], method="DELETE")[0] == 403
    missing = local_api.fetch(f"https://{outputs['cloudfront_domain']}/results/e2e-item/none.json")
    assert (missing[0], b"<Code>AccessDenied</Code>" in missing[2]) == (403, True)
    # One access-log line, in the stage's format, in the stage's log group.
    (line,) = _access_log(aws, headers["x-amzn-RequestId"])
    assert (line["status"], line["httpMethod"], line["resourcePath"]) == ("200", "POST", "/process")
    assert (line["apiKeyId"], line["integrationStatus"], line["responseLength"]) == (outputs["api_key_id"], "200", str(len(body)))


def test_local_api_refuses_requests_without_the_deployed_key(outputs, local_api, aws):
    request = json.dumps({"id": "e2e-item"})
    for key in (None, "not-the-key", outputs["api_key_value"].upper()):
        status, headers, body = local_api.post(request, key)
        assert (status, json.loads(body), headers["x-amzn-ErrorType"]) == (403, {"message": "Forbidden"}, "ForbiddenException")
    (line,) = _access_log(aws, headers["x-amzn-RequestId"])
    assert (line["status"], line["apiKeyId"], line["integrationStatus"], line["errorMessage"]) == ("403", "-", "-", "Forbidden")


def test_local_api_validates_bodies_with_the_deployed_model_and_gateway_response(outputs, local_api):
    key = outputs["api_key_value"]
    cases = {
        '{"payload":{}}': 'object has missing required properties (["id"])',
        '{"id":"a","extra":1}': 'object instance has properties which are not allowed by the schema: ["extra"]',
        '{"id":"../up"}': 'does not match input string "../up"',
        '{"id":"' + "x" * 300 + '"}': "is too long (length: 300, maximum allowed: 256)",
        '{"id":7}': 'instance type (integer) does not match any allowed primitive type (allowed: ["string"])',
        "not json": "Unknown error parsing request body",
    }
    for request, message in cases.items():
        status, headers, body = local_api.post(request, key)
        answer = json.loads(body)  # the deployed gateway response renders valid JSON
        assert (status, answer["error"], answer["requestId"]) == (400, "InvalidBody", headers["x-amzn-RequestId"]), body
        assert message in answer["message"], answer
    # No model for the media type: no validation, the handler refuses it.
    status, _, body = local_api.post("x", key, headers={"Content-Type": "text/plain"})
    assert (status, json.loads(body)["error"]) == (415, "UnsupportedMediaType")


def test_local_api_has_only_the_deployed_routes(outputs, local_api):
    key = {"x-api-key": outputs["api_key_value"]}
    for method, path in (("GET", "/process"), ("POST", "/other"), ("POST", "/process/x")):
        status, _, body = local_api.request(method, path, b"{}", key)
        assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"}), (method, path)


def test_local_api_spends_the_deployed_quota_then_throttles(deployment, outputs, aws):
    """A fresh local API (its quota count starts at zero): the usage plan's quota, then its throttle."""
    stack, _ = deployment
    (stack.root / "fresh").mkdir()
    api = LocalApi.start(stack.root / "fresh", stack.endpoint, outputs["api_invoke_url"], stack.outdir)
    key = outputs["api_key_value"]
    try:
        within = [api.post('{"id":"quota"}', key) for _ in range(QUOTA)]
        assert [status for status, _, _ in within] == [404] * QUOTA  # no such item: the handler's own answer
        status, headers, body = api.post('{"id":"quota"}', key)
        assert (status, json.loads(body), headers["x-amzn-ErrorType"]) == (429, {"message": "Limit Exceeded"}, "LimitExceededException")
        assert api.post('{"id":"quota"}', None)[0] == 403  # the key is checked first
        # The plan's token bucket (burst 20, 10 a second, as deployed): twice what it holds, at once.
        (plan,) = [p for p in aws("apigateway").get_usage_plans()["items"] if p["name"] == f"{PREFIX}-usage-plan"]
        burst, rate = plan["throttle"]["burstLimit"], plan["throttle"]["rateLimit"]
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            over = list(pool.map(lambda _: api.post('{"id":"quota"}', key), range(2 * burst)))
        elapsed = time.monotonic() - started
        # Requests this fast would have to take over `burst / rate` seconds to all find a token.
        assert elapsed < burst / rate / 2, f"{2 * burst} requests took {elapsed:.1f} s: too slow to see the throttle"
        messages = [json.loads(body)["message"] for _, _, body in over]
        assert {status for status, _, _ in over} == {429}
        assert messages.count("Too Many Requests") >= 1 and messages.count("Limit Exceeded") <= burst + rate * elapsed + 1, messages
    finally:
        api.stop()


def test_a_stale_lock_is_refused_until_it_is_force_unlocked(deployment, aws):
    """A run that died holding the lock (docs/delivery.md, "A stale lock")."""
    stack, _ = deployment
    s3, lock_id = aws("s3"), "3f6c0a1e-5b2d-4c7e-9a8f-1d2e3f4a5b6c"
    lock = {
        "ID": lock_id,
        "Operation": "OperationTypeApply",
        "Who": "crashed@laptop",
        "Version": "1.11.4",
        "Created": "2026-12-03T09:00:00Z",
    }
    s3.put_object(Bucket=STATE_BUCKET, Key=stack.state_key + ".tflock", Body=json.dumps({**lock, "Info": "", "Path": ""}).encode())
    refused = stack.terraform.run("plan", "-input=false", "-no-color", "-lock-timeout=0s", *Terraform.var_args(DEPLOY_INPUTS), check=False)
    assert refused.returncode == 1 and LOCK_REFUSED in refused.stderr and f"ID:        {lock_id}" in refused.stderr, refused.stderr
    stack.terraform.run("force-unlock", "-force", lock_id)
    assert not _exists(s3, stack.state_key + ".tflock")


def _runbook_calls(section: str, values: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """The `aws s3api` commands of a docs/delivery.md section, as the SDK calls the CLI makes of
    them: the operation, and each --option as its parameter (the CLI's output options and a
    positional output file dropped), with `values` substituted."""
    text = (PROJECT_ROOT / "docs" / "delivery.md").read_text().split(f"### {section}\n", 1)[1]
    block = text.split("```bash\n", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    calls = []
    for line in block.splitlines():
        for name, value in values.items():
            line = line.replace(name, value)
        words = shlex.split(line.split(" | ", 1)[0].split(" # ", 1)[0])
        if words[:2] != ["aws", "s3api"]:
            continue
        parameters, rest = {}, iter(words[3:])
        for word in rest:
            if word.startswith("--"):
                value = next(rest)
                if word not in CLI_ONLY:
                    parameters["".join(part.title() for part in word[2:].split("-"))] = value
        calls.append((words[2].replace("-", "_"), parameters))
    return calls


def test_a_broken_state_is_restored_from_its_previous_version(deployment, aws):
    """The runbook (docs/delivery.md, "Restore a previous state version"), its commands as written:
    the state loses the table, the version before is found, read and copied back over it; the
    re-plan below proves it complete."""
    stack, outputs = deployment
    s3 = aws("s3")
    good = _state_versions(s3, stack.state_key)[-1]
    (table,) = [a for a in _addresses(good["state"]) if a.startswith("aws_dynamodb_table.")]
    stack.terraform.run("state", "rm", table)
    broken = _state_versions(s3, stack.state_key)[-1]
    assert table not in _addresses(broken["state"]) and broken["state"]["serial"] > good["state"]["serial"]
    values = {"$STATE_BUCKET": STATE_BUCKET, "$key": stack.state_key, "<VERSION>": good["VersionId"]}
    answers = {
        operation: getattr(s3, operation)(**parameters)
        for operation, parameters in _runbook_calls("Restore a previous state version", values)
    }
    assert list(answers) == ["list_object_versions", "get_object", "copy_object"]
    assert good["VersionId"] in [v["VersionId"] for v in answers["list_object_versions"]["Versions"]]
    assert json.loads(answers["get_object"]["Body"].read()) == good["state"]
    restored = _state_versions(s3, stack.state_key)[-1]["state"]
    assert restored == good["state"] and table in stack.terraform.state_resources()


def test_replan_after_the_restore_changes_nothing_but_the_documented_emulator_artifact(deployment):
    stack, _ = deployment
    result = stack.terraform.plan(DEPLOY_INPUTS, plan_file="replan.plan")
    assert result.returncode == 0, result.errors
    changed = [c for c in result.plan["resource_changes"] if c["change"]["actions"] not in (["no-op"], ["read"])]
    for change in changed:
        assert change["type"] in EMULATOR_ARTIFACTS and change["change"]["actions"] == ["update"], change["address"]
        before, after = change["change"]["before"], change["change"]["after"]
        unknown = {k for k, v in (change["change"].get("after_unknown") or {}).items() if v}
        differing = {k for k in after if k in before and before[k] != after[k]} | unknown
        assert differing <= EMULATOR_ARTIFACTS[change["type"]], (change["address"], differing)
    changed = {c["type"]: c for c in changed}
    if "aws_cloudfront_distribution" in changed:
        change = changed["aws_cloudfront_distribution"]["change"]
        assert change["actions"] == ["update"]
        before, after = change["before"], change["after"]
        for block, attribute in DISTRIBUTION_ARTIFACTS:
            for entry in before[block] + after[block]:
                entry.pop(attribute)
        assert {k: v for k, v in before.items() if k in after} == {k: v for k, v in after.items() if k in before}


def test_destroy_leaves_nothing_behind(deployment, aws):
    stack, outputs = deployment
    stack.destroy(stack.root / "destroy.log")
    assert stack.terraform.state_resources() == []
    # The state stays, empty, in the bucket that outlives every deployment.
    assert _state_versions(aws("s3"), stack.state_key)[-1]["state"]["resources"] == []
    assert not [b for b in aws("s3").list_buckets()["Buckets"] if b["Name"].startswith(PREFIX)]
    assert not [t for t in aws("dynamodb").list_tables()["TableNames"] if t.startswith(PREFIX)]
    assert not [f for f in aws("lambda").list_functions()["Functions"] if f["FunctionName"].startswith(PREFIX)]
    assert not aws("apigateway").get_rest_apis()["items"]
    assert not aws("apigateway").get_usage_plans()["items"]
    assert not aws("apigateway").get_api_keys()["items"]
    assert not [r for r in aws("iam").list_roles()["Roles"] if r["RoleName"].startswith(PREFIX)]
    assert not [p for p in aws("iam").list_policies(Scope="Local")["Policies"] if p["PolicyName"].startswith(PREFIX)]
    assert not aws("logs").describe_log_groups()["logGroups"]
    assert not aws("cloudwatch").describe_alarms()["MetricAlarms"]
    assert not aws("sns").list_topics()["Topics"]
    assert not aws("cloudfront").list_distributions()["DistributionList"].get("Items")
    kms = aws("kms")
    keys = [kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"] for key in kms.list_keys()["Keys"]]
    (stack_key,) = [key for key in keys if key.get("Description", "").startswith("Encrypts the data-processing stack")]
    # KMS never deletes a key at once: destroy schedules it.
    assert stack_key["KeyState"] == "PendingDeletion"
    assert not [a for a in kms.list_aliases()["Aliases"] if a["AliasName"].startswith(f"alias/{PREFIX}")]
    # The region-wide logging role is reset, not left pointing at the deleted role.
    assert not aws("apigateway").get_account().get("cloudwatchRoleArn")
