"""SPEC 1 (Lambda) and 7 (its log group): runtime, environment, packaging, logs."""

from __future__ import annotations

import json
import zipfile

import pytest
from cdktf import Testing

from constructs_lib.node_package import DEFAULT_RUNTIME, build_package
from stacks.handler_contract import HandlerContract
from stacks.settings import PROJECT_ROOT, SettingsError, StackSettings
from tests.conftest import run_main
from tests.support.plans import planned, planned_one


def test_function_defaults_to_nodejs22(synth):
    assert DEFAULT_RUNTIME == "nodejs22.x"
    assert Testing.to_have_resource_with_properties(
        synth.text, "aws_lambda_function", {"runtime": "nodejs22.x", "handler": "index.handler"}
    )


LOCAL = {"STATE_BACKEND": "local"}


def test_runtime_is_chosen_by_environment_or_context():
    assert StackSettings.load(lambda key: None, environ=LOCAL).lambda_runtime == "nodejs22.x"
    context = {"lambdaRuntime": "nodejs18.x"}
    assert StackSettings.load(context.get, environ=LOCAL).lambda_runtime == "nodejs18.x"
    assert StackSettings.load(context.get, environ={**LOCAL, "LAMBDA_RUNTIME": "nodejs16.x"}).lambda_runtime == "nodejs16.x"


def test_function_gets_table_bucket_and_cdn_domain_from_their_resources(synth):
    table = synth.name_at("items/table")
    bucket = synth.bucket_address(object_lock=True)
    distribution = synth.name_at("cdn/distribution")
    assert synth.at("processor/function")["environment"]["variables"] == HandlerContract.load().environment_for(
        table=f"${{aws_dynamodb_table.{table}.name}}",
        bucket=f"${{aws_s3_bucket.{bucket}.bucket}}",
        cdnDomain=f"${{aws_cloudfront_distribution.{distribution}.domain_name}}",
    )


def test_log_group_is_created_by_terraform_named_after_the_function_with_30_days(valid_plan, synth):
    function = planned_one(valid_plan, "aws_lambda_function")
    groups = {g.get("name"): g for g in planned(valid_plan, "aws_cloudwatch_log_group")}
    group = groups[f"/aws/lambda/{function['function_name']}"]
    assert group["retention_in_days"] == 30
    # The function waits for its log group, so the first invocation cannot create it first.
    (group_address,) = [a for a, g in synth.resources("aws_cloudwatch_log_group").items() if g["name"].startswith("/aws/lambda/")]
    assert f"aws_cloudwatch_log_group.{group_address}" in synth.at("processor/function")["depends_on"]


def test_package_holds_only_declared_handler_files_and_is_deterministic(tmp_path):
    first, first_hash = build_package(PROJECT_ROOT / "handler", tmp_path / "a")
    second, second_hash = build_package(PROJECT_ROOT / "handler", tmp_path / "b")
    assert first.read_bytes() == second.read_bytes() and first_hash == second_hash
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
    handler_dir = PROJECT_ROOT / "handler"
    # The handler's own code only: no node_modules, tests, benchmarks or manifests.
    assert sorted(names) == sorted(
        ["index.js", *(f"src/{p.name}" for p in (handler_dir / "src").iterdir() if p.suffix in (".js", ".json"))]
    )


def test_function_deploys_the_built_package_with_its_hash(synth, tmp_path):
    function = synth.at("processor/function")
    assert (synth.stack_dir / function["filename"]).is_file()
    _, expected_hash = build_package(PROJECT_ROOT / "handler", tmp_path)
    assert function["source_code_hash"] == expected_hash


def test_function_is_traced_and_its_environment_encrypted_under_the_stack_key(synth):
    function = synth.at("processor/function")
    key = synth.name_at("key/key")
    assert function["tracing_config"] == {"mode": "Active"}
    assert function["kms_key_arn"] == f"${{aws_kms_key.{key}.arn}}"


def test_default_synth_deploys_on_a_fresh_account(synth):
    """Nothing that needs a raised quota or an artefact nobody produces: no reserved
    concurrency (Lambda keeps 100 unreserved; new accounts have less to spare), no code signing
    (nothing signs the package), no dead-letter queue (API Gateway invokes synchronously)."""
    function = synth.at("processor/function")
    assert "reserved_concurrent_executions" not in function
    assert "code_signing_config_arn" not in function and "dead_letter_config" not in function
    for absent in ("aws_lambda_code_signing_config", "aws_signer_signing_profile", "aws_sqs_queue"):
        assert not synth.resources(absent), absent


def test_reserved_concurrency_is_an_opt_in_setting(tmp_path):
    assert StackSettings.load(lambda key: None, environ=LOCAL).reserved_concurrency is None
    assert StackSettings.load(lambda key: None, environ={**LOCAL, "RESERVED_CONCURRENCY": "25"}).reserved_concurrency == 25
    assert StackSettings.load({"reservedConcurrency": 5}.get, environ=LOCAL).reserved_concurrency == 5
    for bad in ("0", "-3", "ten", "2.5"):
        with pytest.raises(SettingsError, match="RESERVED_CONCURRENCY must be a whole number of at least 1"):
            StackSettings.load(lambda key: None, environ={**LOCAL, "RESERVED_CONCURRENCY": bad})
    stack_dir = run_main(tmp_path, RESERVED_CONCURRENCY="25")
    function = json.loads((stack_dir / "cdk.tf.json").read_text())["resource"]["aws_lambda_function"]
    assert [f["reserved_concurrent_executions"] for f in function.values()] == [25]


def test_every_deploy_publishes_a_version_that_the_live_alias_points_at(synth):
    """Callers invoke the live alias on a published version, never $LATEST."""
    function = synth.name_at("processor/function")
    assert synth.at("processor/function")["publish"] is True
    alias = synth.at("processor/live-alias")
    assert (alias["name"], alias["function_name"], alias["function_version"]) == (
        "live",
        f"${{aws_lambda_function.{function}.function_name}}",
        f"${{aws_lambda_function.{function}.version}}",
    )
