"""SPEC 4 (S3) and 5 (bucket policy): private, encrypted, versioned, Object Lock, owner-enforced."""

from __future__ import annotations

from cdktf import Testing

from tests.support.plans import planned_one


def test_bucket_has_object_lock_enabled_at_creation(synth):
    assert Testing.to_have_resource_with_properties(synth.text, "aws_s3_bucket", {"object_lock_enabled": True})


def test_bucket_blocks_all_public_access(synth):
    assert Testing.to_have_resource_with_properties(
        synth.text,
        "aws_s3_bucket_public_access_block",
        {
            "block_public_acls": True,
            "block_public_policy": True,
            "ignore_public_acls": True,
            "restrict_public_buckets": True,
        },
    )


def test_bucket_encrypts_at_rest_with_sse_s3(synth):
    # SSE-S3, not aws/s3 KMS: CloudFront's OAC cannot decrypt objects under the AWS-managed key.
    (rule,) = synth.only("aws_s3_bucket_server_side_encryption_configuration")["rule"]
    assert rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}


def test_bucket_versioning_is_enabled(synth):
    versioning = synth.only("aws_s3_bucket_versioning")
    assert versioning["versioning_configuration"] == {"status": "Enabled"}


def test_bucket_objects_are_owned_by_the_bucket_owner(synth):
    ownership = synth.only("aws_s3_bucket_ownership_controls")
    assert ownership["rule"] == {"object_ownership": "BucketOwnerEnforced"}


def test_every_bucket_setting_targets_the_data_bucket(synth):
    (address,) = synth.resources("aws_s3_bucket")
    bucket_id = f"${{aws_s3_bucket.{address}.id}}"
    for resource_type in (
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_policy",
    ):
        assert synth.only(resource_type)["bucket"] == bucket_id, resource_type


def test_bucket_policy_lets_only_the_distribution_read_and_denies_non_tls(synth):
    (address,) = synth.resources("aws_s3_bucket")
    (distribution,) = synth.resources("aws_cloudfront_distribution")
    policy = synth.only("aws_s3_bucket_policy")
    statements = {s["sid"]: s for s in synth.referenced(policy["policy"])["statement"]}
    assert set(statements) == {"AllowCloudFrontRead", "DenyInsecureTransport"}

    read = statements["AllowCloudFrontRead"]
    assert read["effect"] == "Allow"
    assert read["actions"] == ["s3:GetObject"]
    assert read["principals"] == [{"type": "Service", "identifiers": ["cloudfront.amazonaws.com"]}]
    assert read["resources"] == [f"${{aws_s3_bucket.{address}.arn}}/*"]
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
    assert set(deny["resources"]) == {f"${{aws_s3_bucket.{address}.arn}}", f"${{aws_s3_bucket.{address}.arn}}/*"}


def test_bucket_name_is_prefixed_and_account_scoped(valid_plan):
    bucket = planned_one(valid_plan, "aws_s3_bucket")
    assert bucket["bucket"] == "dataproc-data-123456789012"  # moto's account id
    assert bucket["object_lock_enabled"] is True


def test_bucket_is_not_force_destroyed_by_default(synth):
    assert synth.only("aws_s3_bucket")["force_destroy"] is False
