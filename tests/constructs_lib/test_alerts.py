"""SPEC 6 (SNS): an email subscription to AlertEmail on a topic under a CMK CloudWatch may use."""

from __future__ import annotations

import json

from tests.support.plans import planned_one


def test_topic_emails_the_alert_address(synth, valid_plan):
    topic = synth.name_at("alerts/topic")
    subscription = synth.at("alerts/email")
    assert subscription["protocol"] == "email"
    assert subscription["endpoint"] == "${var.AlertEmail}"
    assert subscription["topic_arn"] == f"${{aws_sns_topic.{topic}.arn}}"
    assert planned_one(valid_plan, "aws_sns_topic_subscription")["endpoint"] == "ops@example.com"


def test_topic_is_encrypted_with_a_rotated_customer_managed_key_cloudwatch_can_use(synth, valid_plan):
    key_address = synth.name_at("key/key")
    assert synth.at("key/key")["enable_key_rotation"] is True
    # Not alias/aws/sns: CloudWatch cannot publish to a topic under the AWS-managed key.
    assert synth.at("alerts/topic")["kms_master_key_id"] == f"${{aws_kms_key.{key_address}.arn}}"
    planned_policy = json.loads(planned_one(valid_plan, "aws_kms_key")["policy"])
    statements = {s["Sid"]: s for s in planned_policy["Statement"]}
    cloudwatch = statements["CloudWatchAlarmsPublishToEncryptedTopics"]
    assert cloudwatch["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": ["123456789012"]}}
    logs = statements["CloudWatchLogsEncryptsThisAccountsLogGroups"]
    assert logs["Principal"] == {"Service": ["logs.us-east-1.amazonaws.com"]}
    assert logs["Condition"]["ArnLike"] == {"kms:EncryptionContext:aws:logs:arn": ["arn:aws:logs:us-east-1:123456789012:log-group:*"]}
    assert statements["AccountAdministers"]["Principal"] == {"AWS": ["arn:aws:iam::123456789012:root"]}
