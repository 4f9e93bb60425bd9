"""Risk flags the stack's own workspaces cannot reach, on real plans: a small Terraform
configuration of the same resource types is applied on the emulator, then changed the way a bad
pull request would change the stack, and the plan terraform makes for that change is reviewed.

The stack cannot serve here: its distribution needs a response headers policy the emulator lacks,
its Object Lock mode is GOVERNANCE already, and it has no role with inline or attached policies.
"""

from __future__ import annotations

import copy
import json

import pytest

from tools.plan_review import review
from tools.plan_risks import REQUIRED_TAGS
from tools.terraform_runner import Terraform

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
LOGS = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}]})


def _acl(name, scope, default):
    visibility = {"cloudwatch_metrics_enabled": False, "metric_name": name, "sampled_requests_enabled": False}
    return {"name": name, "scope": scope, "default_action": {default: {}}, "visibility_config": visibility}


def _deployed():
    """What is applied: each resource in its protected state."""
    return {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}},
        "provider": {"aws": [{"region": "us-east-1", "default_tags": {"tags": REQUIRED_TAGS}}]},
        "resource": {
            "aws_api_gateway_rest_api": {"api": {"name": "flags-api"}},
            "aws_api_gateway_method": {
                "get": {"rest_api_id": "${aws_api_gateway_rest_api.api.id}", "resource_id": "${aws_api_gateway_rest_api.api.root_resource_id}", "http_method": "GET", "authorization": "NONE", "api_key_required": True}
            },
            "aws_api_gateway_integration": {
                "get": {"rest_api_id": "${aws_api_gateway_rest_api.api.id}", "resource_id": "${aws_api_gateway_rest_api.api.root_resource_id}", "http_method": "${aws_api_gateway_method.get.http_method}", "type": "MOCK"}
            },
            "aws_api_gateway_deployment": {"api": {"rest_api_id": "${aws_api_gateway_rest_api.api.id}", "depends_on": ["aws_api_gateway_integration.get"]}},
            "aws_api_gateway_stage": {"v1": {"rest_api_id": "${aws_api_gateway_rest_api.api.id}", "deployment_id": "${aws_api_gateway_deployment.api.id}", "stage_name": "v1"}},
            "aws_wafv2_web_acl": {"api": _acl("flags-api", "REGIONAL", "block"), "cdn": _acl("flags-cdn", "CLOUDFRONT", "allow")},
            "aws_wafv2_web_acl_association": {"api": {"resource_arn": "${aws_api_gateway_stage.v1.arn}", "web_acl_arn": "${aws_wafv2_web_acl.api.arn}"}},
            "aws_cloudfront_distribution": {
                "cdn": {
                    "enabled": True,
                    "origin": [{"domain_name": "example.com", "origin_id": "site", "custom_origin_config": {"http_port": 80, "https_port": 443, "origin_protocol_policy": "https-only", "origin_ssl_protocols": ["TLSv1.2"]}}],
                    "default_cache_behavior": {"allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"], "target_origin_id": "site", "viewer_protocol_policy": "redirect-to-https", "cache_policy_id": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
                    "restrictions": {"geo_restriction": {"restriction_type": "none"}},
                    "viewer_certificate": {"cloudfront_default_certificate": True},
                    "web_acl_id": "${aws_wafv2_web_acl.cdn.arn}",
                    "wait_for_deployment": False,
                }
            },
            "aws_s3_bucket": {"locked": {"bucket": "flags-locked", "object_lock_enabled": True}},
            "aws_s3_bucket_object_lock_configuration": {
                "locked": {"bucket": "${aws_s3_bucket.locked.id}", "rule": {"default_retention": {"mode": "COMPLIANCE", "days": 1}}}
            },
            "aws_sns_topic": {"alerts": {"name": "flags-alerts"}},
            "aws_sns_topic_subscription": {"email": {"topic_arn": "${aws_sns_topic.alerts.arn}", "protocol": "email", "endpoint": "ops@example.com"}},
            "aws_cloudwatch_metric_alarm": {
                "errors": {"alarm_name": "flags-errors", "namespace": "AWS/Lambda", "metric_name": "Errors", "statistic": "Sum", "period": 60, "evaluation_periods": 1, "threshold": 1, "comparison_operator": "GreaterThanOrEqualToThreshold", "alarm_actions": ["${aws_sns_topic.alerts.arn}"]}
            },
            "aws_iam_role": {"inline": {"name": "flags-inline", "assume_role_policy": TRUST}, "attached": {"name": "flags-attached", "assume_role_policy": TRUST}},
            "aws_iam_role_policy_attachment": {"read_only": {"role": "${aws_iam_role.attached.name}", "policy_arn": READ_ONLY}},
        },
    }


def _weakened(deployed):
    """The same configuration after a bad pull request."""
    config = copy.deepcopy(deployed)
    resources = config["resource"]
    del resources["aws_wafv2_web_acl_association"]
    resources["aws_wafv2_web_acl"]["api"]["default_action"] = {"allow": {}}
    del resources["aws_cloudfront_distribution"]["cdn"]["web_acl_id"]
    resources["aws_s3_bucket_object_lock_configuration"]["locked"]["rule"]["default_retention"]["mode"] = "GOVERNANCE"
    del resources["aws_sns_topic"], resources["aws_sns_topic_subscription"], resources["aws_cloudwatch_metric_alarm"]
    resources["aws_iam_role"]["inline"] |= {"inline_policy": [{"name": "logs", "policy": LOGS}], "managed_policy_arns": [ADMIN]}
    resources["aws_iam_role_policy"] = {"widened": {"role": "${aws_iam_role.attached.id}", "name": "logs", "policy": LOGS}}
    resources["aws_iam_role_policy_attachment"] = {"admin": {"role": "${aws_iam_role.attached.name}", "policy_arn": ADMIN}}
    return config


@pytest.fixture(scope="module")
def weakened_review(emulator, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("flags")
    terraform = Terraform(workdir, emulator.client_env())
    config = workdir / "main.tf.json"
    deployed = _deployed()
    config.write_text(json.dumps(deployed))
    terraform.init()
    terraform.apply({})
    config.write_text(json.dumps(_weakened(deployed)))
    result = terraform.plan({}, plan_file="weakened.plan")
    assert result.returncode == 0, result.errors
    # No destroy: this emulator is the session's, and goes with it.
    return review(result.plan)


def _flags(result, address):
    return [(r.kind, r.detail) for r in result.risks if r.address == address]


def test_a_waf_association_removed_is_flagged(weakened_review):
    assert _flags(weakened_review, "aws_wafv2_web_acl_association.api") == [
        ("exposure", "a WAF web ACL is removed from the resource it protected")
    ]


def test_a_web_acl_default_action_from_block_to_allow_is_flagged(weakened_review):
    assert _flags(weakened_review, "aws_wafv2_web_acl.api") == [("exposure", "the web ACL's default action changes from block to allow")]


def test_a_distribution_losing_its_web_acl_is_flagged(weakened_review):
    assert _flags(weakened_review, "aws_cloudfront_distribution.cdn") == [("exposure", "the distribution's WAF web ACL is removed")]


def test_object_lock_compliance_to_governance_is_flagged(weakened_review):
    assert _flags(weakened_review, "aws_s3_bucket_object_lock_configuration.locked") == [
        ("protection", "Object Lock mode COMPLIANCE → GOVERNANCE: privileged users can now delete retained objects")
    ]


def test_deleting_the_alert_topic_its_subscription_or_an_alarm_is_flagged(weakened_review):
    assert _flags(weakened_review, "aws_sns_topic.alerts") == [("alerting", "the sns_topic alarms notify is deleted")]
    assert _flags(weakened_review, "aws_sns_topic_subscription.email") == [("alerting", "the sns_topic_subscription alarms notify is deleted")]
    assert _flags(weakened_review, "aws_cloudwatch_metric_alarm.errors") == [("alerting", "alarm flags-errors is deleted: nobody hears of that failure")]


def test_inline_and_attached_role_policies_are_flagged(weakened_review):
    assert _flags(weakened_review, "aws_iam_role.inline") == [
        ("iam", "inline policies changed (they bypass policy attachments and their review)"),
        ("iam", "managed policies attached through managed_policy_arns"),
    ]
    assert _flags(weakened_review, "aws_iam_role_policy_attachment.admin") == [("iam", f"create of a policy attachment ({ADMIN})")]
    assert _flags(weakened_review, "aws_iam_role_policy_attachment.read_only") == [("iam", f"delete of a policy attachment ({READ_ONLY})")]
    ((kind, detail),) = _flags(weakened_review, "aws_iam_role_policy.widened")
    assert kind == "iam" and "`logs:PutLogEvents`" in detail


def test_the_untouched_and_unflagged_resources_stay_quiet(weakened_review):
    flagged = {r.address for r in weakened_review.risks}
    assert not flagged & {"aws_wafv2_web_acl.cdn", "aws_api_gateway_stage.v1", "aws_s3_bucket.locked", "aws_iam_role.attached"}
