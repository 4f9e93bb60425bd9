"""An SNS topic, encrypted with a customer-managed key, that emails alerts to an operator.

The key must let CloudWatch use it (see encryption_key.py): CloudWatch alarms cannot publish to
a topic under the AWS-managed alias/aws/sns key.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct


@dataclass(frozen=True)
class AlertTopicProps:
    topic_name: str
    email: str
    key_arn: str


class AlertTopic(Construct):
    def __init__(self, scope: Construct, id_: str, props: AlertTopicProps) -> None:
        super().__init__(scope, id_)
        self.topic = SnsTopic(self, "topic", name=props.topic_name, kms_master_key_id=props.key_arn)
        SnsTopicSubscription(self, "email", topic_arn=self.topic.arn, protocol="email", endpoint=props.email)
