"""An S3 bucket that is private, encrypted, versioned, lifecycle-managed and (by default)
Object Lock enabled from creation, optionally logging access to another bucket."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_notification import S3BucketNotification
from cdktf_cdktf_provider_aws.s3_bucket_object_lock_configuration import (
    S3BucketObjectLockConfigurationA,
    S3BucketObjectLockConfigurationRuleA,
    S3BucketObjectLockConfigurationRuleDefaultRetentionA,
)
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from constructs_lib.account import caller_identity
from constructs_lib.iam import Condition, Statement, policy_document


@dataclass(frozen=True)
class BucketLifecycle:
    # Old versions of overwritten or deleted objects are kept this long, then removed.
    noncurrent_days: int = 90
    abort_multipart_days: int = 7
    # Current objects too (log buckets); None keeps them.
    expire_days: int | None = None


@dataclass(frozen=True)
class SecureBucketProps:
    name: str
    # Object Lock can only be switched on when the bucket is created; it needs versioning.
    object_lock: bool = True
    # Default GOVERNANCE retention of every new object version, in days; 0 sets none. Under
    # retention a version cannot be deleted (so neither can the bucket) before it expires,
    # unless the caller holds s3:BypassGovernanceRetention (Terraform's force_destroy uses it).
    object_lock_days: int = 0
    # SSE-S3: CloudFront (OAC) cannot decrypt objects under the AWS-managed aws/s3 KMS key,
    # and S3 server access logs can only be delivered to SSE-S3 buckets.
    sse_algorithm: str = "AES256"
    force_destroy: bool = False
    lifecycle: BucketLifecycle = BucketLifecycle()
    # Object-level events to EventBridge: on only for a bucket whose events something consumes
    # (with no rule on the bus they are dropped, and the setting would only claim a control).
    eventbridge_notifications: bool = False


class SecureBucket(Construct):
    """Bucket + all four public access blocks + SSE + versioning + owner-enforced objects.

    The bucket owns its policy: it denies every request that is not TLS from the start, and
    constructs that read or write the bucket add their grants with `add_to_policy` (as CDK's
    `addToResourcePolicy`); `send_access_logs_to` adds S3's log-delivery grant to the target.
    """

    def __init__(self, scope: Construct, id_: str, props: SecureBucketProps) -> None:
        super().__init__(scope, id_)
        self.bucket = S3Bucket(
            self,
            "bucket",
            bucket=props.name,
            object_lock_enabled=props.object_lock,
            force_destroy=props.force_destroy,
        )
        self.public_access_block = S3BucketPublicAccessBlock(
            self,
            "public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=self.bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm=props.sse_algorithm
                    ),
                    bucket_key_enabled=props.sse_algorithm != "AES256",
                )
            ],
        )
        versioning = S3BucketVersioningA(
            self,
            "versioning",
            bucket=self.bucket.id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        if props.object_lock and props.object_lock_days > 0:
            S3BucketObjectLockConfigurationA(
                self,
                "object-lock",
                bucket=self.bucket.id,
                rule=S3BucketObjectLockConfigurationRuleA(
                    default_retention=S3BucketObjectLockConfigurationRuleDefaultRetentionA(mode="GOVERNANCE", days=props.object_lock_days)
                ),
                # Object Lock settings need versioning: removed before it on destroy.
                depends_on=[versioning],
            )
        lifecycle = props.lifecycle
        S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=self.bucket.id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-old-versions",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=lifecycle.noncurrent_days)
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=lifecycle.abort_multipart_days
                        )
                    ],
                    expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=lifecycle.expire_days)]
                    if lifecycle.expire_days
                    else None,
                )
            ],
            # Lifecycle rules on noncurrent versions need versioning first.
            depends_on=[versioning],
        )
        if props.eventbridge_notifications:
            S3BucketNotification(self, "notifications", bucket=self.bucket.id, eventbridge=True)
        S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=self.bucket.id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        # The bucket owns its policy from birth, TLS-only; readers and log writers add grants to it.
        self._grants: list[Statement] = []
        self._deny_insecure = Statement(
            sid="DenyInsecureTransport",
            effect="Deny",
            actions=["s3:*"],
            resources=[self.bucket.arn, self.objects_arn],
            principals={"*": ["*"]},
            conditions=[Condition("Bool", "aws:SecureTransport", ["false"])],
        )
        self._document = policy_document(self, "policy-document", [self._deny_insecure])
        # A policy written before the public access block can be refused as "public".
        self.policy = S3BucketPolicy(
            self,
            "policy",
            bucket=self.bucket.id,
            policy=self._document.json,
            depends_on=[self.public_access_block],
        )

    @property
    def objects_arn(self) -> str:
        return f"{self.bucket.arn}/*"

    def add_to_policy(self, *statements: Statement) -> None:
        """Grants in the bucket's policy, before its deny of every non-TLS request."""
        sids = {s.sid for s in self._grants}
        for statement in statements:
            if statement.sid in sids:
                raise ValueError(f"{self.node.path}: the bucket policy already has a statement {statement.sid!r}")
            sids.add(statement.sid)
        self._grants.extend(statements)
        self._document.put_statement([s.render() for s in [*self._grants, self._deny_insecure]])

    def send_access_logs_to(self, target: SecureBucket, prefix: str) -> S3BucketLoggingA:
        """Server access logs into `target` under `prefix`, granting S3's logging service that
        write in `target`'s policy (S3 checks the grant when logging is switched on)."""
        target.add_to_policy(
            Statement(
                sid=f"S3ServerAccessLogs{_sid_suffix(self.node.id)}",
                actions=["s3:PutObject"],
                resources=[f"{target.bucket.arn}/{prefix}*"],
                principals={"Service": ["logging.s3.amazonaws.com"]},
                conditions=[
                    Condition("ArnLike", "aws:SourceArn", [self.bucket.arn]),
                    Condition("StringEquals", "aws:SourceAccount", [caller_identity(self).account_id]),
                ],
            )
        )
        return S3BucketLoggingA(
            self,
            "access-logs",
            bucket=self.bucket.id,
            target_bucket=target.bucket.bucket,
            target_prefix=prefix,
            depends_on=[target.policy],
        )


def _sid_suffix(construct_id: str) -> str:
    """A construct id as Sid characters (IAM allows only letters and digits): "data" -> "FromData"."""
    return "From" + "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", construct_id) if part)
