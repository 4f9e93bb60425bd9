"""An SNS topic, encrypted with its own KMS key, that emails alerts to an operator.

CloudWatch alarms cannot publish to a topic under the AWS-managed alias/aws/sns key, so the
topic uses a customer-managed key (rotation on) whose policy lets CloudWatch use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from constructs_lib.iam import Condition, Statement, policy_document


@dataclass(frozen=True)
class AlertTopicProps:
    topic_name: str
    key_alias: str  # without the "alias/" prefix
    email: str
    key_deletion_window_days: int = 30


class AlertTopic(Construct):
    def __init__(self, scope: Construct, id_: str, props: AlertTopicProps) -> None:
        super().__init__(scope, id_)
        account = DataAwsCallerIdentity(self, "account")
        partition = DataAwsPartition(self, "partition")
        key_policy = policy_document(
            self,
            "key-policy",
            [
                # Without an account-root statement the key becomes unmanageable.
                Statement(
                    sid="AccountAdministers",
                    actions=["kms:*"],
                    resources=["*"],
                    principals={"AWS": [f"arn:{partition.partition}:iam::{account.account_id}:root"]},
                ),
                Statement(
                    sid="CloudWatchPublishesAlarms",
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    principals={"Service": ["cloudwatch.amazonaws.com"]},
                    conditions=[Condition("StringEquals", "aws:SourceAccount", [account.account_id])],
                ),
            ],
        )
        self.key = KmsKey(
            self,
            "key",
            description=f"Encrypts the {props.topic_name} SNS topic",
            enable_key_rotation=True,
            deletion_window_in_days=props.key_deletion_window_days,
            policy=key_policy.json,
        )
        KmsAlias(self, "key-alias", name=f"alias/{props.key_alias}", target_key_id=self.key.key_id)
        self.topic = SnsTopic(self, "topic", name=props.topic_name, kms_master_key_id=self.key.arn)
        SnsTopicSubscription(self, "email", topic_arn=self.topic.arn, protocol="email", endpoint=props.email)
