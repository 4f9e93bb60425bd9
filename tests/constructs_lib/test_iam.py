"""SPEC "Security and IAM": attached (never inline) policies; the Lambda's exactly least privilege."""

from __future__ import annotations

from tests.support.plans import planned


def _role_address(synth, name_suffix):
    (address,) = [a for a, r in synth.resources("aws_iam_role").items() if r["name"].endswith(name_suffix)]
    return address


def test_no_role_has_inline_policies(synth, valid_plan):
    assert not synth.resources("aws_iam_role_policy")
    for role in synth.resources("aws_iam_role").values():
        assert "inline_policy" not in role and "managed_policy_arns" not in role
    for role in planned(valid_plan, "aws_iam_role"):
        assert not role.get("inline_policy"), role["name"]


def test_every_role_gets_its_permissions_from_attachments(synth):
    attached_roles = {a["role"] for a in synth.resources("aws_iam_role_policy_attachment").values()}
    assert attached_roles == {f"${{aws_iam_role.{address}.name}}" for address in synth.resources("aws_iam_role")}


def test_lambda_policy_is_exactly_what_the_handler_calls(synth):
    role = _role_address(synth, "-processor-role")
    (attachment,) = [a for a in synth.resources("aws_iam_role_policy_attachment").values() if a["role"] == f"${{aws_iam_role.{role}.name}}"]
    policy = synth.referenced(attachment["policy_arn"])
    statements = synth.referenced(policy["policy"])["statement"]

    table = synth.name_at("items/table")
    bucket = synth.bucket_address(object_lock=True)
    (log_group,) = [a for a, g in synth.resources("aws_cloudwatch_log_group").items() if g["name"].startswith("/aws/lambda/")]
    assert {(s["sid"], s["effect"], tuple(s["actions"]), tuple(s["resources"])) for s in statements} == {
        # What the handler calls...
        ("ReadItems", "Allow", ("dynamodb:GetItem",), (f"${{aws_dynamodb_table.{table}.arn}}",)),
        ("WriteResults", "Allow", ("s3:PutObject",), (f"${{aws_s3_bucket.{bucket}.arn}}/*",)),
        # ...and what the Lambda runtime does with the role.
        (
            "WriteOwnLogs",
            "Allow",
            ("logs:CreateLogStream", "logs:PutLogEvents"),
            (f"${{aws_cloudwatch_log_group.{log_group}.arn}}:log-stream:*",),
        ),
        ("SendTraces", "Allow", ("xray:PutTraceSegments", "xray:PutTelemetryRecords"), ("*",)),
    }


def test_lambda_role_is_assumable_only_by_lambda(synth):
    role = synth.resources("aws_iam_role")[_role_address(synth, "-processor-role")]
    trust = synth.referenced(role["assume_role_policy"])
    (statement,) = trust["statement"]
    assert statement["actions"] == ["sts:AssumeRole"]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}]
