"""Risk flags the stack's own workspaces cannot reach, on real plans: a small Terraform
configuration of the same resource types is applied on the emulator, then changed the way a bad
pull request would change the stack, and the plan terraform makes for that change is reviewed.

The stack cannot serve here: its distribution needs a response headers policy the emulator lacks,
its Object Lock mode is GOVERNANCE already, and it has no role with inline or attached policies,
no queue, no Lambda permission for an account, and no second key to switch to.
"""

from __future__ import annotations

import copy
import json
import zipfile

import pytest

from review.plan_review import review
from runners.terraform_runner import Terraform
from stacks.facts import REQUIRED_TAGS

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)
LOGS = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}]})
ACCOUNT, PARTNER = "arn:aws:iam::123456789012:root", "arn:aws:iam::999999999999:root"
KEY_ADMIN = {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "kms:*", "Resource": "*"}
TLS_ONLY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": "arn:aws:s3:::flags-plain/*",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
PARTNER_READS = {
    "Sid": "PartnerReads",
    "Effect": "Allow",
    "Principal": {"AWS": PARTNER},
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::flags-plain/*",
}
ALARMS_PUBLISH = {
    "Sid": "AlarmsPublish",
    "Effect": "Allow",
    "Principal": {"Service": "cloudwatch.amazonaws.com"},
    "Action": "sns:Publish",
    "Resource": "${aws_sns_topic.pager.arn}",
}


def _visibility(name):
    return {"cloudwatch_metrics_enabled": False, "metric_name": name, "sampled_requests_enabled": False}


def _acl(name, scope, default, rules=()):
    return {"name": name, "scope": scope, "default_action": {default: {}}, "visibility_config": _visibility(name), "rule": list(rules)}


def _document(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# A rule that blocks by itself, and a managed rule group whose rules block.
EMBARGO = {
    "name": "Embargo",
    "priority": 1,
    "action": {"block": {}},
    "statement": {"geo_match_statement": {"country_codes": ["KP"]}},
    "visibility_config": _visibility("Embargo"),
}
COMMON = {
    "name": "Common",
    "priority": 2,
    "override_action": {"none": {}},
    "statement": {"managed_rule_group_statement": {"name": "AWSManagedRulesCommonRuleSet", "vendor_name": "AWS"}},
    "visibility_config": _visibility("Common"),
}


def _deployed():
    """What is applied: each resource in its protected state."""
    return {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}},
        "provider": {"aws": [{"region": "us-east-1", "default_tags": {"tags": REQUIRED_TAGS}}]},
        "resource": {
            "aws_api_gateway_rest_api": {"api": {"name": "flags-api"}},
            "aws_api_gateway_method": {
                "get": {
                    "rest_api_id": "${aws_api_gateway_rest_api.api.id}",
                    "resource_id": "${aws_api_gateway_rest_api.api.root_resource_id}",
                    "http_method": "GET",
                    "authorization": "NONE",
                    "api_key_required": True,
                }
            },
            "aws_api_gateway_integration": {
                "get": {
                    "rest_api_id": "${aws_api_gateway_rest_api.api.id}",
                    "resource_id": "${aws_api_gateway_rest_api.api.root_resource_id}",
                    "http_method": "${aws_api_gateway_method.get.http_method}",
                    "type": "MOCK",
                }
            },
            "aws_api_gateway_deployment": {
                "api": {"rest_api_id": "${aws_api_gateway_rest_api.api.id}", "depends_on": ["aws_api_gateway_integration.get"]}
            },
            "aws_api_gateway_stage": {
                "v1": {
                    "rest_api_id": "${aws_api_gateway_rest_api.api.id}",
                    "deployment_id": "${aws_api_gateway_deployment.api.id}",
                    "stage_name": "v1",
                }
            },
            "aws_wafv2_web_acl": {
                "api": _acl("flags-api", "REGIONAL", "block", [EMBARGO, COMMON]),
                "cdn": _acl("flags-cdn", "CLOUDFRONT", "allow"),
            },
            "aws_wafv2_web_acl_association": {
                "api": {"resource_arn": "${aws_api_gateway_stage.v1.arn}", "web_acl_arn": "${aws_wafv2_web_acl.api.arn}"}
            },
            "aws_cloudfront_distribution": {
                "cdn": {
                    "enabled": True,
                    "origin": [
                        {
                            "domain_name": "example.com",
                            "origin_id": "site",
                            "custom_origin_config": {
                                "http_port": 80,
                                "https_port": 443,
                                "origin_protocol_policy": "https-only",
                                "origin_ssl_protocols": ["TLSv1.2"],
                            },
                        }
                    ],
                    "default_cache_behavior": {
                        "allowed_methods": ["GET", "HEAD"],
                        "cached_methods": ["GET", "HEAD"],
                        "target_origin_id": "site",
                        "viewer_protocol_policy": "redirect-to-https",
                        "cache_policy_id": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                    },
                    "restrictions": {"geo_restriction": {"restriction_type": "none"}},
                    "viewer_certificate": {"cloudfront_default_certificate": True},
                    "web_acl_id": "${aws_wafv2_web_acl.cdn.arn}",
                    "wait_for_deployment": False,
                }
            },
            "aws_s3_bucket": {
                "locked": {"bucket": "flags-locked", "object_lock_enabled": True},
                "plain": {"bucket": "flags-plain", "force_destroy": False},
            },
            "aws_s3_bucket_object_lock_configuration": {
                "locked": {"bucket": "${aws_s3_bucket.locked.id}", "rule": {"default_retention": {"mode": "COMPLIANCE", "years": 10}}}
            },
            "aws_s3_bucket_policy": {"plain": {"bucket": "${aws_s3_bucket.plain.id}", "policy": _document(TLS_ONLY)}},
            "aws_s3_bucket_server_side_encryption_configuration": {
                "plain": {
                    "bucket": "${aws_s3_bucket.plain.id}",
                    "rule": {
                        "apply_server_side_encryption_by_default": {
                            "sse_algorithm": "aws:kms",
                            "kms_master_key_id": "${aws_kms_key.one.arn}",
                        }
                    },
                }
            },
            "aws_kms_key": {
                "one": {"description": "flags one", "deletion_window_in_days": 7, "policy": _document(KEY_ADMIN)},
                "two": {"description": "flags two", "deletion_window_in_days": 7},
            },
            "aws_dynamodb_table": {
                "items": {
                    "name": "flags-items",
                    "billing_mode": "PAY_PER_REQUEST",
                    "hash_key": "id",
                    "attribute": [{"name": "id", "type": "S"}],
                    "server_side_encryption": {"enabled": True, "kms_key_arn": "${aws_kms_key.one.arn}"},
                }
            },
            "aws_cloudwatch_log_group": {"app": {"name": "flags-app", "retention_in_days": 0, "kms_key_id": "${aws_kms_key.one.arn}"}},
            # A topic policy stands for every resource policy the rule diffs (an SQS queue would do
            # too, but the provider waits half a minute for each queue's attributes to settle).
            "aws_sns_topic_policy": {"pager": {"arn": "${aws_sns_topic.pager.arn}", "policy": _document(ALARMS_PUBLISH)}},
            "aws_lambda_function": {
                "worker": {
                    "function_name": "flags-worker",
                    "role": "${aws_iam_role.attached.arn}",
                    "runtime": "python3.12",
                    "handler": "index.handler",
                    # Absolute: the shared provider process resolves paths from its own folder.
                    "filename": "${abspath(path.module)}/function.zip",
                    "kms_key_arn": "${aws_kms_key.one.arn}",
                }
            },
            "aws_sns_topic": {"alerts": {"name": "flags-alerts"}, "pager": {"name": "flags-pager"}},
            "aws_sns_topic_subscription": {
                "email": {"topic_arn": "${aws_sns_topic.alerts.arn}", "protocol": "email", "endpoint": "ops@example.com"}
            },
            "aws_cloudwatch_metric_alarm": {
                "errors": {
                    "alarm_name": "flags-errors",
                    "namespace": "AWS/Lambda",
                    "metric_name": "Errors",
                    "statistic": "Sum",
                    "period": 60,
                    "evaluation_periods": 1,
                    "threshold": 1,
                    "comparison_operator": "GreaterThanOrEqualToThreshold",
                    "alarm_actions": ["${aws_sns_topic.alerts.arn}"],
                },
                "latency": {
                    "alarm_name": "flags-latency",
                    "namespace": "AWS/Lambda",
                    "metric_name": "Duration",
                    "statistic": "Maximum",
                    "period": 60,
                    "evaluation_periods": 1,
                    "threshold": 1000,
                    "comparison_operator": "GreaterThanThreshold",
                    "alarm_actions": ["${aws_sns_topic.pager.arn}"],
                    "ok_actions": ["${aws_sns_topic.pager.arn}"],
                },
            },
            "aws_iam_role": {
                "inline": {"name": "flags-inline", "assume_role_policy": TRUST},
                "attached": {"name": "flags-attached", "assume_role_policy": TRUST},
            },
            "aws_iam_role_policy_attachment": {"read_only": {"role": "${aws_iam_role.attached.name}", "policy_arn": READ_ONLY}},
        },
    }


def _weakened(deployed):
    """The same configuration after a bad pull request."""
    config = copy.deepcopy(deployed)
    resources = config["resource"]
    del resources["aws_wafv2_web_acl_association"]
    api = resources["aws_wafv2_web_acl"]["api"]
    api["default_action"] = {"allow": {}}
    api["rule"][0]["action"] = {"allow": {}}
    api["rule"][1]["statement"]["managed_rule_group_statement"]["rule_action_override"] = [
        {"name": "SizeRestrictions_BODY", "action_to_use": {"count": {}}}
    ]
    del resources["aws_cloudfront_distribution"]["cdn"]["web_acl_id"]
    resources["aws_s3_bucket_object_lock_configuration"]["locked"]["rule"]["default_retention"] = {"mode": "GOVERNANCE", "days": 1}
    resources["aws_s3_bucket"]["plain"]["force_destroy"] = True
    resources["aws_s3_bucket_policy"]["plain"]["policy"] = _document(PARTNER_READS)
    resources["aws_s3_bucket_server_side_encryption_configuration"]["plain"]["rule"]["apply_server_side_encryption_by_default"][
        "kms_master_key_id"
    ] = "${aws_kms_key.two.arn}"
    resources["aws_kms_key"]["one"]["policy"] = _document({**KEY_ADMIN, "Principal": {"AWS": [ACCOUNT, PARTNER]}})
    resources["aws_dynamodb_table"]["items"]["server_side_encryption"]["kms_key_arn"] = "${aws_kms_key.two.arn}"
    resources["aws_cloudwatch_log_group"]["app"] |= {"retention_in_days": 7, "kms_key_id": "${aws_kms_key.two.arn}"}
    resources["aws_sns_topic_policy"]["pager"]["policy"] = _document({**ALARMS_PUBLISH, "Principal": {"AWS": "*"}})
    del resources["aws_lambda_function"]["worker"]["kms_key_arn"]
    resources["aws_lambda_permission"] = {
        "partner": {
            "function_name": "${aws_lambda_function.worker.function_name}",
            "action": "lambda:InvokeFunction",
            "principal": "999999999999",
        }
    }
    alarms = resources["aws_cloudwatch_metric_alarm"]
    alarms["latency"] |= {"alarm_name": "flags-latency-v2", "alarm_actions": [], "ok_actions": []}  # a new name replaces the alarm
    del alarms["errors"], resources["aws_sns_topic"]["alerts"], resources["aws_sns_topic_subscription"]
    resources["aws_iam_role"]["inline"] |= {"inline_policy": [{"name": "logs", "policy": LOGS}], "managed_policy_arns": [ADMIN]}
    resources["aws_iam_role_policy"] = {"widened": {"role": "${aws_iam_role.attached.id}", "name": "logs", "policy": LOGS}}
    resources["aws_iam_role_policy_attachment"] = {"admin": {"role": "${aws_iam_role.attached.name}", "policy_arn": ADMIN}}
    return config


# Once per worker: its emulator is the session's, so a second apply of the same names (a module
# fixture set up again after another module's tests ran in between) would collide with the first.
@pytest.fixture(scope="session")
def weakened_review(emulator, provider, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("flags")
    terraform = Terraform(workdir, emulator.client_env(), provider)
    config = workdir / "main.tf.json"
    with zipfile.ZipFile(workdir / "function.zip", "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
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


def test_waf_rules_let_through_and_a_default_action_from_block_to_allow_are_flagged(weakened_review):
    assert _flags(weakened_review, "aws_wafv2_web_acl.api") == [
        ("exposure", "WAF rules no longer block: `Common/SizeRestrictions_BODY`, `Embargo`"),
        # The geo rule set to count: the country it refused is named.
        ("exposure", "callers from `KP` are no longer blocked"),
        ("exposure", "the web ACL's default action changes from block to allow"),
        # Allowed, not merely counted: what it matches skips every rule after it.
        ("exposure", "WAF rule `Embargo` allows requests before blocking rules judge them: `Common`"),
    ]


def test_a_distribution_losing_its_web_acl_is_flagged(weakened_review):
    assert _flags(weakened_review, "aws_cloudfront_distribution.cdn") == [("exposure", "the distribution's WAF web ACL is removed")]


def test_object_lock_shortened_from_years_and_compliance_to_governance_are_flagged(weakened_review):
    assert _flags(weakened_review, "aws_s3_bucket_object_lock_configuration.locked") == [
        ("protection", "Object Lock default retention shortened from 10 years to 1 days"),
        ("protection", "Object Lock mode COMPLIANCE → GOVERNANCE: privileged users can now delete retained objects"),
    ]


def test_deleting_the_alert_topic_its_subscription_or_an_alarm_is_flagged(weakened_review):
    assert _flags(weakened_review, "aws_sns_topic.alerts") == [("alerting", "the sns_topic alarms notify is deleted")]
    assert _flags(weakened_review, "aws_sns_topic_subscription.email") == [
        ("alerting", "the sns_topic_subscription alarms notify is deleted")
    ]
    assert _flags(weakened_review, "aws_cloudwatch_metric_alarm.errors") == [
        ("alerting", "alarm `flags-errors` is deleted: nobody hears of that failure")
    ]


def test_an_alarm_replaced_without_its_actions_is_flagged(weakened_review):
    (change,) = [c for c in weakened_review.changes if c.address == "aws_cloudwatch_metric_alarm.latency"]
    assert change.action == "replace"
    assert [(kind, detail.split(": `")[0]) for kind, detail in _flags(weakened_review, change.address)] == [
        ("alerting", "alarm actions removed"),
        ("alerting", "OK actions removed"),
    ]
    assert all(":sns:us-east-1:123456789012:flags-pager`" in detail for _, detail in _flags(weakened_review, change.address))


def test_resource_policies_opened_or_stripped_of_a_deny_are_flagged(weakened_review):
    assert _flags(weakened_review, "aws_s3_bucket_policy.plain") == [
        (
            "iam",
            "update: allow `PartnerReads`: added `s3:GetObject`; on `arn:aws:s3:::flags-plain/*`; "
            f"to `AWS:{PARTNER}`; deny `DenyInsecureTransport` removed",
        )
    ]
    assert _flags(weakened_review, "aws_kms_key.one") == [("iam", f"update: allow `AccountAdministers`: to `AWS:{PARTNER}`")]
    assert _flags(weakened_review, "aws_sns_topic_policy.pager") == [
        ("iam", "update: allow `AlarmsPublish`: to `AWS:*` (anyone)"),
        ("exposure", "the policy allows principal `*` (anyone): `AlarmsPublish`"),
    ]
    assert _flags(weakened_review, "aws_lambda_permission.partner") == [
        ("exposure", "lets `999999999999` invoke the function from any source (no `source_arn`)"),
        ("exposure", "lets account `999999999999` invoke the function"),
    ]


def test_keys_swapped_or_removed_retention_shortened_and_force_destroy_are_flagged(weakened_review):
    swapped = "key changed from `arn:aws:kms:us-east-1:123456789012:key/"
    assert _flags(weakened_review, "aws_s3_bucket.plain") == [
        ("protection", "`force_destroy` switched on: destroying the bucket now deletes every object in it")
    ]
    ((kind, detail),) = _flags(weakened_review, "aws_dynamodb_table.items")
    assert kind == "protection" and detail.startswith(f"the table's encryption {swapped}")
    ((kind, detail),) = _flags(weakened_review, "aws_s3_bucket_server_side_encryption_configuration.plain")
    assert kind == "protection" and detail.startswith(f"default encryption {swapped}")
    (key, retention) = _flags(weakened_review, "aws_cloudwatch_log_group.app")
    assert key[1].startswith(f"the customer-managed {swapped}")
    assert retention == ("protection", "log retention shortened from never expiring to 7 days: older logs are deleted")
    assert _flags(weakened_review, "aws_lambda_function.worker") == [("protection", "encryption with the customer-managed key removed")]


def test_inline_and_attached_role_policies_are_flagged(weakened_review):
    assert _flags(weakened_review, "aws_iam_role.inline") == [
        ("iam", "inline policies changed (they bypass policy attachments and their review)"),
        ("iam", "managed policies attached through `managed_policy_arns`"),
    ]
    assert _flags(weakened_review, "aws_iam_role_policy_attachment.admin") == [("iam", f"create of a policy attachment (`{ADMIN}`)")]
    assert _flags(weakened_review, "aws_iam_role_policy_attachment.read_only") == [
        ("iam", f"delete of a policy attachment (`{READ_ONLY}`)")
    ]
    ((kind, detail),) = _flags(weakened_review, "aws_iam_role_policy.widened")
    assert kind == "iam" and "`logs:PutLogEvents`" in detail


def test_the_untouched_and_unflagged_resources_stay_quiet(weakened_review):
    flagged = {r.address for r in weakened_review.risks}
    assert not flagged & {
        "aws_wafv2_web_acl.cdn",
        "aws_api_gateway_stage.v1",
        "aws_s3_bucket.locked",
        "aws_iam_role.attached",
        "aws_kms_key.two",
        "aws_sns_topic.pager",
    }
