"""A customer-managed KMS key (rotation on) for the stack's alerts, logs and function settings.

CloudWatch alarms cannot publish to an SNS topic under the AWS-managed alias/aws/sns key, and
CloudWatch Logs can only encrypt a log group with a key whose policy names it: one key with a
policy that lets exactly those services use it, in this account.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from constructs_lib.iam import Condition, Statement, policy_json


@dataclass(frozen=True)
class ServiceKeyProps:
    alias: str  # without the "alias/" prefix
    description: str
    region: str
    deletion_window_days: int = 30


class ServiceKey(Construct):
    def __init__(self, scope: Construct, id_: str, props: ServiceKeyProps) -> None:
        super().__init__(scope, id_)
        account = DataAwsCallerIdentity(self, "account")
        partition = DataAwsPartition(self, "partition")
        in_this_account = Condition("StringEquals", "aws:SourceAccount", [account.account_id])
        statements = [
            # Without an account-root statement the key becomes unmanageable; IAM policies
            # then decide who in the account may use it. There is no attribute for the root ARN.
            Statement(
                sid="AccountAdministers",
                actions=["kms:*"],
                resources=["*"],
                principals={"AWS": [f"arn:{partition.partition}:iam::{account.account_id}:root"]},
            ),
            Statement(
                sid="CloudWatchAlarmsPublishToEncryptedTopics",
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                principals={"Service": ["cloudwatch.amazonaws.com"]},
                conditions=[in_this_account],
            ),
            Statement(
                sid="CloudWatchLogsEncryptsThisAccountsLogGroups",
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],
                principals={"Service": [f"logs.{props.region}.amazonaws.com"]},
                conditions=[
                    Condition(
                        "ArnLike",
                        "kms:EncryptionContext:aws:logs:arn",
                        [f"arn:{partition.partition}:logs:{props.region}:{account.account_id}:log-group:*"],
                    )
                ],
            ),
        ]
        self.key = KmsKey(
            self,
            "key",
            description=props.description,
            enable_key_rotation=True,
            deletion_window_in_days=props.deletion_window_days,
            policy=policy_json(statements),
        )
        KmsAlias(self, "alias", name=f"alias/{props.alias}", target_key_id=self.key.key_id)
