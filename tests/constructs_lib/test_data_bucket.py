"""SPEC 4 (S3) and 5 (bucket policy): private, encrypted, versioned, Object Lock, owner-enforced;
plus the hardening around it: lifecycle, default retention, access logs to a log bucket."""

from __future__ import annotations

import pytest
from cdktf import Testing

from tests.support.plans import planned


@pytest.fixture(scope="module")
def data(synth):
    return synth.bucket_address(object_lock=True)


@pytest.fixture(scope="module")
def logs(synth):
    return synth.bucket_address(object_lock=False)


def test_bucket_has_object_lock_enabled_at_creation(synth, data):
    assert synth.resources("aws_s3_bucket")[data]["object_lock_enabled"] is True


def test_result_objects_get_a_default_governance_retention(synth, data):
    lock = synth.on_bucket("aws_s3_bucket_object_lock_configuration", data)
    assert lock["rule"] == {"default_retention": {"mode": "GOVERNANCE", "days": 1}}


@pytest.mark.parametrize("kind", ["data", "logs"])
def test_buckets_block_all_public_access(synth, request, kind):
    block = synth.on_bucket("aws_s3_bucket_public_access_block", request.getfixturevalue(kind))
    assert all(
        block[flag] is True for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )


@pytest.mark.parametrize("kind", ["data", "logs"])
def test_buckets_encrypt_at_rest_with_sse_s3(synth, request, kind):
    # SSE-S3, not aws/s3 KMS: CloudFront's OAC cannot decrypt objects under the AWS-managed key,
    # and server access logs can only be delivered to SSE-S3 buckets.
    (rule,) = synth.on_bucket("aws_s3_bucket_server_side_encryption_configuration", request.getfixturevalue(kind))["rule"]
    assert rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}


@pytest.mark.parametrize("kind", ["data", "logs"])
def test_buckets_are_versioned_and_owner_enforced(synth, request, kind):
    address = request.getfixturevalue(kind)
    assert synth.on_bucket("aws_s3_bucket_versioning", address)["versioning_configuration"] == {"status": "Enabled"}
    assert synth.on_bucket("aws_s3_bucket_ownership_controls", address)["rule"] == {"object_ownership": "BucketOwnerEnforced"}


def test_old_versions_and_stale_uploads_expire(synth, data, logs):
    (rule,) = synth.on_bucket("aws_s3_bucket_lifecycle_configuration", data)["rule"]
    assert rule["status"] == "Enabled"
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 90}]
    assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]
    assert "expiration" not in rule  # results are kept
    (log_rule,) = synth.on_bucket("aws_s3_bucket_lifecycle_configuration", logs)["rule"]
    assert log_rule["expiration"] == [{"days": 365}]


def test_data_bucket_access_logs_go_to_the_log_bucket(synth, data, logs):
    logging = synth.on_bucket("aws_s3_bucket_logging", data)
    assert logging["target_bucket"] == f"${{aws_s3_bucket.{logs}.bucket}}"
    statements = {s["sid"]: s for s in synth.referenced(synth.on_bucket("aws_s3_bucket_policy", logs)["policy"])["statement"]}
    delivery = statements["S3ServerAccessLogsFromData"]
    assert delivery["principals"] == [{"type": "Service", "identifiers": ["logging.s3.amazonaws.com"]}]
    assert delivery["resources"] == [f"${{aws_s3_bucket.{logs}.arn}}/{logging['target_prefix']}*"]
    assert {"test": "ArnLike", "variable": "aws:SourceArn", "values": [f"${{aws_s3_bucket.{data}.arn}}"]} in delivery["condition"]
    assert "DenyInsecureTransport" in statements


def test_no_bucket_claims_eventbridge_notifications_that_nothing_consumes(synth):
    # Events with no rule on the bus are dropped: the setting would only claim a control.
    assert not synth.resources("aws_s3_bucket_notification")


def test_bucket_policy_lets_only_the_distribution_read_and_denies_non_tls(synth, data):
    distribution = synth.name_at("cdn/distribution")
    policy = synth.on_bucket("aws_s3_bucket_policy", data)
    statements = {s["sid"]: s for s in synth.referenced(policy["policy"])["statement"]}
    assert set(statements) == {"AllowCloudFrontRead", "DenyInsecureTransport"}

    read = statements["AllowCloudFrontRead"]
    assert read["effect"] == "Allow"
    assert read["actions"] == ["s3:GetObject"]
    assert read["principals"] == [{"type": "Service", "identifiers": ["cloudfront.amazonaws.com"]}]
    assert read["resources"] == [f"${{aws_s3_bucket.{data}.arn}}/*"]
    assert read["condition"] == [
        {
            "test": "StringEquals",
            "variable": "AWS:SourceArn",
            "values": [f"${{aws_cloudfront_distribution.{distribution}.arn}}"],
        }
    ]

    deny = statements["DenyInsecureTransport"]
    assert deny["effect"] == "Deny"
    assert deny["actions"] == ["s3:*"]
    assert deny["condition"] == [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]
    assert set(deny["resources"]) == {f"${{aws_s3_bucket.{data}.arn}}", f"${{aws_s3_bucket.{data}.arn}}/*"}


def test_bucket_names_are_prefixed_and_account_scoped(valid_plan):
    names = {bucket["bucket"]: bucket["object_lock_enabled"] for bucket in planned(valid_plan, "aws_s3_bucket")}
    assert names == {"dataproc-data-123456789012": True, "dataproc-logs-123456789012": False}  # moto's account


def test_buckets_are_not_force_destroyed_by_default(synth):
    assert all(bucket["force_destroy"] is False for bucket in synth.resources("aws_s3_bucket").values())
    assert Testing.to_have_resource_with_properties(synth.text, "aws_s3_bucket", {"force_destroy": False})


def _bucket_policy_statements(build):
    """The policy statements of the one bucket `build(stack)` makes, in order."""
    import json

    from cdktf import App, TerraformStack

    from constructs_lib.aws_provider import ProviderProps, aws_provider

    app = App()
    stack = TerraformStack(app, "bucket-policy")
    aws_provider(stack, "aws", ProviderProps(region="us-east-1"))
    build(stack)
    document = json.loads(Testing.synth(stack))
    (config,) = [c for n, c in document["data"]["aws_iam_policy_document"].items() if n.startswith("only_policy-document")]
    return config["statement"]


def _only(stack):
    from constructs_lib.data_bucket import SecureBucket, SecureBucketProps

    return SecureBucket(stack, "only", SecureBucketProps(name="only-bucket"))


def test_a_bucket_owns_its_tls_only_policy_from_birth():
    (deny,) = _bucket_policy_statements(_only)
    assert (deny["sid"], deny["effect"]) == ("DenyInsecureTransport", "Deny")


def test_grants_accumulate_on_the_bucket_policy_before_its_deny():
    from constructs_lib.iam import Statement

    def build(stack):
        bucket = _only(stack)
        bucket.add_to_policy(
            Statement(sid="ReaderA", actions=["s3:GetObject"], resources=[bucket.objects_arn], principals={"Service": ["a.amazonaws.com"]})
        )
        bucket.add_to_policy(
            Statement(sid="ReaderB", actions=["s3:GetObject"], resources=[bucket.objects_arn], principals={"Service": ["b.amazonaws.com"]})
        )

    assert [s["sid"] for s in _bucket_policy_statements(build)] == ["ReaderA", "ReaderB", "DenyInsecureTransport"]


def test_a_second_grant_with_the_same_sid_is_refused():
    from constructs_lib.iam import Statement

    def build(stack):
        bucket = _only(stack)
        grant = Statement(sid="Reader", actions=["s3:GetObject"], resources=[bucket.objects_arn])
        bucket.add_to_policy(grant)
        bucket.add_to_policy(grant)

    with pytest.raises(ValueError, match="already has a statement 'Reader'"):
        _bucket_policy_statements(build)
