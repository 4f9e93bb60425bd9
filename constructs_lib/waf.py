"""A WAFv2 web ACL with AWS managed rule groups, a per-IP rate limit, and logging.

Rules: the common rule set (OWASP top ten), known bad inputs (incl. Log4j), the Amazon IP
reputation list, the anonymous IP list (its hosting-provider rule only counts, so API clients
running in clouds are not blocked), and a rate limit per client IP. Requests are logged to a CloudWatch log group
(named `aws-waf-logs-*`, as WAF requires) encrypted with the given key. REGIONAL scope protects
an API Gateway stage; CLOUDFRONT scope (created in us-east-1) a distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclDefaultActionAllow,
    Wafv2WebAclRule,
    Wafv2WebAclRuleAction,
    Wafv2WebAclRuleActionBlock,
    Wafv2WebAclRuleOverrideAction,
    Wafv2WebAclRuleOverrideActionNone,
    Wafv2WebAclRuleVisibilityConfig,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import Wafv2WebAclLoggingConfiguration
from constructs import Construct

# The common rule set blocks bodies over 8 KB (SizeRestrictions_BODY).
BODY_SIZE_RULE = ("AWSManagedRulesCommonRuleSet", "SizeRestrictions_BODY")
# Managed rule group -> its rules that only count instead of blocking.
MANAGED_RULE_GROUPS = {
    "AWSManagedRulesCommonRuleSet": (),
    "AWSManagedRulesKnownBadInputsRuleSet": (),
    "AWSManagedRulesAmazonIpReputationList": (),
    "AWSManagedRulesAnonymousIpList": ("HostingProviderIPList",),
}


@dataclass(frozen=True)
class WebAclProps:
    name: str
    scope: str  # "REGIONAL" or "CLOUDFRONT"
    key_arn: str
    # Requests per client IP per 5 minutes before WAF blocks it.
    rate_limit: int = 2000
    # Let bodies over 8 KB through (the rule then only counts) to a backend that enforces its
    # own, larger limit; otherwise WAF answers 403 before the backend sees them.
    large_bodies: bool = False
    log_retention_days: int = 30


def _visibility(metric: str) -> Wafv2WebAclRuleVisibilityConfig:
    return Wafv2WebAclRuleVisibilityConfig(cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True)


class WebAcl(Construct):
    def __init__(self, scope: Construct, id_: str, props: WebAclProps) -> None:
        super().__init__(scope, id_)
        counted_rules = {group: list(rules) for group, rules in MANAGED_RULE_GROUPS.items()}
        if props.large_bodies:
            group, rule = BODY_SIZE_RULE
            counted_rules[group].append(rule)
        managed = [
            Wafv2WebAclRule(
                name=group,
                priority=priority,
                override_action=Wafv2WebAclRuleOverrideAction(none=Wafv2WebAclRuleOverrideActionNone()),
                statement={
                    "managed_rule_group_statement": {
                        "name": group,
                        "vendor_name": "AWS",
                        "rule_action_override": [{"name": rule, "action_to_use": {"count": {}}} for rule in counted] or None,
                    }
                },
                visibility_config=_visibility(group),
            )
            for priority, (group, counted) in enumerate(counted_rules.items(), start=1)
        ]
        rate_limit = Wafv2WebAclRule(
            name="RateLimitPerIp",
            priority=len(managed) + 1,
            action=Wafv2WebAclRuleAction(block=Wafv2WebAclRuleActionBlock()),
            statement={"rate_based_statement": {"limit": props.rate_limit, "aggregate_key_type": "IP"}},
            visibility_config=_visibility("RateLimitPerIp"),
        )
        self.acl = Wafv2WebAcl(
            self,
            "acl",
            name=props.name,
            scope=props.scope,
            default_action=Wafv2WebAclDefaultAction(allow=Wafv2WebAclDefaultActionAllow()),
            rule=[*managed, rate_limit],
            visibility_config=Wafv2WebAclVisibilityConfig(
                cloudwatch_metrics_enabled=True, metric_name=props.name, sampled_requests_enabled=True
            ),
        )
        log_group = CloudwatchLogGroup(
            self,
            "log-group",
            name=f"aws-waf-logs-{props.name}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.key_arn,
        )
        Wafv2WebAclLoggingConfiguration(
            self,
            "logging",
            resource_arn=self.acl.arn,
            log_destination_configs=[log_group.arn],
        )
