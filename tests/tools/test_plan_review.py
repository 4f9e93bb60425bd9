"""Issue 7: the plan review flags each risk, on real plans terraform makes against the emulator."""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager

import pytest

from tests.conftest import VALID_INPUTS
from tools.plan_review import main, review
from tools.terraform_runner import Terraform


def _address(synth, resource_type, predicate=lambda config: True):
    (name,) = [n for n, c in synth.resources(resource_type).items() if predicate(c)]
    return f"{resource_type}.{name}"


@pytest.fixture(scope="module")
def workspace(synth, emulator, tmp_path_factory):
    """A copy of the stack with the table and the function's policy applied (a targeted apply)."""
    workdir = tmp_path_factory.mktemp("review") / "stack"
    shutil.copytree(synth.stack_dir, workdir)
    terraform = Terraform(workdir, emulator.client_env())
    terraform.init()
    table = _address(synth, "aws_dynamodb_table")
    policy = _address(synth, "aws_iam_policy", lambda c: c["name"].endswith("-processor-access"))
    terraform.apply(VALID_INPUTS, targets=[table, policy])
    return terraform, table, policy


def _edit(terraform, edit):
    path = terraform.workdir / "cdk.tf.json"
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))


@contextmanager
def _edited(terraform, edit):
    """The stack's JSON changed by `edit` for the duration, then restored."""
    path = terraform.workdir / "cdk.tf.json"
    original = path.read_text()
    _edit(terraform, edit)
    try:
        yield
    finally:
        path.write_text(original)


def _plan(terraform, name, variables=VALID_INPUTS, targets=()):
    result = terraform.plan(variables, plan_file=f"{name}.plan", targets=targets)
    assert result.returncode == 0, result.errors
    return result.plan


def test_create_plan_counts_changes_and_flags_only_the_new_iam(valid_plan):
    result = review(valid_plan)
    assert result.counts["create"] == len(result.changes) > 30
    # A first deploy grants permissions: reviewers see them; nothing stateful, exposed or untagged.
    assert {r.kind for r in result.risks} == {"iam"}
    markdown = result.markdown()
    assert markdown.index("risk(s)") < markdown.index("| action | resource | type |")


def test_in_place_capacity_update_is_not_a_risk(workspace):
    terraform, table, _ = workspace
    plan = _plan(terraform, "update", {**VALID_INPUTS, "DynamoDbReadCapacity": 9}, targets=[table])
    result = review(plan)
    assert result.changes == [("update", table, "aws_dynamodb_table")]
    assert result.risks == []


def test_table_key_change_is_flagged_as_replacing_stateful_data(workspace):
    terraform, table, _ = workspace
    name = table.split(".")[1]

    def change_key(document):
        config = document["resource"]["aws_dynamodb_table"][name]
        config["hash_key"] = "pk"
        config["attribute"] = [{"name": "pk", "type": "S"}]

    with _edited(terraform, change_key):
        result = review(_plan(terraform, "replace", targets=[table]))
    assert ("replace", table, "aws_dynamodb_table") in result.changes
    assert [(r.kind, r.address) for r in result.risks] == [("stateful", table)]


def test_iam_widening_names_the_actions_added(workspace, synth):
    terraform, _, policy = workspace
    document_name = synth.referenced(synth.resources("aws_iam_policy")[policy.split(".")[1]]["policy"])

    def widen(document):
        for config in document["data"]["aws_iam_policy_document"].values():
            for statement in config.get("statement", []):
                if statement.get("sid") == "ReadItems":
                    statement["actions"] = ["dynamodb:GetItem", "dynamodb:Scan"]

    assert document_name  # the policy is rendered from a data source document
    with _edited(terraform, widen):
        result = review(_plan(terraform, "widen", targets=[policy]))
    (risk,) = result.risks
    assert (risk.kind, risk.address) == ("iam", policy)
    assert "added `dynamodb:Scan`" in risk.detail and "removed" not in risk.detail


def test_exposure_and_tag_drift_are_flagged_and_fail_the_check(synth, emulator, tmp_path, capsys):
    workdir = tmp_path / "stack"
    shutil.copytree(synth.stack_dir, workdir)
    terraform = Terraform(workdir, emulator.client_env())

    def expose(document):
        resources = document["resource"]
        for block in resources["aws_s3_bucket_public_access_block"].values():
            block["restrict_public_buckets"] = False
        for method in resources["aws_api_gateway_method"].values():
            method["api_key_required"] = False
        for distribution in resources["aws_cloudfront_distribution"].values():
            distribution["default_cache_behavior"]["viewer_protocol_policy"] = "allow-all"
        for policy in resources["aws_s3_bucket_policy"].values():
            policy["policy"] = json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}
            )
        document["provider"]["aws"][0]["default_tags"] = [{"tags": {"Environment": "Staging"}}]

    _edit(terraform, expose)
    terraform.init()
    plan = _plan(terraform, "exposed")
    result = review(plan)
    details = [r.detail for r in result.risks if r.kind == "exposure"]
    assert any("public access block relaxed: restrict_public_buckets" in d for d in details)
    assert any("no longer requires an API key" in d for d in details)
    assert any("allow-all" in d for d in details)
    assert any('principal "*"' in d for d in details)
    assert any(r.kind == "tags" and "Environment='Staging'" in r.detail for r in result.risks)

    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    assert main([str(plan_file), "--fail-on-risk"]) == 2
    assert main([str(plan_file)]) == 0
    assert capsys.readouterr().out.startswith("## Terraform plan review")
