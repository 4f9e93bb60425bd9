"""The firewalls see every byte the function takes, and refuse the same countries as the
distribution (constructs_lib/waf.py; docs/security.md, "Request bodies and the firewall").

The construct alone for its rules, the stack's synth for what it is given: the handler's own
body limit (handler/src/contract.json) and the one list of blocked countries (stacks/facts.py).
"""

from __future__ import annotations

import json

import pytest
from cdktf import TerraformStack, Testing

from constructs_lib.waf import INSPECTION_LIMITS_KB, WebAcl, WebAclProps, inspection_limit_kb
from stacks.facts import BLOCKED_COUNTRIES
from stacks.handler_contract import HandlerContract


def _acl(**props) -> dict:
    stack = TerraformStack(Testing.app(), "firewall")
    WebAcl(stack, "waf", WebAclProps(name="t", scope=props.pop("scope", "REGIONAL"), key_arn="arn:aws:kms:us-east-1:1:key/k", **props))
    (acl,) = json.loads(Testing.synth(stack))["resource"]["aws_wafv2_web_acl"].values()
    return acl


def _rule(acl: dict, name: str) -> dict:
    (rule,) = [r for r in acl["rule"] if r["name"] == name]
    return rule


def test_inspection_covers_the_largest_body_in_the_smallest_step_and_nothing_larger_passes():
    assert [inspection_limit_kb(n) for n in (8 * 1024 + 1, 16 * 1024, 16 * 1024 + 1, 48 * 1024, 64 * 1024)] == [16, 16, 32, 48, 64]
    with pytest.raises(ValueError, match="WAF inspects at most 64 KB"):
        inspection_limit_kb(64 * 1024 + 1)
    acl = _acl(largest_body_bytes=40_000)
    assert acl["association_config"] == {"request_body": [{"api_gateway": {"default_size_inspection_limit": "KB_48"}}]}
    block = _rule(acl, "BodyLargerThanTheBackendTakes")
    assert "block" in block["action"]
    statement = block["statement"]["size_constraint_statement"]
    # MATCH: a body longer than what WAF saw is too large; CONTINUE would let its tail through.
    assert (statement["comparison_operator"], statement["size"], statement["field_to_match"]) == (
        "GT",
        40_000,
        {"body": {"oversize_handling": "MATCH"}},
    )
    # Only the size rule this ACL now owns counts in the common rule set.
    common = _rule(acl, "AWSManagedRulesCommonRuleSet")["statement"]["managed_rule_group_statement"]
    assert common["rule_action_override"] == [{"name": "SizeRestrictions_BODY", "action_to_use": {"count": {}}}]


def test_small_bodies_keep_the_defaults():
    acl = _acl(largest_body_bytes=8 * 1024)
    assert "association_config" not in acl and not [r for r in acl["rule"] if r["name"] == "BodyLargerThanTheBackendTakes"]
    assert "association_config" not in _acl(largest_body_bytes=12_000)  # 16 KB is the default inspection
    assert _acl(scope="CLOUDFRONT", largest_body_bytes=20_000)["association_config"] == {
        "request_body": [{"cloudfront": {"default_size_inspection_limit": "KB_32"}}]
    }


def test_blocked_countries_are_refused_before_any_other_rule():
    acl = _acl(blocked_countries=("CU", "KP"))
    first = min(acl["rule"], key=lambda r: r["priority"])
    assert (first["name"], first["statement"]) == ("BlockedCountries", {"geo_match_statement": {"country_codes": ["CU", "KP"]}})
    assert "block" in first["action"]
    assert len({r["priority"] for r in acl["rule"]}) == len(acl["rule"])


def test_the_api_firewall_inspects_every_byte_the_function_takes(synth):
    limit = HandlerContract.load().max_body_bytes
    (acl,) = [a for a in synth.resources("aws_wafv2_web_acl").values() if a["scope"] == "REGIONAL"]
    assert limit <= INSPECTION_LIMITS_KB[-1] * 1024
    assert acl["association_config"] == {
        "request_body": [{"api_gateway": {"default_size_inspection_limit": f"KB_{inspection_limit_kb(limit)}"}}]
    }
    assert _rule(acl, "BodyLargerThanTheBackendTakes")["statement"]["size_constraint_statement"]["size"] == limit


def test_the_api_and_the_distribution_refuse_the_same_countries(synth):
    (acl,) = [a for a in synth.resources("aws_wafv2_web_acl").values() if a["scope"] == "REGIONAL"]
    assert _rule(acl, "BlockedCountries")["statement"]["geo_match_statement"]["country_codes"] == list(BLOCKED_COUNTRIES)
    geo = synth.at("cdn/distribution")["restrictions"]["geo_restriction"]
    assert (geo["restriction_type"], geo["locations"]) == ("blacklist", list(BLOCKED_COUNTRIES))
