"""Synth-time guardrails (cdktf Aspect): each fires, naming the resource, on a broken stack."""

from __future__ import annotations

import json

import pytest
from cdktf import TerraformStack, Testing
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole, IamRoleInlinePolicy
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)

from constructs_lib.guardrails import apply_guardrails
from constructs_lib.iam import Statement, policy_document

TAGS = {"Environment": "Production"}
TRUST = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]}
)


def _stack(region: str = "us-east-1") -> TerraformStack:
    stack = TerraformStack(Testing.app(), "broken")
    AwsProvider(stack, "aws", region=region, default_tags=[AwsProviderDefaultTags(tags=TAGS)])
    apply_guardrails(stack, region="us-east-1", required_tags=TAGS)
    return stack


def _private_bucket(stack: TerraformStack, id_: str, flags: bool = True, encrypted: bool = True, **bucket_args) -> S3Bucket:
    bucket = S3Bucket(stack, id_, bucket=id_, **bucket_args)
    S3BucketPublicAccessBlock(
        stack,
        f"{id_}-pab",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=flags,
    )
    if encrypted:
        S3BucketServerSideEncryptionConfigurationA(
            stack,
            f"{id_}-sse",
            bucket=bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="AES256"
                    )
                )
            ],
        )
    return bucket


def _refused(stack: TerraformStack, *fragments: str) -> str:
    with pytest.raises(Exception) as failure:
        Testing.synth(stack, True)
    message = str(failure.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_a_compliant_stack_synthesizes():
    stack = _stack()
    _private_bucket(stack, "fine-bucket")
    IamRole(stack, "role", name="role", assume_role_policy=TRUST)
    assert json.loads(Testing.synth(stack, True))["resource"]["aws_s3_bucket"]


def test_an_inline_role_policy_is_refused():
    stack = _stack()
    role = IamRole(stack, "role", name="role", assume_role_policy=TRUST)
    IamRolePolicy(stack, "inline", role=role.name, policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
    _refused(stack, "[GR1 no-inline-policies] aws_iam_role_policy.inline (broken/inline)", "aws_iam_role_policy_attachment")


def test_a_role_with_inline_policy_or_managed_policy_arns_is_refused():
    stack = _stack()
    IamRole(stack, "inline-role", name="a", assume_role_policy=TRUST, inline_policy=[IamRoleInlinePolicy(name="x", policy="{}")])
    IamRole(stack, "exclusive-role", name="b", assume_role_policy=TRUST, managed_policy_arns=["arn:aws:iam::aws:policy/ReadOnlyAccess"])
    _refused(
        stack,
        "[GR1 no-inline-policies] aws_iam_role.inline-role (broken/inline-role): sets inline_policy",
        "[GR1 no-inline-policies] aws_iam_role.exclusive-role (broken/exclusive-role): sets managed_policy_arns",
    )


def test_a_wildcard_action_in_a_policy_is_refused():
    stack = _stack()
    document = policy_document(stack, "document", [Statement(sid="All", actions=["s3:*"], resources=["*"])])
    IamPolicy(stack, "wide", name="wide", policy=document.json)
    IamPolicy(stack, "literal", name="literal", policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    _refused(
        stack,
        "[GR2 no-wildcard-actions] aws_iam_policy.wide (broken/wide): allows wildcard action(s) s3:*",
        "[GR2 no-wildcard-actions] aws_iam_policy.literal (broken/literal): allows wildcard action(s) *",
    )


def test_a_wildcard_in_a_deny_is_allowed():
    stack = _stack()
    document = policy_document(stack, "document", [Statement(sid="NoDeletes", effect="Deny", actions=["s3:Delete*"], resources=["*"])])
    IamPolicy(stack, "deny", name="deny", policy=document.json)
    Testing.synth(stack, True)


def test_a_bucket_without_a_full_public_access_block_or_encryption_is_refused():
    stack = _stack()
    S3Bucket(stack, "bare", bucket="bare")
    _private_bucket(stack, "half-blocked", flags=False)
    _private_bucket(stack, "unencrypted", encrypted=False)
    _refused(
        stack,
        "[GR3 private-encrypted-buckets] aws_s3_bucket.bare (broken/bare): no aws_s3_bucket_public_access_block",
        "[GR3 private-encrypted-buckets] aws_s3_bucket.bare (broken/bare): no aws_s3_bucket_server_side_encryption_configuration",
        "[GR3 private-encrypted-buckets] aws_s3_bucket.half-blocked",
        "[GR3 private-encrypted-buckets] aws_s3_bucket.unencrypted (broken/unencrypted): no aws_s3_bucket_server_side_encryption_configuration",
    )


def test_a_resource_default_tags_cannot_reach_needs_the_tag_itself():
    stack = _stack()
    untagged = AwsProvider(stack, "untagged", region="us-east-1", alias="untagged")
    _private_bucket(stack, "orphan", provider=untagged)
    _private_bucket(stack, "self-tagged", provider=untagged, tags=TAGS)
    message = _refused(stack, "[GR4 environment-tag] aws_s3_bucket.orphan (broken/orphan)", "lacks Environment=Production")
    assert "self-tagged" not in message


def test_a_provider_outside_us_east_1_is_refused():
    _refused(_stack(region="eu-west-1"), "[GR5 region] provider.aws.default", "everything runs in us-east-1")
