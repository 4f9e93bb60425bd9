"""A WAFv2 web ACL with AWS managed rule groups, a per-IP rate limit, and logging.

Rules: callers from blocked countries (geo match) first; then, for a backend that takes bodies
larger than WAF inspects by default (16 KB), the inspection raised to cover them and every larger
body blocked, since WAF passes what lies beyond its inspection limit uninspected; the common rule
set (OWASP top ten), known bad inputs (incl. Log4j), the Amazon IP reputation list, the anonymous
IP list (its hosting-provider rule only counts, so API clients running in clouds are not
blocked), and a rate limit per client IP. Requests are logged to a CloudWatch log group (named
`aws-waf-logs-*`, as WAF requires) encrypted with the given key. REGIONAL scope protects an API
Gateway stage; CLOUDFRONT scope (created in us-east-1) a distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclAssociationConfig,
    Wafv2WebAclAssociationConfigRequestBody,
    Wafv2WebAclAssociationConfigRequestBodyApiGateway,
    Wafv2WebAclAssociationConfigRequestBodyCloudfront,
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
MANAGED_BODY_LIMIT = 8 * 1024
# What WAF inspects of a body (API Gateway, CloudFront): 16 KB by default, raised in steps of 16 KB
# to 64 KB (AssociationConfig's DefaultSizeInspectionLimit), at a price per request beyond 16 KB.
INSPECTION_LIMITS_KB = (16, 32, 48, 64)
# The association configuration's block for each scope's protected resource.
INSPECTED_RESOURCE = {
    "REGIONAL": ("api_gateway", Wafv2WebAclAssociationConfigRequestBodyApiGateway),
    "CLOUDFRONT": ("cloudfront", Wafv2WebAclAssociationConfigRequestBodyCloudfront),
}
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
    # The largest body the backend takes. Over 8 KB the common rule set's size rule only counts;
    # over 16 KB the inspection is raised to the next step that covers it; any larger body is
    # blocked. None: bodies over 8 KB are blocked by the common rule set.
    largest_body_bytes: int | None = None
    # ISO 3166 country codes whose callers are blocked.
    blocked_countries: tuple[str, ...] = ()
    log_retention_days: int = 30


def _visibility(metric: str) -> Wafv2WebAclRuleVisibilityConfig:
    return Wafv2WebAclRuleVisibilityConfig(cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True)


def inspection_limit_kb(largest_body_bytes: int) -> int:
    """The smallest body inspection limit that covers the whole of the largest body."""
    for limit in INSPECTION_LIMITS_KB:
        if largest_body_bytes <= limit * 1024:
            return limit
    raise ValueError(
        f"WAF inspects at most {INSPECTION_LIMITS_KB[-1]} KB of a body: a backend taking {largest_body_bytes} bytes "
        "would receive bytes nothing inspected"
    )


def _block(name: str, priority: int, statement: dict) -> Wafv2WebAclRule:
    return Wafv2WebAclRule(
        name=name,
        priority=priority,
        action=Wafv2WebAclRuleAction(block=Wafv2WebAclRuleActionBlock()),
        statement=statement,
        visibility_config=_visibility(name),
    )


class WebAcl(Construct):
    def __init__(self, scope: Construct, id_: str, props: WebAclProps) -> None:
        super().__init__(scope, id_)
        own: list[tuple[str, dict]] = []
        if props.blocked_countries:
            own.append(("BlockedCountries", {"geo_match_statement": {"country_codes": list(props.blocked_countries)}}))
        counted_rules = {group: list(rules) for group, rules in MANAGED_RULE_GROUPS.items()}
        association_config = None
        largest = props.largest_body_bytes
        if largest is not None and largest > MANAGED_BODY_LIMIT:
            group, rule = BODY_SIZE_RULE
            counted_rules[group].append(rule)
            limit = inspection_limit_kb(largest)
            if limit > INSPECTION_LIMITS_KB[0]:
                block, setting = INSPECTED_RESOURCE[props.scope]
                inspected = setting(default_size_inspection_limit=f"KB_{limit}")
                association_config = Wafv2WebAclAssociationConfig(
                    request_body=[Wafv2WebAclAssociationConfigRequestBody(**{block: inspected})]
                )
            # MATCH: a body longer than the inspected part counts as too large, so no byte of it
            # passes uninspected (CONTINUE would judge only the part WAF saw).
            own.append(
                (
                    "BodyLargerThanTheBackendTakes",
                    {
                        "size_constraint_statement": {
                            "comparison_operator": "GT",
                            "size": largest,
                            "field_to_match": {"body": {"oversize_handling": "MATCH"}},
                            "text_transformation": [{"priority": 0, "type": "NONE"}],
                        }
                    },
                )
            )
        first = [_block(name, priority, statement) for priority, (name, statement) in enumerate(own, start=1)]
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
            for priority, (group, counted) in enumerate(counted_rules.items(), start=len(first) + 1)
        ]
        rate_limit = _block(
            "RateLimitPerIp",
            len(first) + len(managed) + 1,
            {"rate_based_statement": {"limit": props.rate_limit, "aggregate_key_type": "IP"}},
        )
        self.acl = Wafv2WebAcl(
            self,
            "acl",
            name=props.name,
            scope=props.scope,
            default_action=Wafv2WebAclDefaultAction(allow=Wafv2WebAclDefaultActionAllow()),
            rule=[*first, *managed, rate_limit],
            association_config=association_config,
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
