"""The plan review: each risk flag and each way of showing a change, on real plans terraform makes
against the emulator; the attribute diff also on hand-made plan fragments."""

from __future__ import annotations

import json
import os
import re
import shutil
from contextlib import contextmanager

import pytest

from review.plan_cost import PRICING
from review.plan_review import GITHUB_COMMENT_LIMIT, AttributeChange, action_of, attribute_changes, main, review
from runners.terraform_runner import Terraform
from stacks.facts import PROJECT_ROOT
from tests.conftest import VALID_INPUTS
from tests.support.configurations import only

EXAMPLE = PROJECT_ROOT / "docs" / "plan-review-example.md"


def _address(synth, resource_type, predicate=lambda config: True):
    (name,) = [n for n, c in synth.resources(resource_type).items() if predicate(c)]
    return f"{resource_type}.{name}"


def _bucket_settings(synth):
    """The data bucket's versioning, Object Lock and encryption configurations."""
    bucket_ref = f"${{aws_s3_bucket.{synth.bucket_address(object_lock=True)}.id}}"
    return [
        _address(synth, resource_type, lambda c: c["bucket"] == bucket_ref)
        for resource_type in (
            "aws_s3_bucket_versioning",
            "aws_s3_bucket_object_lock_configuration",
            "aws_s3_bucket_server_side_encryption_configuration",
        )
    ]


def _alerting(synth):
    """The alert topic and the table's alarm (the others reach the function and, through it, the whole stack)."""
    return [
        _address(synth, "aws_sns_topic"),
        _address(synth, "aws_cloudwatch_metric_alarm", lambda c: c["metric_name"] == "ReadThrottleEvents"),
    ]


def _regional_acl(synth):
    (name,) = [n for n, acl in synth.resources("aws_wafv2_web_acl").items() if acl["scope"] == "REGIONAL"]
    return f"aws_wafv2_web_acl.{name}"


def _cut_copy(synth, emulator, provider, directory, addresses):
    """A copy of the stack holding only `addresses` and what they refer to (tests/support/configurations.py),
    initialised: plans of it validate nothing else."""
    workdir = directory / "stack"
    shutil.copytree(synth.stack_dir, workdir)
    (workdir / "cdk.tf.json").write_text(json.dumps(only(synth.json, addresses)))
    terraform = Terraform(workdir, emulator.client_env(), provider)
    terraform.init()
    return terraform


# Once per worker, as it applies fixed names on the worker's session emulator (see weakened_review).
@pytest.fixture(scope="session")
def workspace(synth, emulator, provider, tmp_path_factory):
    """The resources the tests below change, applied (one apply, of a copy of the stack cut down to
    them): the deployment's state record, the table, the function's policy and log group, the
    data bucket's settings, the alert topic and one alarm."""
    table = _address(synth, "aws_dynamodb_table")
    policy = _address(synth, "aws_iam_policy", lambda c: c["name"].endswith("-processor-access"))
    log_group = _address(synth, "aws_cloudwatch_log_group", lambda c: c["name"].startswith("/aws/lambda/"))
    owner = _address(synth, "terraform_data")
    applied = [owner, table, policy, log_group, *_bucket_settings(synth), *_alerting(synth)]
    terraform = _cut_copy(synth, emulator, provider, tmp_path_factory.mktemp("review"), applied)
    terraform.apply(VALID_INPUTS)
    return terraform, table, policy, log_group


def _applied(terraform, address):
    """An applied resource's attributes, from the workspace's local state."""
    state = json.loads((terraform.workdir / "terraform.tfstate").read_text())
    resource_type, name = address.split(".")
    (resource,) = [r for r in state["resources"] if r["mode"] == "managed" and (r["type"], r["name"]) == (resource_type, name)]
    return resource["instances"][0]["attributes"]


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


def _as_untargeted(plan):
    """These plans target a few resources to stay fast, and Terraform marks a targeted plan
    incomplete (which the review reports as a failed plan, as the tests below it prove). Where a
    test is about how a complete plan reads, it is marked as an untargeted plan of the same changes is."""
    assert plan["complete"] is False
    return {**plan, "complete": True}


def _plan_file(path, fragment):
    """A hand-made plan fragment written as `terraform show -json` writes a plan."""
    path.write_text(json.dumps({"format_version": "1.2", "planned_values": {}, **fragment}))
    return path


def test_risks_and_changes_name_each_resource_by_its_construct_path(valid_plan, synth, tmp_path, capsys):
    """What a cdktf user knows a resource by, beside its Terraform address: from the synthesized
    stack's metadata, given or found beside the plan."""
    result = review(valid_plan, config=synth.json)
    table = next(c for c in result.changes if c.type == "aws_dynamodb_table")
    assert table.construct == "data-processing/items/table"
    assert all(c.construct.startswith("data-processing/") for c in result.changes)
    assert all(r.construct.startswith("data-processing/") for r in result.risks) and result.risks
    markdown = result.markdown()
    assert f"<code>create</code> <code>data-processing/items/table</code> (<code>{table.address}</code>)" in markdown
    risk = result.risks[0]
    assert f"`{risk.construct}` (`{risk.address}`)" in markdown
    # From the command line: the cdk.tf.json beside the plan.
    (tmp_path / "plan.json").write_text(json.dumps(valid_plan))
    (tmp_path / "cdk.tf.json").write_text(synth.text)
    capsys.readouterr()
    assert main([str(tmp_path / "plan.json"), "--format", "json"]) == 0
    changes = json.loads(capsys.readouterr().out)["changes"]
    assert {c["construct"] for c in changes if c["type"] == "aws_dynamodb_table"} == {"data-processing/items/table"}


def test_create_plan_counts_changes_and_flags_only_the_new_iam(valid_plan):
    result = review(valid_plan)
    assert result.counts["create"] == len(result.changes) > 30
    # A first deploy grants permissions: reviewers see them; nothing stateful, exposed or untagged.
    assert {r.kind for r in result.risks} == {"iam"}
    markdown = result.markdown()
    assert len(markdown) <= GITHUB_COMMENT_LIMIT
    assert markdown.index("risk(s)") < markdown.index("### Changes") < markdown.index("### Details")
    # What the stack costs by merely existing: 2 web ACLs (the API's with 7 rules: blocked
    # countries and large bodies too; the distribution's with 5), 1 key, each alarm (one metric
    # each), the dashboard, 1 custom metric, 5 + 5 provisioned capacity units.
    fixed = PRICING["fixed"]
    alarms = sum(1 for c in valid_plan["resource_changes"] if c["type"] == "aws_cloudwatch_metric_alarm")
    expected = (
        2 * fixed["wafv2_web_acl"]["usd"]
        + (7 + 5) * fixed["wafv2_rule"]["usd"]
        + fixed["kms_key"]["usd"]
        + alarms * fixed["cloudwatch_alarm"]["usd"]
        + fixed["cloudwatch_dashboard"]["usd"]
        + fixed["cloudwatch_custom_metric"]["usd"]
        + 730 * 5 * (fixed["dynamodb_rcu_hour"]["usd"] + fixed["dynamodb_wcu_hour"]["usd"])
    )
    assert (result.cost.before, round(result.cost.after, 6)) == (0, round(expected, 6))
    assert f"**$0.00 → ${expected:,.2f}**" in markdown
    # The key rotates yearly: its first two rotations keep old key material at $1 a month each.
    assert (result.cost.later_before, result.cost.later_after) == (0, 2 * fixed["kms_key_rotation"]["usd"])
    assert f"rotated twice (two rotation periods, a year each by default): **$0.00 → ${expected + 2:,.2f}** a month" in markdown
    # Created attributes show their values; computed ones are "(known after apply)".
    (table,) = [c for c in result.changes if c.type == "aws_dynamodb_table"]
    assert AttributeChange("billing_mode", "null", '"PROVISIONED"') in table.attributes
    assert AttributeChange("arn", "null", "(known after apply)") in table.attributes


def test_in_place_capacity_update_is_not_a_risk(workspace):
    terraform, table, *_ = workspace
    plan = _as_untargeted(_plan(terraform, "update", {**VALID_INPUTS, "DynamoDbReadCapacity": 9}, targets=[table]))
    result = review(plan)
    (change,) = result.changes
    assert (change.action, change.address, change.type) == ("update", table, "aws_dynamodb_table")
    assert change.attributes == [AttributeChange("read_capacity", "5", "9")]
    assert result.risks == []
    # 4 more read capacity units for 730 hours at the table's price per unit-hour.
    assert round(result.cost.delta, 4) == round(4 * 730 * PRICING["fixed"]["dynamodb_rcu_hour"]["usd"], 4)
    assert "(+$0.38 a month)" in result.markdown()


def test_table_key_change_is_flagged_as_replacing_stateful_data(workspace):
    terraform, table, *_ = workspace
    name = table.split(".")[1]

    def change_key(document):
        config = document["resource"]["aws_dynamodb_table"][name]
        config["hash_key"] = "pk"
        config["attribute"] = [{"name": "pk", "type": "S"}]

    with _edited(terraform, change_key):
        result = review(_plan(terraform, "replace", targets=[table]))
    (change,) = [c for c in result.changes if c.address == table]
    assert change.action == "replace"
    # Which attribute forces it, and Terraform's reason.
    assert "`hash_key`" in change.note and "replace_because_cannot_update" in change.note
    assert AttributeChange("hash_key", '"id"', '"pk"') in change.attributes
    assert [(r.kind, r.address) for r in result.risks] == [("stateful", table)]


def test_iam_widening_names_the_actions_added(workspace, synth):
    terraform, _, policy, _ = workspace
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
    # The document is diffed by statement, not shown as one long string.
    (change,) = result.changes
    (statement,) = change.attributes
    assert statement.path == "policy statement ReadItems"
    assert "dynamodb:Scan" in statement.after and "dynamodb:Scan" not in statement.before


def test_exposure_and_tag_drift_are_flagged_and_fail_the_check(synth, emulator, provider, tmp_path, capsys):
    workdir = tmp_path / "stack"
    shutil.copytree(synth.stack_dir, workdir)
    terraform = Terraform(workdir, emulator.client_env(), provider)

    def expose(document):
        resources = document["resource"]
        for block in resources["aws_s3_bucket_public_access_block"].values():
            block["restrict_public_buckets"] = False
        for method in resources["aws_api_gateway_method"].values():
            method["api_key_required"] = False
        for permission in resources["aws_lambda_permission"].values():
            del permission["source_arn"]
        for distribution in resources["aws_cloudfront_distribution"].values():
            distribution["default_cache_behavior"]["viewer_protocol_policy"] = "allow-all"
        for policy in resources["aws_s3_bucket_policy"].values():
            policy["policy"] = json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}],
                }
            )
        document["provider"]["aws"][0]["default_tags"] = [{"tags": {"Environment": "Staging"}}]

    _edit(terraform, expose)
    terraform.init()
    plan = _plan(terraform, "exposed")
    result = review(plan)
    details = [r.detail for r in result.risks if r.kind == "exposure"]
    assert any("public access block relaxed: restrict_public_buckets" in d for d in details)
    assert any("a new `POST` method that needs neither an API key nor authorization" in d for d in details)
    assert any("allow-all" in d for d in details)
    assert any(d == "the policy allows principal `*` (anyone): `Open`" for d in details)
    assert any("invoke the function from any source (no `source_arn`)" in d for d in details)
    assert any(r.kind == "tags" and "`Environment=Staging`" in r.detail for r in result.risks)

    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    assert main([str(plan_file), "--fail-on-risk"]) == 2
    assert main([str(plan_file)]) == 0
    assert capsys.readouterr().out.startswith("## Terraform plan review")


def test_protection_switched_off_and_retention_shortened_are_flagged(workspace):
    terraform, table, _, log_group = workspace

    def weaken(document):
        config = document["resource"]["aws_dynamodb_table"][table.split(".")[1]]
        config["deletion_protection_enabled"] = False
        config["point_in_time_recovery"] = {"enabled": False}
        config["server_side_encryption"] = {"enabled": False}
        document["resource"]["aws_cloudwatch_log_group"][log_group.split(".")[1]]["retention_in_days"] = 7

    with _edited(terraform, weaken):
        config = json.loads((terraform.workdir / "cdk.tf.json").read_text())
        result = review(_as_untargeted(_plan(terraform, "weaken", targets=[table, log_group])), config=config)
    # This review is the example comment in docs/plan-review-example.md: rendered from this real plan, so it cannot go stale.
    example = EXAMPLE.read_text().split("<!-- example -->\n", 1)
    if os.environ.get("UPDATE_DOCS") == "1":
        EXAMPLE.write_text(f"{example[0]}<!-- example -->\n{result.markdown()}")
    else:
        assert example[1] == result.markdown(), "docs/plan-review-example.md is stale: UPDATE_DOCS=1 pytest -k protection_switched_off"
    details = {(r.kind, r.address, r.detail) for r in result.risks}
    assert ("protection", table, "deletion protection switched off: the table can now be destroyed") in details
    assert ("protection", table, "point-in-time recovery switched off: its backups are deleted") in details
    assert ("protection", table, "encryption with a KMS key switched off") in details
    assert ("protection", log_group, "log retention shortened from 30 to 7 days: older logs are deleted") in details


def test_a_renamed_construct_with_a_moved_block_is_a_move_not_a_replacement(workspace):
    terraform, table, *_ = workspace
    renamed = f"{table}_renamed"

    def rename(document):
        text = json.dumps(document).replace(f'"{table.split(".")[1]}"', f'"{renamed.split(".")[1]}"').replace(f"{table}.", f"{renamed}.")
        document.clear()
        document.update(json.loads(text))
        document["moved"] = [{"from": table, "to": renamed}]

    with _edited(terraform, rename):
        result = review(_plan(terraform, "moved", targets=[table, renamed]))
    (change,) = [c for c in result.changes if c.address == renamed]
    assert change.action == "move" and f"moved from `{table}`" in change.note
    assert result.counts["delete"] == result.counts["create"] == 0 and result.risks == []


def test_drift_outside_terraform_has_its_own_section(workspace, emulator):
    terraform, table, *_ = workspace
    dynamodb = emulator.client("dynamodb")
    name = _applied(terraform, table)["name"]
    dynamodb.update_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 11, "WriteCapacityUnits": 5})
    try:
        plan = _as_untargeted(_plan(terraform, "drift", targets=[table]))
        result = review(plan)
        (drifted,) = result.drift
        assert drifted.address == table
        assert AttributeChange("read_capacity", "5", "11") in drifted.attributes
        # The plan takes it back, as an ordinary update.
        (change,) = result.changes
        assert AttributeChange("read_capacity", "11", "5") in change.attributes
        markdown = result.markdown()
        assert "changed outside Terraform" in markdown.split("### Details")[0]
        plan_file = terraform.workdir / "drift.json"
        plan_file.write_text(json.dumps(plan))
        assert main([str(plan_file), "--format", "drift"]) == 0
        assert main([str(plan_file), "--format", "drift", "--fail-on-drift"]) == 3
    finally:
        dynamodb.update_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})


def test_a_plan_terraform_could_not_finish_reads_as_failed_never_as_no_changes(workspace, capsys):
    """A real errored plan: another deployment planned against this state (the deployment guard
    stops it; the plan targets the guard to stay fast), saved by `terraform plan -out` as
    Terraform saves an errored plan, with its output as the log."""
    terraform, *_ = workspace
    owner = [address for address in terraform.state_resources() if address.startswith("terraform_data.")]
    other = Terraform.var_args({**VALID_INPUTS, "ResourcePrefix": "someone-else"})
    args = ("plan", "-input=false", "-no-color", "-out=failed.plan", *other, *(f"-target={a}" for a in owner))
    planned = terraform.run(*args, check=False)
    assert planned.returncode == 1
    log = terraform.workdir / "plan.log"
    log.write_text(planned.stdout + planned.stderr)
    plan_file = terraform.workdir / "failed.json"
    plan_file.write_text(terraform.run("show", "-json", "failed.plan").stdout)
    assert json.loads(plan_file.read_text())["errored"] is True
    for argv in ([], ["--fail-on-risk"]):
        assert main([str(plan_file), "--log", str(log), *argv]) == 4
        markdown = capsys.readouterr().out
        assert markdown.startswith("## Terraform plan review\n\n### :x: The plan failed: Terraform stopped with errors")
        assert 'This state belongs to deployment "dataproc" of stack data-processing, not' in markdown
        for claim in ("No risks flagged", "0 to change", "No changes", "### Changes"):
            assert claim not in markdown
    assert main([str(plan_file), "--log", str(log), "--format", "drift", "--fail-on-drift"]) == 4
    assert capsys.readouterr().out.startswith("Drift could not be judged.")
    assert main([str(plan_file), "--format", "json"]) == 4
    assert json.loads(capsys.readouterr().out)["failure"].startswith("Terraform stopped with errors")


def test_a_plan_that_was_never_written_is_a_failed_plan_with_terraforms_errors(tmp_path, capsys):
    log = tmp_path / "plan.log"
    log.write_text(
        'Initializing the backend...\n\x1b[31mError: Failed to get existing workspaces: S3 bucket "acme" does not exist.\x1b[0m\n'
    )
    for plan in (tmp_path / "missing.json", _empty(tmp_path / "empty.json"), _text(tmp_path / "not-json.json", "Error: no plan")):
        assert main([str(plan), "--log", str(log)]) == 4
        markdown = capsys.readouterr().out
        assert "### :x: The plan failed: Terraform wrote no plan" in markdown
        assert 'Error: Failed to get existing workspaces: S3 bucket "acme" does not exist.' in markdown and "\x1b" not in markdown
    assert main([str(tmp_path / "missing.json")]) == 4
    assert "Terraform's errors are in the plan step of the job log." in capsys.readouterr().out


def _empty(path):
    path.write_text("")
    return path


def _text(path, text):
    path.write_text(text)
    return path


def test_a_failed_plan_command_or_a_state_is_never_reviewed_as_a_plan(tmp_path, capsys):
    """A plan file left from an earlier run beside a failed plan command, and a state shown in
    place of a plan (`terraform show -json` without a plan file), are failed plans too."""
    clean = _plan_file(tmp_path / "clean.json", {"complete": True, "applyable": False, "resource_changes": []})
    assert main([str(clean)]) == 0 and "No changes." in capsys.readouterr().out
    assert main([str(clean), "--plan-exit-code", "1"]) == 4
    assert "### :x: The plan failed: `terraform plan` exited with 1" in capsys.readouterr().out
    state = _text(tmp_path / "state.json", json.dumps({"format_version": "1.0", "terraform_version": "1.11.4", "values": {}}))
    assert main([str(state)]) == 4 and "Terraform wrote no plan" in capsys.readouterr().out


def test_incomplete_and_unapplyable_plans_are_failed_plans_and_no_changes_is_not(tmp_path, capsys):
    create = _hand("aws_sns_topic", ["create"], None, {"name": "t"})
    cases = {
        "incomplete": ({"complete": False, "resource_changes": [create]}, "the plan is incomplete"),
        "not applyable": (
            {"complete": True, "applyable": False, "resource_changes": [create]},
            "Terraform marked the plan as not applyable",
        ),
    }
    for name, (fragment, reason) in cases.items():
        assert main([str(_plan_file(tmp_path / f"{name}.json", fragment))]) == 4, name
        out = capsys.readouterr().out
        assert f"### :x: The plan failed: {reason}" in out and "1 to create" in out and "### Changes" not in out, name
    # Terraform marks a plan with nothing to do as not applyable: that one reads as no changes.
    nothing = {"complete": True, "applyable": False, "errored": False, "resource_changes": [_hand("aws_sns_topic", ["no-op"], {}, {})]}
    assert main([str(_plan_file(tmp_path / "nothing.json", nothing))]) == 0
    assert "No changes." in capsys.readouterr().out


def test_terraforms_errors_cannot_close_the_quote_or_add_markdown(tmp_path, capsys):
    log = _text(tmp_path / "plan.log", "Error: bad\n````\n# Approved\n[click](https://evil.example)\n")
    assert main([str(tmp_path / "missing.json"), "--log", str(log)]) == 4
    markdown = capsys.readouterr().out
    fence = "`````"
    assert f"{fence}text\nError: bad\n````\n# Approved\n[click](https://evil.example)\n{fence}" in markdown


# ---- the attribute diff on hand-made fragments ------------------------------------------------


def _hand(resource_type, actions, before, after, **extra):
    """A hand-made planned change; `extra` joins its `change` (after_unknown, *_sensitive, importing)."""
    return {
        "address": f"{resource_type}.x",
        "type": resource_type,
        "mode": "managed",
        "change": {"actions": actions, "before": before, "after": after, **extra},
    }


def _change(before, after, **extra):
    return _hand("aws_x", ["update"], before, after, **extra)


def _policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_nested_blocks_are_diffed_by_path():
    before = {"rule": [{"id": "a", "expiration": [{"days": 30}]}]}
    after = {"rule": [{"id": "a", "expiration": [{"days": 7}]}]}
    assert attribute_changes(_change(before, after)) == [AttributeChange("rule.0.expiration.0.days", "30", "7")]


def test_sensitive_values_are_masked_and_unknown_ones_named():
    change = _change(
        {"password": "old", "arn": "arn:1", "nested": [{"secret": "s1", "plain": 1}]},
        {"password": "new", "nested": [{"secret": "s2", "plain": 2}]},
        before_sensitive={"password": True, "nested": [{"secret": True}]},
        after_sensitive={"password": True, "nested": [{"secret": True}]},
        after_unknown={"arn": True},
    )
    shown = {a.path: (a.before, a.after) for a in attribute_changes(change)}
    assert shown == {
        "arn": ('"arn:1"', "(known after apply)"),
        "nested.0.plain": ("1", "2"),
        "nested.0.secret": ("(sensitive)", "(sensitive), changed"),
        "password": ("(sensitive)", "(sensitive), changed"),
    }
    assert "old" not in json.dumps(shown) and "s2" not in json.dumps(shown)


def test_a_sensitive_change_is_shown_as_changed_without_its_values():
    change = _change({"token": "a"}, {"token": "b"}, before_sensitive={"token": True}, after_sensitive={"token": True})
    assert attribute_changes(change) == [AttributeChange("token", "(sensitive)", "(sensitive), changed")]


def test_policy_documents_are_diffed_by_statement():
    read = {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    write = {"Sid": "Write", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}
    changes = attribute_changes(_change({"policy": _policy(read)}, {"policy": _policy(read, write)}))
    assert [(c.path, c.before) for c in changes] == [("policy statement Write", "(none)")]
    assert '"s3:PutObject"' in changes[0].after


def test_imports_and_forgets_are_shown_as_such():
    imported = _hand("aws_x", ["no-op"], {}, {}, importing={"id": "t-1"})
    forgotten = _hand("aws_y", ["forget"], {"n": 1}, None)
    result = review({"resource_changes": [imported, forgotten]})
    assert [(c.action, c.note) for c in result.changes] == [
        ("import", "imported (id `t-1`)"),
        ("forget", "removed from state only: the real resource stays"),
    ]
    assert result.counts["delete"] == 0 and result.risks == []


def test_the_comment_fits_githubs_limit_with_risks_and_summary_kept(tmp_path, capsys):
    big = [_change({"v": "x" * 50}, {"v": "y" * 50}) | {"address": f"aws_iam_policy.p{i}", "type": "aws_iam_policy"} for i in range(3000)]
    result = review({"resource_changes": big})
    markdown = result.markdown()
    assert len(markdown) <= GITHUB_COMMENT_LIMIT
    assert "### Changes" in markdown and "left out to fit GitHub's comment limit" in markdown
    plan = tmp_path / "plan.json"
    _plan_file(plan, {"resource_changes": big[:2]})
    assert main([str(plan), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"failure", "errors", "risks", "counts", "changes", "drift", "cost"} and len(document["changes"]) == 2
    assert (document["failure"], document["errors"]) == (None, [])


def test_weakened_bucket_protection_encryption_and_alerting_are_flagged(workspace, synth):
    terraform, *_ = workspace
    versioning, lock, encryption = _bucket_settings(synth)
    topic, alarm = _alerting(synth)
    targets = [versioning, lock, encryption, topic, alarm]

    def weaken(document):
        resources = document["resource"]
        resources["aws_s3_bucket_versioning"][versioning.split(".")[1]]["versioning_configuration"]["status"] = "Suspended"
        del resources["aws_s3_bucket_object_lock_configuration"][lock.split(".")[1]]
        if not resources["aws_s3_bucket_object_lock_configuration"]:
            del resources["aws_s3_bucket_object_lock_configuration"]
        (rule,) = resources["aws_s3_bucket_server_side_encryption_configuration"][encryption.split(".")[1]]["rule"]
        rule["apply_server_side_encryption_by_default"]["sse_algorithm"] = "aws:kms"
        del resources["aws_sns_topic"][topic.split(".")[1]]["kms_master_key_id"]
        resources["aws_cloudwatch_metric_alarm"][alarm.split(".")[1]]["alarm_actions"] = []
        resources["aws_cloudwatch_metric_alarm"][alarm.split(".")[1]]["actions_enabled"] = False

    with _edited(terraform, weaken):
        result = review(_plan(terraform, "weaken-buckets", targets=targets))
    flagged = {(r.kind, r.address): r.detail for r in result.risks}
    assert flagged[("protection", versioning)] == "versioning suspended: overwritten objects are lost"
    assert flagged[("protection", lock)] == "Object Lock default retention removed: new objects can be deleted at once"
    assert flagged[("protection", encryption)].startswith("default encryption changed from `AES256` to `aws:kms`")
    assert flagged[("protection", topic)] == "encryption with the customer-managed key removed"
    alerting = [r.detail for r in result.risks if (r.kind, r.address) == ("alerting", alarm)]
    assert alerting[0].startswith("alarm actions removed: `arn:aws:sns:us-east-1:123456789012:")
    assert alerting[1] == "alarm actions disabled (`actions_enabled = false`)"


def test_flags_on_hand_made_changes():
    result = review(
        {
            "resource_changes": [
                _hand("aws_lambda_permission", ["create"], None, {"principal": "apigateway.amazonaws.com"}),
                _hand(
                    "aws_lambda_permission", ["create"], None, {"principal": "apigateway.amazonaws.com"}, after_unknown={"source_arn": True}
                ),
                _hand("aws_wafv2_web_acl_association", ["delete"], {"web_acl_arn": "arn:acl"}, None),
                _hand("aws_cloudfront_distribution", ["update"], {"web_acl_id": "arn:acl"}, {"web_acl_id": None}),
                _hand("aws_kms_key", ["delete"], {"deletion_window_in_days": 30}, None),
                _hand("aws_cloudwatch_metric_alarm", ["delete"], {"alarm_name": "errors"}, None),
            ]
        }
    )
    assert [(r.kind, r.address, r.detail) for r in result.risks] == [
        ("exposure", "aws_lambda_permission.x", "lets `apigateway.amazonaws.com` invoke the function from any source (no `source_arn`)"),
        ("exposure", "aws_wafv2_web_acl_association.x", "a WAF web ACL is removed from the resource it protected"),
        ("exposure", "aws_cloudfront_distribution.x", "the distribution's WAF web ACL is removed"),
        (
            "stateful",
            "aws_kms_key.x",
            "delete of a stateful aws_kms_key: its data goes with it; "
            "the key is scheduled for deletion in 30 days, and what it encrypted becomes unreadable",
        ),
        ("alerting", "aws_cloudwatch_metric_alarm.x", "alarm `errors` is deleted: nobody hears of that failure"),
    ]


def test_iam_widening_beyond_actions_is_flagged():
    read = {"Sid": "Read", "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "arn:aws:dynamodb:us-east-1:1:table/t"}
    deny = {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
    cases = {
        "resource widened": ({**read, "Resource": "*"}, "allow `Read`: on `*`"),
        "NotAction": ({"Sid": "Read", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, "allow `Read`: every action but `iam:*`"),
        "condition removed": ({**read, "Condition": {}}, None),
    }
    for name, (statement, expected) in cases.items():
        (risk,) = review(
            {"resource_changes": [_hand("aws_iam_policy", ["update"], {"policy": _policy(read)}, {"policy": _policy(statement)})]}
        ).risks
        if expected:
            assert expected in risk.detail, (name, risk.detail)
    (risk,) = review(
        {"resource_changes": [_hand("aws_iam_policy", ["update"], {"policy": _policy(read, deny)}, {"policy": _policy(read)})]}
    ).risks
    assert risk.detail == "update: deny `NoDelete` removed"
    trust = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    opened = {**trust, "Principal": {"AWS": "*"}}
    risks = review(
        {
            "resource_changes": [
                _hand("aws_iam_role", ["update"], {"assume_role_policy": _policy(trust)}, {"assume_role_policy": _policy(opened)})
            ]
        }
    ).risks
    assert [(r.kind, r.detail) for r in risks] == [
        ("iam", "update: allow `#0`: to `AWS:*` (anyone)"),
        ("exposure", "the assume_role_policy allows principal `*` (anyone): `#0`"),
    ]
    (risk,) = review(
        {
            "resource_changes": [
                _hand("aws_iam_role_policy_attachment", ["create"], None, {"policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"})
            ]
        }
    ).risks
    assert risk.detail == "create of a policy attachment (`arn:aws:iam::aws:policy/AdministratorAccess`)"
    (risk,) = review({"resource_changes": [_hand("aws_iam_policy", ["create"], None, {}, after_unknown={"policy": True})]}).risks
    assert risk.detail == "create: the policy is known only after apply"


def test_risks_never_quote_sensitive_values():
    secret_policy = _policy({"Sid": "SecretSid", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
    changes = [
        _hand("aws_iam_policy", ["update"], {"policy": _policy()}, {"policy": secret_policy}, after_sensitive={"policy": True}),
        _hand(
            "aws_s3_bucket_policy",
            ["update"],
            {"policy": _policy()},
            {
                "policy": secret_policy.replace("secretsmanager:GetSecretValue", "s3:GetObject").replace(
                    '"Resource"', '"Principal": "*", "Resource"'
                )
            },
            after_sensitive={"policy": True},
        ),
        _hand(
            "aws_sns_topic",
            ["create"],
            None,
            {"tags_all": {"Environment": "hunter2-token"}},
            after_sensitive={"tags_all": {"Environment": True}},
        ),
        _hand(
            "aws_lambda_function",
            ["update"],
            {"environment": [{"variables": {"STRIPE_KEY": "sk_live_1"}}]},
            {"environment": [{"variables": {"STRIPE_KEY": "sk_live_2"}}]},
            before_sensitive={"environment": [{"variables": True}]},
            after_sensitive={"environment": [{"variables": True}]},
        ),
    ]
    result = review({"resource_changes": changes})
    text = result.markdown() + json.dumps(result.to_json())
    for secret in ("GetSecretValue", "SecretSid", "hunter2", "sk_live", "STRIPE_KEY"):
        assert secret not in text, secret
    assert any(r.detail == "update: the policy is sensitive, so its change is not shown" for r in result.risks)


def test_protection_flags_on_hand_made_changes():
    cases = [
        (
            _hand(
                "aws_dynamodb_table",
                ["update"],
                {"server_side_encryption": [{"enabled": True}]},
                {"server_side_encryption": [{"enabled": False}]},
            ),
            "encryption with a KMS key switched off",
        ),
        (
            _hand(
                "aws_s3_bucket_object_lock_configuration",
                ["update"],
                {"rule": [{"default_retention": [{"mode": "GOVERNANCE", "days": 30}]}]},
                {"rule": [{"default_retention": [{"mode": "GOVERNANCE", "days": 1}]}]},
            ),
            "Object Lock default retention shortened from 30 days to 1 days",
        ),
        (
            _hand(
                "aws_s3_bucket_object_lock_configuration",
                ["update"],
                {"rule": [{"default_retention": [{"mode": "COMPLIANCE", "days": 1}]}]},
                {"rule": [{"default_retention": [{"mode": "GOVERNANCE", "days": 1}]}]},
            ),
            "Object Lock mode COMPLIANCE → GOVERNANCE: privileged users can now delete retained objects",
        ),
        (
            _hand("aws_s3_bucket_versioning", ["delete"], {"versioning_configuration": [{"status": "Enabled"}]}, None),
            "versioning removed: overwritten objects are lost",
        ),
        (_hand("aws_s3_bucket_server_side_encryption_configuration", ["delete"], {"rule": []}, None), "default encryption removed"),
        (
            _hand(
                "aws_cloudwatch_metric_alarm",
                ["update"],
                {"actions_enabled": True, "alarm_actions": ["a"]},
                {"actions_enabled": False, "alarm_actions": ["a"]},
            ),
            "alarm actions disabled (`actions_enabled = false`)",
        ),
        (
            _hand(
                "aws_wafv2_web_acl",
                ["update"],
                {"rule": [{"name": "Common", "override_action": [{"none": [{}]}]}]},
                {"rule": [{"name": "Common", "override_action": [{"count": [{}]}]}]},
            ),
            "WAF rules no longer block: `Common`",
        ),
        (
            _hand(
                "aws_wafv2_web_acl",
                ["update"],
                {"default_action": [{"allow": [], "block": [{}]}]},
                {"default_action": [{"allow": [{}], "block": []}]},
            ),
            "the web ACL's default action changes from block to allow",
        ),
    ]
    for change, expected in cases:
        assert [r.detail for r in review({"resource_changes": [change]}).risks] == [expected]
    # No false alarms: an unchanged false flag, a method created with a key, a replacement by request.
    quiet = [
        _hand(
            "aws_s3_bucket_public_access_block",
            ["update"],
            {"block_public_acls": False, "ignore_public_acls": True},
            {"block_public_acls": False, "ignore_public_acls": True},
        ),
        _hand("aws_api_gateway_method", ["create"], None, {"api_key_required": True, "authorization": "NONE", "http_method": "POST"}),
    ]
    assert review({"resource_changes": quiet}).risks == []
    replaced = _hand("aws_sns_topic", ["delete", "create"], {"name": "a"}, {"name": "a"}) | {"action_reason": "replace_by_request"}
    (change,) = review({"resource_changes": [replaced]}).changes
    assert change.note.startswith("replaced because it was asked for")


def test_long_values_show_where_they_differ_and_unknown_keys_appear():
    change = _hand(
        "aws_lambda_function",
        ["update"],
        {"environment": [{"variables": {"A": "x" * 200 + "A"}}]},
        {"environment": [{"variables": {"A": "x" * 200 + "B", "CDN": None}}]},
        after_unknown={"environment": [{"variables": {"CDN": True}}]},
    )
    rows = {a.path: (a.before, a.after) for a in attribute_changes(change)}
    assert rows["environment.0.variables.A"][0] != rows["environment.0.variables.A"][1]
    assert rows["environment.0.variables.A"][1].endswith('B"')
    assert rows["environment.0.variables.CDN"] == ("null", "(known after apply)")


def test_markup_in_values_cannot_break_the_comment():
    change = _hand("aws_cloudwatch_metric_alarm", ["delete"], {"alarm_name": "x\n</details>\n# @team"}, None) | {
        "address": 'aws_x.y["</summary><h1>"]'
    }
    markdown = review({"resource_changes": [change]}).markdown()
    # The address is HTML-escaped in the <summary>, and only ever raw inside a code span, as the
    # alarm's name is (GitHub neither renders nor notifies @mentions inside code spans).
    assert "<code>aws_x.y[&quot;&lt;/summary&gt;&lt;h1&gt;&quot;]</code>" in markdown
    assert markdown.count("</summary><h1>") == markdown.count('`aws_x.y["</summary><h1>"]`') == 1
    assert "`x </details> # @team`" in markdown and "\n</details>\n#" not in markdown
    assert "@team" not in re.sub(r"`[^`\n]*`", "", markdown)


def test_key_deletion_and_removed_encryption_are_flagged(workspace, synth):
    terraform, _, _, log_group = workspace
    key_name = synth.name_at("key/key")
    key = f"aws_kms_key.{key_name}"

    def drop_the_key(document):
        for resources in document["resource"].values():
            for config in resources.values():
                for attribute in ("kms_key_id", "kms_master_key_id", "kms_key_arn"):
                    config.pop(attribute, None)
        del document["resource"]["aws_kms_key"]
        document["resource"].pop("aws_kms_alias", None)

    with _edited(terraform, drop_the_key):
        result = review(_plan(terraform, "drop-key", targets=[key, log_group]))
    flagged = {(r.kind, r.address): r.detail for r in result.risks}
    assert "the key is scheduled for deletion in 30 days" in flagged[("stateful", key)]
    assert flagged[("protection", log_group)] == "encryption with the customer-managed key removed"


def test_imports_and_forgets_on_real_plans(workspace, emulator):
    terraform, *_ = workspace
    sns = emulator.client("sns")
    arn = sns.create_topic(Name="dataproc-adopted")["TopicArn"]

    def adopt(document):
        document["resource"].setdefault("aws_sns_topic", {})["adopted"] = {"name": "dataproc-adopted"}
        document["import"] = [{"to": "aws_sns_topic.adopted", "id": arn}]

    with _edited(terraform, adopt):
        result = review(_plan(terraform, "import", targets=["aws_sns_topic.adopted"]))
    (change,) = result.changes
    assert change.address == "aws_sns_topic.adopted" and f"imported (id `{arn}`)" in change.note
    assert result.counts["create"] == 0

    def keep(document):
        document["resource"].setdefault("aws_sns_topic", {})["kept"] = {"name": "dataproc-kept"}

    with _edited(terraform, keep):
        terraform.apply(VALID_INPUTS, targets=["aws_sns_topic.kept"])

    def forget(document):
        document["removed"] = [{"from": "aws_sns_topic.kept", "lifecycle": {"destroy": False}}]

    with _edited(terraform, forget):
        result = review(_plan(terraform, "forget", targets=["aws_sns_topic.kept"]))
    (change,) = result.changes
    assert (change.action, change.address) == ("forget", "aws_sns_topic.kept")
    assert result.counts["delete"] == 0 and result.risks == []


def test_waf_rules_that_stop_blocking_are_flagged(synth, emulator, provider, tmp_path):
    acl = _regional_acl(synth)
    terraform = _cut_copy(synth, emulator, provider, tmp_path, [acl])
    terraform.apply(VALID_INPUTS)

    def count_only(document):
        for rule in document["resource"]["aws_wafv2_web_acl"][acl.split(".")[1]]["rule"]:
            if rule["name"] == "AWSManagedRulesKnownBadInputsRuleSet":
                rule["override_action"] = {"count": {}}

    with _edited(terraform, count_only):
        result = review(_plan(terraform, "waf-count"))
    assert [(r.kind, r.address, r.detail) for r in result.risks] == [
        ("exposure", acl, "WAF rules no longer block: `AWSManagedRulesKnownBadInputsRuleSet`")
    ]


def test_key_rotation_is_summed_as_the_cost_of_aged_keys(tmp_path, capsys):
    rotating = _hand("aws_kms_key", ["create"], None, {"enable_key_rotation": True})
    static = _hand("aws_kms_key", ["delete"], {"enable_key_rotation": False}, None) | {"address": "aws_kms_key.old"}
    cost = review({"resource_changes": [rotating, static]}).cost
    key, rotation = PRICING["fixed"]["kms_key"]["usd"], PRICING["fixed"]["kms_key_rotation"]["usd"]
    assert (cost.before, cost.after, cost.later_before, cost.later_after) == (key, key, 0, 2 * rotation)
    plan = tmp_path / "plan.json"
    _plan_file(plan, {"resource_changes": [rotating, static]})
    assert main([str(plan), "--format", "json"]) == 0
    cost = json.loads(capsys.readouterr().out)["cost"]
    assert {k: cost[k] for k in ("monthly_before", "monthly_after", "monthly_before_aged", "monthly_after_aged")} == {
        "monthly_before": key,
        "monthly_after": key,
        "monthly_before_aged": key,
        "monthly_after_aged": key + 2 * rotation,
    }


# ---- judged by what happens, resource policies, fitting the limit, escaping, odd plans -------


def _risks(*changes):
    return [(r.kind, r.detail) for r in review({"resource_changes": list(changes)}).risks]


def test_moved_or_imported_resources_that_update_are_judged_as_updates():
    read = {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    widening = (
        "aws_iam_policy",
        ["update"],
        {"policy": _policy(read)},
        {"policy": _policy({**read, "Action": ["s3:GetObject", "s3:PutObject"]})},
    )
    unprotecting = ("aws_dynamodb_table", ["update"], {"deletion_protection_enabled": True}, {"deletion_protection_enabled": False})
    for outer, inner, action in (
        ({"previous_address": "aws_x.old"}, {}, "move+update"),
        ({}, {"importing": {"id": "i-1"}}, "import+update"),
    ):
        policy, table = (_hand(*change, **inner) | outer for change in (widening, unprotecting))
        assert action_of(policy) == action_of(table) == action
        assert _risks(policy) == [("iam", "update: allow `Read`: added `s3:PutObject`")]
        assert _risks(table) == [("protection", "deletion protection switched off: the table can now be destroyed")]


def test_resource_policies_are_diffed_by_statement():
    tls = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::b/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    cdn = {
        "Sid": "CdnReads",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*",
    }
    partner = {**cdn, "Sid": "PartnerReads", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}}
    bucket = _hand("aws_s3_bucket_policy", ["update"], {"policy": _policy(cdn, tls)}, {"policy": _policy(cdn, partner)})
    assert _risks(bucket) == [
        (
            "iam",
            "update: allow `PartnerReads`: added `s3:GetObject`; on `arn:aws:s3:::b/*`; "
            "to `AWS:arn:aws:iam::999999999999:root`; deny `DenyInsecureTransport` removed",
        )
    ]
    # Deleting the policy takes its Deny (and what it allowed) with it.
    assert _risks(_hand("aws_s3_bucket_policy", ["delete"], {"policy": _policy(cdn, tls)}, None)) == [
        ("iam", "delete: deny `DenyInsecureTransport` removed; removed `s3:GetObject`")
    ]
    admin = {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"}
    shared = {**admin, "Principal": {"AWS": ["arn:aws:iam::123456789012:root", "arn:aws:iam::999999999999:root"]}}
    assert _risks(_hand("aws_kms_key", ["update"], {"policy": _policy(admin)}, {"policy": _policy(shared)})) == [
        ("iam", "update: allow `Admin`: to `AWS:arn:aws:iam::999999999999:root`")
    ]
    publish = {
        "Sid": "Alarms",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": "arn:aws:sns:us-east-1:1:t",
    }
    opened = {**publish, "Principal": {"AWS": "*"}}
    for resource_type in ("aws_sns_topic_policy", "aws_sqs_queue_policy", "aws_sns_topic", "aws_sqs_queue"):
        assert _risks(_hand(resource_type, ["update"], {"policy": _policy(publish)}, {"policy": _policy(opened)})) == [
            ("iam", "update: allow `Alarms`: to `AWS:*` (anyone)"),
            ("exposure", "the policy allows principal `*` (anyone): `Alarms`"),
        ], resource_type
    # A policy AWS computes when none is set is no grant while unknown; a policy resource's is.
    assert _risks(_hand("aws_sqs_queue", ["create"], None, {}, after_unknown={"policy": True})) == []
    assert _risks(_hand("aws_sqs_queue_policy", ["create"], None, {}, after_unknown={"policy": True})) == [
        ("iam", "create: the policy is known only after apply")
    ]
    # A Lambda function's resource policy: a permission for anyone or another account.
    for principal, who in (("*", "anyone"), ("999999999999", "account")):
        permission = _hand(
            "aws_lambda_permission", ["create"], None, {"principal": principal, "source_arn": "arn:aws:execute-api:us-east-1:1:api/*"}
        )
        assert _risks(permission) == [("exposure", f"lets {who} `{principal}` invoke the function")]


def test_the_risk_list_is_shortened_until_the_comment_fits(tmp_path, capsys):
    """80 new policies of 40 actions each made an 82,317-character comment with `--limit 65000`."""
    changes = [
        _hand(
            "aws_iam_policy",
            ["create"],
            None,
            {"policy": _policy({"Effect": "Allow", "Action": [f"dynamodb:Operation{j}" for j in range(40)], "Resource": "*"})},
        )
        | {"address": f"aws_iam_policy.p{i}"}
        for i in range(80)
    ]
    plan = tmp_path / "plan.json"
    _plan_file(plan, {"resource_changes": changes})
    shown = {}
    for limit in (65_000, 10_000):
        assert main([str(plan), "--limit", str(limit)]) == 0
        shown[limit] = capsys.readouterr().out
        assert len(shown[limit]) <= limit
        assert "### :warning: 80 risk(s): 80 iam" in shown[limit] and "### Changes" in shown[limit] and "### Cost" in shown[limit]
    # Each risk names 10 of its actions and counts the rest.
    assert shown[65_000].count("\n- **iam**") == 80 and "`dynamodb:Operation17` and 30 more; on `*`" in shown[65_000]
    # With less room, fewer risks are listed and the rest counted.
    listed = shown[10_000].count("\n- **iam**")
    assert 0 < listed < 80 and f"- …and {80 - listed} more, not listed to fit the comment" in shown[10_000]


def test_missed_protection_alerting_and_waf_weakenings_are_flagged():
    def lock(**retention):
        return {"rule": [{"default_retention": [{"mode": "GOVERNANCE", "days": None, "years": None, **retention}]}]}

    def table_key(key):
        return {"server_side_encryption": [{"enabled": True, "kms_key_arn": key}]}

    def bucket_key(key):
        return {"rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "aws:kms", "kms_master_key_id": key}]}]}

    stops = {"name": "Embargo", "action": [{"allow": [], "block": [{}], "count": []}], "override_action": []}
    lets_through = {**stops, "action": [{"allow": [{}], "block": [], "count": []}]}

    def managed(*overrides):
        return {
            "name": "Common",
            "action": [],
            "override_action": [{"count": [], "none": [{}]}],
            "statement": [
                {"managed_rule_group_statement": [{"name": "AWSManagedRulesCommonRuleSet", "rule_action_override": list(overrides)}]}
            ],
        }

    counted = {"name": "SizeRestrictions_BODY", "action_to_use": [{"allow": [], "count": [{}]}]}
    key_changed = "key changed from `k1` to `k2`: readers need the new key, and what the old one encrypted needs it kept"
    cases = [
        (
            _hand("aws_cloudwatch_log_group", ["update"], {"retention_in_days": 0}, {"retention_in_days": 7}),
            ["log retention shortened from never expiring to 7 days: older logs are deleted"],
        ),
        (
            _hand("aws_s3_bucket_object_lock_configuration", ["update"], lock(years=10), lock(days=1)),
            ["Object Lock default retention shortened from 10 years to 1 days"],
        ),
        (
            _hand(
                "aws_cloudwatch_metric_alarm",
                ["delete", "create"],
                {"alarm_actions": ["arn:t"], "ok_actions": ["arn:t"]},
                {"alarm_actions": [], "ok_actions": []},
            ),
            ["alarm actions removed: `arn:t`", "OK actions removed: `arn:t`"],
        ),
        (
            _hand("aws_dynamodb_table", ["update"], table_key("k1"), {"server_side_encryption": []}),
            ["encryption with a KMS key switched off"],
        ),
        (_hand("aws_dynamodb_table", ["update"], table_key("k1"), table_key("k2")), [f"the table's encryption {key_changed}"]),
        (
            _hand("aws_s3_bucket_server_side_encryption_configuration", ["update"], bucket_key("k1"), bucket_key("k2")),
            [f"default encryption {key_changed}"],
        ),
        (
            _hand("aws_cloudwatch_log_group", ["update"], {"kms_key_id": "k1"}, {"kms_key_id": "k2"}),
            [f"the customer-managed {key_changed}"],
        ),
        (_hand("aws_wafv2_web_acl", ["update"], {"rule": [stops]}, {"rule": [lets_through]}), ["WAF rules no longer block: `Embargo`"]),
        (
            _hand("aws_wafv2_web_acl", ["update"], {"rule": [managed()]}, {"rule": [managed(counted)]}),
            ["WAF rules no longer block: `Common/SizeRestrictions_BODY`"],
        ),
        (
            _hand("aws_s3_bucket", ["update"], {"force_destroy": False}, {"force_destroy": True}),
            ["`force_destroy` switched on: destroying the bucket now deletes every object in it"],
        ),
        (
            _hand("aws_lambda_function", ["update"], {"kms_key_arn": "k1"}, {"kms_key_arn": None}),
            ["encryption with the customer-managed key removed"],
        ),
    ]
    for change, expected in cases:
        assert [detail for _, detail in _risks(change)] == expected, change


def test_values_quoted_in_risks_cannot_add_markdown():
    link, image = "[Security approved these risks](https://evil.example/x)", "![ok](https://evil.example/i.png)"
    changes = [
        _hand(
            "aws_iam_policy",
            ["update"],
            {"policy": _policy()},
            {"policy": _policy({"Sid": link, "Effect": "Allow", "Action": image, "Resource": f"`{link}`"})},
        ),
        _hand("aws_cloudwatch_metric_alarm", ["delete"], {"alarm_name": image}, None),
        _hand("aws_lambda_permission", ["create"], None, {"principal": link}),
        _hand("aws_s3_bucket_versioning", ["update"], {}, {"versioning_configuration": [{"status": "Suspended"}]})
        | {"address": f'aws_x.y["{link}"]'},
        _hand("aws_x", [link], {}, {}),  # free text, outside code spans, is escaped too
    ]
    markdown = review({"resource_changes": changes}).markdown()
    lines = [line for line in markdown.splitlines() if line.startswith("- **")]
    assert len(lines) == 5
    for line in lines:
        outside = re.sub(r"`[^`]*`", "", line)
        assert "evil.example" not in outside and "](" not in outside and "`" not in outside, line
    (summary,) = [line for line in markdown.splitlines() if line.startswith("**1 to create")]
    assert not re.search(r"(?<!\\)[\[\]!]", summary), summary


def test_unchanged_states_and_narrowings_are_not_worded_as_weakenings():
    suspended = {"versioning_configuration": [{"status": "Suspended"}]}
    assert (
        _risks(
            _hand(
                "aws_s3_bucket_versioning",
                ["update"],
                {**suspended, "expected_bucket_owner": ""},
                {**suspended, "expected_bucket_owner": "1"},
            )
        )
        == []
    )
    broad = {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    narrow = {**broad, "Resource": "arn:aws:s3:::b/*"}
    assert _risks(_hand("aws_iam_policy", ["update"], {"policy": _policy(broad)}, {"policy": _policy(narrow)})) == [
        ("iam", "update: allow `Read` narrowed: Resource now `arn:aws:s3:::b/*`")
    ]
    deny = {"Sid": "NoDelete", "Effect": "Deny", "Action": ["s3:DeleteObject", "s3:DeleteBucket"], "Resource": "*"}
    for changed, keys in (
        ({**deny, "Action": "s3:DeleteBucket"}, "Action"),
        ({**deny, "Condition": {"StringEquals": {"aws:PrincipalTag/team": "data"}}}, "Condition"),
    ):
        assert _risks(_hand("aws_iam_policy", ["update"], {"policy": _policy(deny)}, {"policy": _policy(changed)})) == [
            ("iam", f"update: deny `NoDelete` changed ({keys})")
        ]


def test_whole_object_marks_and_malformed_sids_do_not_crash():
    statement = {"Sid": ["a", "b"], "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    behaviors = {
        "default_cache_behavior": [{"viewer_protocol_policy": "allow-all"}],
        "rule": [{"name": "r", "action": [{"block": [{}]}]}],
        "alarm_actions": ["a"],
    }
    changes = [
        _hand("aws_iam_policy", ["update"], {"policy": _policy()}, {"policy": _policy(statement)}, after_sensitive=True)
        | {"address": "aws_iam_policy.hidden"},
        *(
            _hand(t, ["update"], behaviors, behaviors, before_sensitive=True, after_sensitive=True)
            for t in ("aws_cloudfront_distribution", "aws_wafv2_web_acl", "aws_cloudwatch_metric_alarm")
        ),
        _hand("aws_cloudwatch_metric_alarm", ["update"], behaviors, {}, after_unknown=True)
        | {"address": "aws_cloudwatch_metric_alarm.unknown"},
        _hand(
            "aws_iam_policy",
            ["update"],
            {"policy": _policy(statement)},
            {"policy": _policy({**statement, "Action": ["s3:GetObject", "s3:PutObject"]})},
        ),
    ]
    result = review({"resource_changes": changes})
    assert [(r.address, r.detail) for r in result.risks] == [
        ("aws_iam_policy.hidden", "update: the policy is sensitive, so its change is not shown"),
        ("aws_iam_policy.x", "update: allow `#0`: added `s3:PutObject`"),
    ]
    assert "(known after apply)" in result.markdown() and json.dumps(result.to_json())


def test_deleting_a_deposed_stateful_object_is_flagged():
    deposed = _hand("aws_dynamodb_table", ["delete"], {"name": "items"}, None) | {"deposed": "a1b2c3d4"}
    assert _risks(deposed) == [("stateful", "delete-deposed of a stateful aws_dynamodb_table: its data goes with it")]


def test_alarms_are_priced_by_the_metrics_they_read_and_their_resolution():
    standard, high = (PRICING["fixed"][name]["usd"] for name in ("cloudwatch_alarm", "cloudwatch_alarm_high_resolution"))

    def metric(id, period=60):
        return {
            "id": id,
            "expression": None,
            "metric": [{"metric_name": "Errors", "namespace": "AWS/Lambda", "period": period, "stat": "Sum"}],
        }

    def expression(id, text):
        return {"id": id, "expression": text, "metric": []}

    alarms = {
        "standard": ({"period": 300}, standard),
        "high resolution": ({"period": 10}, high),
        "metric math": ({"metric_query": [metric("m1"), metric("m2"), expression("e1", "m1/m2")]}, 2 * standard),
        "anomaly detection": (
            {"threshold_metric_id": "ad1", "metric_query": [metric("m1"), expression("ad1", "ANOMALY_DETECTION_BAND(m1, 2)")]},
            3 * standard,
        ),
        "high-resolution metric math": ({"metric_query": [metric("m1", 10), metric("m2"), expression("e1", "m1+m2")]}, 2 * high),
    }
    for name, (config, price) in alarms.items():
        cost = review({"resource_changes": [_hand("aws_cloudwatch_metric_alarm", ["create"], None, config)]}).cost
        assert round(cost.after, 6) == round(price, 6), name


def test_cost_details_link_every_price_and_json_has_the_cost_by_type_and_unit_prices(tmp_path, capsys):
    plan = {"resource_changes": [_hand("aws_kms_key", ["create"], None, {"enable_key_rotation": False})]}
    details = review(plan).markdown().split("### Cost", 1)[1]
    for name, price in PRICING["fixed"].items():
        assert f"| {name} | {price['usd']:g} | {price['per']} | <{price['source']}> |" in details
    for price in PRICING["usage"]:
        assert f"| {price['service']} | {price['usd']:g} | {price['per']} | <{price['source']}> |" in details
    path = _plan_file(tmp_path / "plan.json", plan)
    assert main([str(path), "--format", "json"]) == 0
    cost = json.loads(capsys.readouterr().out)["cost"]
    assert cost["by_type"] == {"aws_kms_key": {"monthly_before": 0, "monthly_after": PRICING["fixed"]["kms_key"]["usd"]}}
    assert cost["unit_prices"] == {"fixed": PRICING["fixed"], "usage": PRICING["usage"], "checked": PRICING["checked"]}


def _web_acl(countries, inspected_kb=None):
    rules = [
        {"name": "BlockedCountries", "action": [{"block": [{}]}], "statement": [{"geo_match_statement": [{"country_codes": countries}]}]}
    ]
    bodies = [{"api_gateway": [{"default_size_inspection_limit": f"KB_{inspected_kb}"}], "cloudfront": []}] if inspected_kb else []
    return {"rule": rules, "association_config": [{"request_body": bodies}] if bodies else [], "default_action": [{"allow": [{}]}]}


def test_a_web_acl_inspecting_less_of_bodies_or_refusing_fewer_countries_is_flagged():
    before = _web_acl(["CU", "IR", "KP", "SY"], inspected_kb=64)
    assert _risks(_hand("aws_wafv2_web_acl", ["update"], before, _web_acl(["CU", "IR", "KP", "SY"], inspected_kb=32))) == [
        ("exposure", "WAF inspects 32 KB of `api_gateway` request bodies instead of 64 KB: what lies beyond passes uninspected")
    ]
    # Removing the setting is the default, 16 KB.
    (risk,) = _risks(_hand("aws_wafv2_web_acl", ["update"], before, _web_acl(["CU", "IR", "KP", "SY"])))
    assert "inspects 16 KB of `api_gateway` request bodies instead of 64 KB" in risk[1]
    assert _risks(_hand("aws_wafv2_web_acl", ["update"], before, _web_acl(["CU", "IR", "SY"], inspected_kb=64))) == [
        ("exposure", "callers from `KP` are no longer blocked")
    ]
    # Raising the limit, or refusing more, is no risk.
    assert _risks(_hand("aws_wafv2_web_acl", ["update"], _web_acl(["CU"], inspected_kb=32), before)) == []


def test_a_part_of_the_api_deleted_is_flagged_as_still_served():
    deleted = _hand("aws_api_gateway_gateway_response", ["delete"], {"rest_api_id": "abc123", "response_type": "BAD_REQUEST_BODY"}, None)
    assert _risks(deleted) == [
        (
            "exposure",
            "removed from the API, but the live stage keeps serving it until a deployment made after this apply "
            '(docs/security.md, "Changes that reach the live API")',
        )
    ]
    # A stage, or its settings, configure what serves: their deletion is judged elsewhere, if at all.
    assert _risks(_hand("aws_api_gateway_method_settings", ["delete"], {"rest_api_id": "abc123"}, None)) == []
    assert _risks(_hand("aws_api_gateway_method", ["update"], {"rest_api_id": "abc123"}, {"rest_api_id": "abc123"})) == []


def _firewall(**changes):
    """The API web ACL's blocking rules as plan JSON (constructs_lib/waf.py), with `changes` made."""
    body_rule = {
        "name": "BodyLargerThanTheBackendTakes",
        "priority": 2,
        "action": [{"block": [{}]}],
        "statement": [
            {
                "size_constraint_statement": [
                    {
                        "comparison_operator": "GT",
                        "size": 65536,
                        "field_to_match": [{"body": [{"oversize_handling": changes.get("oversize", "MATCH")}]}],
                    }
                ]
            }
        ],
    }
    if "size" in changes:
        body_rule["statement"][0]["size_constraint_statement"][0]["size"] = changes["size"]
    if "operator" in changes:
        body_rule["statement"][0]["size_constraint_statement"][0]["comparison_operator"] = changes["operator"]
    body_rule["priority"] = changes.get("body_priority", 2)
    geo = {"country_codes": ["KP"], "forwarded_ip_config": changes.get("forwarded", [])}
    common = {"name": "AWSManagedRulesCommonRuleSet", "vendor_name": "AWS", "scope_down_statement": changes.get("scope_down", [])}
    rules = [
        {"name": "BlockedCountries", "priority": 1, "action": [{"block": [{}]}], "statement": [{"geo_match_statement": [geo]}]},
        body_rule,
        {"name": "Common", "priority": 3, "override_action": [{"none": [{}]}], "statement": [{"managed_rule_group_statement": [common]}]},
        *changes.get("extra", []),
    ]
    return {"name": "dataproc-api-waf", "rule": rules, "default_action": [{"allow": [{}]}]}


def test_rules_that_still_block_but_let_more_through_are_flagged():
    cases = {
        "oversized bodies passed on": (
            {"oversize": "CONTINUE"},
            "WAF rule `BodyLargerThanTheBackendTakes` no longer matches oversized bodies: what lies beyond the inspected part passes it",
        ),
        "a higher size limit": (
            {"size": 10_485_760},
            "WAF rule `BodyLargerThanTheBackendTakes` blocks by size 10485760 bytes instead of 65536: it lets more through",
        ),
        "another comparison": ({"operator": "LT"}, "WAF rule `BodyLargerThanTheBackendTakes` compares sizes with `LT` instead of `GT`"),
        "a country judged by a header": (
            {"forwarded": [{"header_name": "X-Forwarded-For", "fallback_behavior": "NO_MATCH"}]},
            "WAF rule `BlockedCountries` judges the caller by a forwarded-IP header, which the caller can write",
        ),
        "a scoped-down rule group": (
            {"scope_down": [{"not_statement": [{"statement": [{"byte_match_statement": [{"search_string": "/process"}]}]}]}]},
            "WAF rule `Common` now inspects only the requests its scope-down statement matches",
        ),
        "an allow ahead of the blocks": (
            {
                "extra": [
                    {"name": "LetEveryoneIn", "priority": 0, "action": [{"allow": [{}]}], "statement": [{"size_constraint_statement": []}]}
                ]
            },
            "WAF rule `LetEveryoneIn` allows requests before blocking rules judge them: "
            "`BlockedCountries`, `BodyLargerThanTheBackendTakes`, `Common`",
        ),
        "an allow between the blocks": (
            {"extra": [{"name": "LetSomeIn", "priority": 2, "action": [{"allow": [{}]}], "statement": []}], "body_priority": 3},
            "WAF rule `LetSomeIn` allows requests before blocking rules judge them: `BodyLargerThanTheBackendTakes`, `Common`",
        ),
    }
    for case, (changes, detail) in cases.items():
        assert _risks(_hand("aws_wafv2_web_acl", ["update"], _firewall(), _firewall(**changes))) == [("exposure", detail)], case
    assert _risks(_hand("aws_wafv2_web_acl", ["update"], _firewall(), _firewall())) == []
    # Tightening is no risk: a lower limit, an allow placed after the blocks, an allow renumbered in its place.
    late_allow = [{"name": "Late", "priority": 9, "action": [{"allow": [{}]}], "statement": []}]
    assert _risks(_hand("aws_wafv2_web_acl", ["update"], _firewall(), _firewall(size=1024, extra=late_allow))) == []
    first = [{"name": "Health", "priority": 0, "action": [{"allow": [{}]}], "statement": []}]
    renumbered = [{**first[0], "priority": 1}]
    moved = _firewall(extra=renumbered)
    for rule in moved["rule"]:
        if rule["name"] != "Health":
            rule["priority"] += 10
    assert _risks(_hand("aws_wafv2_web_acl", ["update"], _firewall(extra=first), moved)) == []


def _edited_firewall(edit):
    acl = _firewall()
    edit({rule["name"]: rule for rule in acl["rule"]})
    return acl


def test_a_blocking_rule_that_matches_by_another_statement_is_flagged():
    """Whatever a still-blocking rule's statement becomes, beyond the changes judged by direction:
    another field inspected, another statement kind, a negation, another rule group."""

    def field_to_uri(rules):
        rules["BodyLargerThanTheBackendTakes"]["statement"][0]["size_constraint_statement"][0]["field_to_match"] = [{"uri_path": [{}]}]

    def byte_match(rules):
        rules["BodyLargerThanTheBackendTakes"]["statement"] = [{"byte_match_statement": [{"search_string": "never"}]}]

    def negated(rules):
        rule = rules["BodyLargerThanTheBackendTakes"]
        rule["statement"] = [{"not_statement": [{"statement": rule["statement"]}]}]

    def other_group(rules):
        rules["Common"]["statement"][0]["managed_rule_group_statement"][0]["name"] = "AWSManagedRulesLinuxRuleSet"

    for edit, rule in (
        (field_to_uri, "BodyLargerThanTheBackendTakes"),
        (byte_match, "BodyLargerThanTheBackendTakes"),
        (negated, "BodyLargerThanTheBackendTakes"),
        (other_group, "Common"),
    ):
        (risk,) = _risks(_hand("aws_wafv2_web_acl", ["update"], _firewall(), _edited_firewall(edit)))
        assert risk[1].startswith(f"WAF rule `{rule}` matches by another statement") and "judge by hand" in risk[1], edit.__name__

    def pinned(rules):
        rules["Common"]["statement"][0]["managed_rule_group_statement"][0]["version"] = "Version_1.10"

    assert _risks(_hand("aws_wafv2_web_acl", ["update"], _firewall(), _edited_firewall(pinned))) == []


def test_a_rate_limit_raised_or_its_key_changed_is_flagged_and_lowered_is_not():
    def rate(limit, key="IP"):
        rule = {"name": "RateLimitPerIp", "priority": 5, "action": [{"block": [{}]}]}
        return _firewall(extra=[{**rule, "statement": [{"rate_based_statement": [{"limit": limit, "aggregate_key_type": key}]}]}])

    assert _risks(_hand("aws_wafv2_web_acl", ["update"], rate(2000), rate(2_000_000_000))) == [
        ("exposure", "WAF rule `RateLimitPerIp` allows 2000000000 requests per window instead of 2000")
    ]
    (risk,) = _risks(_hand("aws_wafv2_web_acl", ["update"], rate(2000), rate(2000, key="CONSTANT")))
    assert risk[1].startswith("WAF rule `RateLimitPerIp` matches by another statement")
    assert _risks(_hand("aws_wafv2_web_acl", ["update"], rate(2000), rate(500))) == []


def test_a_web_acl_deleted_or_swapped_for_another_is_flagged():
    """The association's attributes force a replacement: another ACL, or another protected resource."""
    assert _risks(_hand("aws_wafv2_web_acl", ["delete"], _firewall(), None)) == [
        ("exposure", "the WAF web ACL `dataproc-api-waf` is deleted: what it protected loses its rules")
    ]
    stage, acl = "arn:aws:apigateway:us-east-1::/restapis/a/stages/v1", "arn:aws:wafv2:us-east-1:1:regional/webacl/strong/1"
    before = {"resource_arn": stage, "web_acl_arn": acl}
    swapped = _hand(
        "aws_wafv2_web_acl_association", ["create", "delete"], before, {"resource_arn": stage}, after_unknown={"web_acl_arn": True}
    )
    assert _risks(swapped) == [("exposure", f"the resource is protected by another web ACL: (known after apply) instead of `{acl}`")]
    moved = _hand("aws_wafv2_web_acl_association", ["delete", "create"], before, {**before, "resource_arn": stage.replace("v1", "v2")})
    (risk,) = _risks(moved)
    assert risk[1].startswith("the web ACL protects another resource:")
    assert _risks(_hand("aws_wafv2_web_acl_association", ["create"], None, before)) == []
    distribution = _hand("aws_cloudfront_distribution", ["update"], {"web_acl_id": acl}, {"web_acl_id": acl.replace("strong", "weak")})
    (risk,) = _risks(distribution)
    assert risk[1].startswith("the distribution is protected by another WAF web ACL:")


def test_rules_known_only_after_apply_are_named_as_unjudged_not_as_loosened():
    unknown = _hand("aws_wafv2_web_acl", ["update"], _firewall(), {**_firewall(), "rule": []}, after_unknown={"rule": True})
    assert _risks(unknown) == [("exposure", "the web ACL's rules are known only after apply: what they block cannot be judged here")]


def test_web_acls_of_one_name_in_two_scopes_are_each_judged_against_their_own():
    def acl(scope, address, actions, before, after):
        return {
            **_hand("aws_wafv2_web_acl", actions, before and {**before, "scope": scope}, after and {**after, "scope": scope}),
            "address": address,
        }

    changes = [
        acl("REGIONAL", "aws_wafv2_web_acl.old_api", ["delete"], _firewall(), None),
        acl("CLOUDFRONT", "aws_wafv2_web_acl.old_cdn", ["delete"], _firewall(oversize="CONTINUE"), None),
        acl("REGIONAL", "aws_wafv2_web_acl.new_api", ["create"], None, _firewall(oversize="CONTINUE")),
    ]
    flagged = [(r.address, r.detail) for r in review({"resource_changes": changes}).risks]
    assert any(a == "aws_wafv2_web_acl.new_api" and "no longer matches oversized bodies" in d for a, d in flagged)


def test_a_web_acl_moved_to_a_new_address_is_judged_against_the_one_it_replaces():
    """A renamed construct (no moved block) deletes the ACL and creates one of the same name: the
    new one is judged as an update of the old, not as a fresh resource."""
    old = {**_hand("aws_wafv2_web_acl", ["delete"], _firewall(), None), "address": "aws_wafv2_web_acl.old"}
    new = {**_hand("aws_wafv2_web_acl", ["create"], None, _firewall(oversize="CONTINUE")), "address": "aws_wafv2_web_acl.new"}
    flagged = [(r.address, r.detail) for r in review({"resource_changes": [old, new]}).risks]
    assert (
        "aws_wafv2_web_acl.new",
        "WAF rule `BodyLargerThanTheBackendTakes` no longer matches oversized bodies: what lies beyond the inspected part passes it",
    ) in flagged


def test_the_region_wide_logging_setting_deleted_is_flagged():
    deleted = _hand("aws_api_gateway_account", ["delete"], {"cloudwatch_role_arn": "arn:aws:iam::123456789012:role/r"}, None)
    assert _risks(deleted) == [
        (
            "protection",
            "the region's API Gateway logging role is reset: every REST API stage in the region writes no execution "
            "logs until a deployment sets it again",
        )
    ]
    assert _risks(_hand("aws_api_gateway_account", ["delete"], {"cloudwatch_role_arn": ""}, None)) == []


def test_a_distribution_refusing_fewer_countries_is_flagged():
    def distribution(kind, locations):
        return {"restrictions": [{"geo_restriction": [{"restriction_type": kind, "locations": locations}]}], "default_cache_behavior": []}

    before = distribution("blacklist", ["CU", "IR", "KP", "SY"])
    assert _risks(_hand("aws_cloudfront_distribution", ["update"], before, distribution("none", None))) == [
        ("exposure", "the distribution no longer refuses viewers from `CU`, `IR`, `KP`, `SY`")
    ]
    assert _risks(_hand("aws_cloudfront_distribution", ["update"], before, distribution("blacklist", ["CU", "IR", "KP", "SY", "RU"]))) == []


def test_a_raised_body_inspection_limit_is_priced_in_the_cost_section():
    acl = {"name": "dataproc-api-waf", **_web_acl(["CU"], inspected_kb=64)}
    cost = review({"resource_changes": [_hand("aws_wafv2_web_acl", ["create"], None, acl)]}).cost
    price = next(u for u in PRICING["usage"] if u["service"] == "WAF body inspection beyond 16 KB")["usd"]
    (note,) = cost.usage_notes
    assert note.startswith("`dataproc-api-waf` inspects api_gateway request bodies up to 64 KB")
    assert f"(up to ${price * 3:g} per million requests)" in note
    assert note in review({"resource_changes": [_hand("aws_wafv2_web_acl", ["create"], None, acl)]}).markdown()
    assert review({"resource_changes": [_hand("aws_wafv2_web_acl", ["create"], None, _web_acl(["CU"]))]}).cost.usage_notes == ()


def _waf_rules(*rules):
    return {"name": "dataproc-api-waf", "rule": list(rules), "default_action": [{"allow": [{}]}]}


def _rule(name, action, statement, priority=1):
    return {"name": name, "priority": priority, "action": [{action: [{}]}], "statement": [statement]}


def _geo_statement(*countries, **config):
    return {"geo_match_statement": [{"country_codes": list(countries), **config}]}


def test_waf_loosenings_nested_negated_or_in_allow_rules_are_flagged():
    """The fourth review's cases: what a rule judges changing inside a statement, a negation or an
    allow rule, and a weaker stopping action."""

    def group(path):
        scope_down = [{"byte_match_statement": [{"search_string": path}]}]
        statement = {
            "managed_rule_group_statement": [
                {"name": "AWSManagedRulesCommonRuleSet", "vendor_name": "AWS", "scope_down_statement": scope_down}
            ]
        }
        return {"name": "Common", "priority": 3, "override_action": [{"none": [{}]}], "statement": [statement]}

    def either(*countries):
        return {"or_statement": [{"statement": [_geo_statement(*countries), {"byte_match_statement": [{"search_string": "x"}]}]}]}

    def negated(*countries):
        return {"not_statement": [{"statement": [_geo_statement(*countries)]}]}

    def forwarded(fallback):
        return _geo_statement("KP", forwarded_ip_config=[{"header_name": "X-Forwarded-For", "fallback_behavior": fallback}])

    def size(limit):
        return {"size_constraint_statement": [{"comparison_operator": "LT", "size": limit, "field_to_match": [{"body": [{}]}]}]}

    cases = {
        "a scope-down narrowed": (group("/"), group("/nothing-here"), "its scope-down statement changes"),
        "a nested country dropped": (
            _rule("Geo", "block", either("CU", "KP")),
            _rule("Geo", "block", either("CU")),
            "callers from `KP` are no longer blocked",
        ),
        "a negated list widened": (
            _rule("OnlyUs", "block", negated("US")),
            _rule("OnlyUs", "block", negated("US", "CN")),
            "callers from `CN` are no longer blocked",
        ),
        "an allow rule widened": (
            _rule("Trusted", "allow", _geo_statement("US")),
            _rule("Trusted", "allow", _geo_statement("US", "CN")),
            "WAF allow rule `Trusted` matches by another statement",
        ),
        "a forwarded fallback changed": (
            _rule("Geo", "block", forwarded("MATCH")),
            _rule("Geo", "block", forwarded("NO_MATCH")),
            "a missing header may now pass",
        ),
        "an allow rule's size raised": (
            _rule("Small", "allow", size(100)),
            _rule("Small", "allow", size(1_000_000)),
            "WAF allow rule `Small` matches by another statement",
        ),
        "block to challenge": (
            _rule("Geo", "block", _geo_statement("KP")),
            _rule("Geo", "challenge", _geo_statement("KP")),
            "weaker action",
        ),
    }
    for case, (old, new, detail) in cases.items():
        flagged = _risks(_hand("aws_wafv2_web_acl", ["update"], _waf_rules(old), _waf_rules(new)))
        assert any(detail in text for _, text in flagged), (case, flagged)


def test_waf_changes_that_mean_the_same_are_not_flagged():
    def body(value):
        return {"byte_match_statement": [{"search_string": "x", "field_to_match": [{"body": value, "uri_path": [{}]}]}]}

    def both(first, second):
        return {"and_statement": [{"statement": [first, second]}]}

    cases = {
        "an empty block flipped to null by a refresh": (_rule("Bad", "block", body([])), _rule("Bad", "block", body(None))),
        "the operands of an and in another order": (
            _rule("Bad", "block", both(_geo_statement("KP"), body([]))),
            _rule("Bad", "block", both(body([]), _geo_statement("KP"))),
        ),
        "a counting rule's statement": (_rule("Watch", "count", _geo_statement("KP")), _rule("Watch", "count", _geo_statement("CU"))),
    }
    for case, (old, new) in cases.items():
        assert _risks(_hand("aws_wafv2_web_acl", ["update"], _waf_rules(old), _waf_rules(new))) == [], case
