"""Exposure through the firewalls: WAF web ACLs, their associations and the distribution's ACL.

A rule of a web ACL is judged by name across the change: one that stops blocking, blocks less (a
limit raised, oversized bodies passed on, a country judged by a header the caller writes, a
group scoped down) or matches by another statement is flagged; an allow rule placed ahead of the
blocking ones is too. A web ACL re-created at a new address is judged against the one it
replaces (`readdressed`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from review.plan_rules.base import Example, PlannedChange, blocks, code, first_block, first_of, listing, plan_rule, strings

WEB_ACL = {"aws_wafv2_web_acl"}
# The actions that stop a request, by how firmly: a challenge or a CAPTCHA lets through whoever solves it.
STOPPING_RANK = {"block": 3, "captcha": 2, "challenge": 1}


def _rank(rule: Mapping[str, Any]) -> int:
    """How firmly a rule stops requests: a rule group not overridden to count blocks; 0 does not stop."""
    if first_block(rule, "override_action").get("none"):
        return STOPPING_RANK["block"]
    return max((rank for action, rank in STOPPING_RANK.items() if first_block(rule, "action").get(action)), default=0)


def _stops(rule: Mapping[str, Any]) -> bool:
    return _rank(rule) > 0


def blocking_rules(side: Mapping[str, Any]) -> set[str]:
    """Rules that stop requests: a block, CAPTCHA or challenge action, or a rule group not overridden to count."""
    return {str(rule.get("name")) for rule in blocks(side.get("rule")) if _stops(rule)}


def relaxed_rules(side: Mapping[str, Any]) -> set[str]:
    """`group/rule` for each rule inside a managed rule group overridden to count or allow."""
    names = set()
    for rule in blocks(side.get("rule")):
        group = first_block(first_block(rule, "statement"), "managed_rule_group_statement")
        for inner in blocks(group.get("rule_action_override")):
            used = first_block(inner, "action_to_use")
            if used.get("count") or used.get("allow"):
                names.add(f"{rule.get('name')}/{inner.get('name')}")
    return names


DEFAULT_INSPECTION_KB = 16


def _geo(value: Any, negated: bool = False) -> Iterator[tuple[bool, str]]:
    """Each country a statement's geo matches name, anywhere in it, and whether a `not` around it
    turns it into an exemption."""
    if isinstance(value, list):
        for item in value:
            yield from _geo(item, negated)
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key == "geo_match_statement":
                yield from ((negated, country) for block in blocks(inner) for country in strings(block.get("country_codes")))
            else:
                yield from _geo(inner, not negated if key == "not_statement" else negated)


def _countries(side: Mapping[str, Any], exempt: bool) -> set[str]:
    return {
        country
        for rule in blocks(side.get("rule"))
        if _stops(rule)
        for negated, country in _geo(first_block(rule, "statement"))
        if negated is exempt
    }


def blocked_countries(side: Mapping[str, Any]) -> set[str]:
    """Countries a blocking rule refuses by a geo match, wherever in its statement."""
    return _countries(side, exempt=False)


def exempt_countries(side: Mapping[str, Any]) -> set[str]:
    """Countries a blocking rule leaves alone by a negated geo match ("block all but ...")."""
    return _countries(side, exempt=True)


def inspection_limits(side: Mapping[str, Any]) -> dict[str, int]:
    """How many KB of a body WAF inspects, by protected resource type (default 16)."""
    bodies = first_block(first_block(side, "association_config"), "request_body")
    limits = {}
    for resource, setting in bodies.items():
        limit = first_of(setting).get("default_size_inspection_limit")
        if isinstance(limit, str) and limit.startswith("KB_") and limit[3:].isdigit():
            limits[resource] = int(limit[3:])
    return limits


def _nested(value: Any, key: str) -> Iterator[Any]:
    """Every value under `key` anywhere in a rule's nested blocks."""
    if isinstance(value, list):
        for item in value:
            yield from _nested(item, key)
    elif isinstance(value, dict):
        for name, inner in value.items():
            if name == key:
                yield inner
            yield from _nested(inner, key)


def _waf_loosened_statements(before: Mapping[str, Any], after: Mapping[str, Any]) -> Iterator[str]:
    """What a rule that still blocks lets through now: oversized bodies passed on, a size
    constraint changed to admit more, a country judged by a header the client writes, a rule
    group scoped down; and an allow rule moved ahead of a blocking rule it did not precede."""
    old = {str(r.get("name")): r for r in blocks(before.get("rule"))}
    new = {str(r.get("name")): r for r in blocks(after.get("rule"))}
    for name in sorted(old.keys() & new.keys()):
        yield from _rule_loosened(code(name), old[name], new[name])
    yield from _allows_ahead(old, new)


def _allows(rule: Mapping[str, Any]) -> bool:
    return bool(first_block(rule, "action").get("allow"))


def _rule_loosened(rule: str, was: Mapping[str, Any], now: Mapping[str, Any]) -> Iterator[str]:
    """A rule that allows, judged by any change of its statement; one that stops, by each way it
    can stop less. A rule that only counts judges nothing (W3 flags a stopping rule set to count)."""
    if _allows(was) or _allows(now):
        if _normalized(first_block(was, "statement")) != _normalized(first_block(now, "statement")):
            yield f"WAF allow rule {rule} matches by another statement: judge by hand what it now lets through"
        return
    if not (_rank(was) and _rank(now)):
        return
    if _rank(now) < _rank(was):
        yield f"WAF rule {rule} stops requests with a weaker action now (a CAPTCHA or challenge lets through whoever solves it)"
    yield from _sizes_loosened(rule, was, now)
    yield from _caller_checks_loosened(rule, was, now)
    limits = [
        first_of(side).get("limit")
        for side in (next(_nested(was, "rate_based_statement"), None), next(_nested(now, "rate_based_statement"), None))
    ]
    if all(isinstance(limit, int) for limit in limits) and limits[1] > limits[0]:
        yield f"WAF rule {rule} allows {limits[1]} requests per window instead of {limits[0]}"
    old, new = (_unjudged(first_block(side, "statement")) for side in (was, now))
    if old != new:
        yield (
            f"WAF rule {rule} matches by another statement ({listing(sorted(_statement_kinds(new)))} "
            f"instead of {listing(sorted(_statement_kinds(old)))}): judge by hand that it still blocks what it did"
        )


def _sizes_loosened(rule: str, was: Mapping[str, Any], now: Mapping[str, Any]) -> Iterator[str]:
    """Oversized bodies passed on, and size constraints admitting more, statement by statement in
    the order the rule lists them."""
    if any(
        a == "MATCH" and b != "MATCH" for a, b in zip(_nested(was, "oversize_handling"), _nested(now, "oversize_handling"), strict=False)
    ):
        yield f"WAF rule {rule} no longer matches oversized bodies: what lies beyond the inspected part passes it"
    for a, b in zip(_nested(was, "size_constraint_statement"), _nested(now, "size_constraint_statement"), strict=False):
        first, second = first_of(a), first_of(b)
        operators, sizes = (first.get("comparison_operator"), second.get("comparison_operator")), (first.get("size"), second.get("size"))
        if operators[0] != operators[1]:
            yield f"WAF rule {rule} compares sizes with {code(operators[1])} instead of {code(operators[0])}"
        elif (
            all(isinstance(size, int) for size in sizes)
            and sizes[1] != sizes[0]
            and (sizes[1] > sizes[0]) == (operators[1] in ("GT", "GE"))
        ):
            yield f"WAF rule {rule} blocks by size {sizes[1]} bytes instead of {sizes[0]}: it lets more through"


# What decides which callers and requests a stopping rule judges: set where it was not, or changed.
CALLER_CHECKS = (
    (
        "forwarded_ip_config",
        "judges the caller by a forwarded-IP header, which the caller can write",
        "judges the caller's forwarded-IP header by other settings (a missing header may now pass)",
    ),
    (
        "scope_down_statement",
        "now inspects only the requests its scope-down statement matches",
        "inspects other requests: its scope-down statement changes",
    ),
)


def _caller_checks_loosened(rule: str, was: Mapping[str, Any], now: Mapping[str, Any]) -> Iterator[str]:
    for field, appeared, changed in CALLER_CHECKS:
        old_part, new_part = (_normalized([v for v in _nested(side, field) if v not in (None, [], {})]) for side in (was, now))
        if new_part and not old_part:
            yield f"WAF rule {rule} {appeared}"
        elif old_part and new_part != old_part:
            yield f"WAF rule {rule} {changed}"


# What the checks above judge by direction (or, for a group's version, leave alone): the rest of a
# statement changing is flagged as a change of what the rule matches.
JUDGED_STATEMENT_FIELDS = {
    "size",
    "comparison_operator",
    "oversize_handling",
    "forwarded_ip_config",
    "scope_down_statement",
    "country_codes",
    "limit",
    "version",
    "rule_action_override",
}


def _unjudged(value: Any) -> Any:
    """A statement without the fields judged by direction, normalized."""
    return _normalized(value, JUDGED_STATEMENT_FIELDS)


def _normalized(value: Any, left_out: frozenset[str] | set[str] = frozenset()) -> Any:
    """A statement as its meaning: an unset value and an absent or empty list as one (a refresh
    flips them), the operands of `and`/`or` in any order; an empty block is kept (`uri_path {}`
    says what is inspected)."""
    if isinstance(value, list):
        items = [_normalized(item, left_out) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True)) if all(isinstance(i, dict) for i in items) else items
    if isinstance(value, dict):
        kept = {k: _normalized(v, left_out) for k, v in value.items() if k not in left_out}
        return {k: v for k, v in kept.items() if v not in (None, [], "")}
    return value


def _statement_kinds(statement: Any) -> set[str]:
    """The statement types a rule's statement is built of (`byte_match_statement`, ...)."""
    return {key for block in _nested_keys(statement) for key in [block] if key.endswith("_statement")} or {"none"}


def _nested_keys(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from _nested_keys(item)
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _nested_keys(inner)


def _allows_ahead(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[str]:
    """Allow rules now evaluated before blocking rules they did not precede (by order, not number)."""

    def precedes(rules: Mapping[str, Any], first: str, second: str) -> bool:
        a, b = rules.get(first, {}).get("priority"), rules.get(second, {}).get("priority")
        return isinstance(a, int) and isinstance(b, int) and a < b

    for name, rule in sorted(new.items()):
        if not _allows(rule):
            continue
        allowed_before = name in old and _allows(old[name])
        overtaken = sorted(
            other
            for other, blocking in new.items()
            if _stops(blocking) and precedes(new, name, other) and not (allowed_before and precedes(old, name, other))
        )
        if overtaken:
            yield f"WAF rule {code(name)} allows requests before blocking rules judge them: " + listing(overtaken)


# Resources judged against the one they replace when a change of address deletes one and creates
# another of the same name (a renamed construct without a moved block).
JUDGED_ACROSS_ADDRESSES = {"aws_wafv2_web_acl"}


def readdressed(changes: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each create that replaces a deletion of the same type and name elsewhere, as the update it is."""

    def identity(c: Mapping[str, Any], side: str) -> tuple[Any, ...]:
        # A name is unique within a scope: a CLOUDFRONT and a REGIONAL web ACL may share one.
        body = c["change"].get(side) or {}
        return c["type"], body.get("scope"), body.get("name")

    deleted = {identity(c, "before"): c for c in changes if c["type"] in JUDGED_ACROSS_ADDRESSES and c["change"]["actions"] == ["delete"]}
    updates = []
    for c in changes:
        old = deleted.get(identity(c, "after"))
        if old is not None and c["change"]["actions"] == ["create"]:
            body = {
                **c["change"],
                "actions": ["update"],
                "before": old["change"]["before"],
                "before_sensitive": old["change"].get("before_sensitive"),
            }
            updates.append({**c, "change": body})
    return updates


def _acl(*rules: dict[str, Any], name: str = "api-waf", default: str = "allow", inspected_kb: int | None = None) -> dict[str, Any]:
    """A web ACL as plan JSON, for the rules' examples."""
    bodies = [{"api_gateway": [{"default_size_inspection_limit": f"KB_{inspected_kb}"}]}] if inspected_kb else []
    return {
        "name": name,
        "scope": "REGIONAL",
        "rule": list(rules),
        "default_action": [{default: [{}]}],
        "association_config": [{"request_body": bodies}] if bodies else [],
    }


def _geo_rule(*countries: str, action: str = "block") -> dict[str, Any]:
    return {
        "name": "BlockedCountries",
        "priority": 1,
        "action": [{action: [{}]}],
        "statement": [{"geo_match_statement": [{"country_codes": list(countries)}]}],
    }


def _size_rule(size: int = 65536, oversize: str = "MATCH") -> dict[str, Any]:
    body = [{"body": [{"oversize_handling": oversize}]}]
    statement = {"size_constraint_statement": [{"comparison_operator": "GT", "size": size, "field_to_match": body}]}
    return {"name": "BodyTooLarge", "priority": 2, "action": [{"block": [{}]}], "statement": [statement]}


def _judged(c: PlannedChange) -> bool:
    """Whether the ACL's rules are known: rules known only after apply are W2's finding alone."""
    return not c.unknown_at("rule")


@plan_rule(
    "W1",
    "exposure",
    "Web ACL deleted",
    "A web ACL deleted takes its rules from what it protected (with a new one of the same name elsewhere, the new "
    "one is judged against it: a renamed construct needs a moved block to avoid the window).",
    types=WEB_ACL,
    actions={"delete"},
    flagged=Example("aws_wafv2_web_acl", ("delete",), _acl(_geo_rule("KP")), None),
    unflagged=Example("aws_wafv2_web_acl", ("create",), None, _acl(_geo_rule("KP"))),
)
def web_acl_deleted(c: PlannedChange) -> Iterator[str]:
    yield f"the WAF web ACL {code(c.before.get('name'))} is deleted: what it protected loses its rules"


@plan_rule(
    "W2",
    "exposure",
    "Web ACL rules known only after apply",
    "Rules computed from values known only after apply cannot be judged in the plan: review them after the apply.",
    types=WEB_ACL,
    actions={"update", "replace"},
    flagged=Example("aws_wafv2_web_acl", ("update",), _acl(_geo_rule("KP")), _acl(), {"rule": True}),
    unflagged=Example("aws_wafv2_web_acl", ("update",), _acl(_geo_rule("KP")), _acl(_geo_rule("KP", "CU"))),
)
def web_acl_rules_unknown(c: PlannedChange) -> Iterator[str]:
    if not _judged(c):
        yield "the web ACL's rules are known only after apply: what they block cannot be judged here"


@plan_rule(
    "W3",
    "exposure",
    "WAF rules no longer block",
    "A rule's action from block (or CAPTCHA, challenge) to count or allow, a rule removed, a rule group set to "
    "count, or a rule inside a managed group overridden to count or allow.",
    types=WEB_ACL,
    actions={"update", "replace"},
    flagged=Example("aws_wafv2_web_acl", ("update",), _acl(_geo_rule("KP")), _acl(_geo_rule("KP", action="count"))),
    unflagged=Example("aws_wafv2_web_acl", ("update",), _acl(_geo_rule("KP")), _acl(_geo_rule("KP"), _size_rule())),
)
def web_acl_rules_stop_blocking(c: PlannedChange) -> Iterator[str]:
    if _judged(c):
        weakened = (blocking_rules(c.before) - blocking_rules(c.after)) | (relaxed_rules(c.after) - relaxed_rules(c.before))
        if weakened:
            yield "WAF rules no longer block: " + listing(sorted(weakened))


@plan_rule(
    "W4",
    "exposure",
    "Web ACL blocks fewer countries",
    "Countries a blocking geo match stops refusing.",
    types=WEB_ACL,
    actions={"update", "replace"},
    flagged=Example("aws_wafv2_web_acl", ("update",), _acl(_geo_rule("CU", "KP")), _acl(_geo_rule("CU"))),
    unflagged=Example("aws_wafv2_web_acl", ("update",), _acl(_geo_rule("CU")), _acl(_geo_rule("CU", "KP"))),
)
def web_acl_countries(c: PlannedChange) -> Iterator[str]:
    if _judged(c):
        allowed_again = (blocked_countries(c.before) - blocked_countries(c.after)) | (
            exempt_countries(c.after) - exempt_countries(c.before)
        )
        if allowed_again:
            yield "callers from " + listing(sorted(allowed_again)) + " are no longer blocked"


@plan_rule(
    "W5",
    "exposure",
    "Less of a body inspected",
    "A lower body inspection limit (or the setting removed: 16 KB) leaves what lies beyond it uninspected by every rule.",
    types=WEB_ACL,
    actions={"update", "replace"},
    flagged=Example("aws_wafv2_web_acl", ("update",), _acl(inspected_kb=64), _acl(inspected_kb=32)),
    unflagged=Example("aws_wafv2_web_acl", ("update",), _acl(inspected_kb=32), _acl(inspected_kb=64)),
)
def web_acl_inspection(c: PlannedChange) -> Iterator[str]:
    before, after = inspection_limits(c.before), inspection_limits(c.after)
    for resource, limit in sorted(before.items()):
        lowered = after.get(resource, DEFAULT_INSPECTION_KB)
        if lowered < limit and not c.unknown_at("association_config"):
            yield f"WAF inspects {lowered} KB of {code(resource)} request bodies instead of {limit} KB: what lies beyond passes uninspected"


@plan_rule(
    "W6",
    "exposure",
    "Default action from block to allow",
    "A web ACL that blocked what no rule allows now lets it through.",
    types=WEB_ACL,
    actions={"update", "replace"},
    flagged=Example("aws_wafv2_web_acl", ("update",), _acl(default="block"), _acl(default="allow")),
    unflagged=Example("aws_wafv2_web_acl", ("update",), _acl(default="allow"), _acl(default="block")),
)
def web_acl_default_allow(c: PlannedChange) -> Iterator[str]:
    # An absent block is an empty list in plan JSON.
    if c.first(c.before, "default_action", "block") and c.first(c.after, "default_action", "allow"):
        yield "the web ACL's default action changes from block to allow"


@plan_rule(
    "W7",
    "exposure",
    "Blocking rule lets more through",
    "A rule that still blocks but matches less: oversized bodies no longer matched, a size limit or rate limit "
    "raised, another comparison, a country judged by a forwarded-IP header, a group scoped down, or another "
    "statement altogether; and an allow rule placed ahead of blocking rules it did not precede.",
    types=WEB_ACL,
    actions={"update", "replace"},
    flagged=Example("aws_wafv2_web_acl", ("update",), _acl(_size_rule()), _acl(_size_rule(oversize="CONTINUE"))),
    unflagged=Example("aws_wafv2_web_acl", ("update",), _acl(_size_rule()), _acl(_size_rule(size=1024))),
)
def web_acl_rule_loosened(c: PlannedChange) -> Iterator[str]:
    if _judged(c):
        yield from _waf_loosened_statements(c.before, c.after)


_ASSOCIATION = {
    "resource_arn": "arn:aws:apigateway:us-east-1::/restapis/a/stages/v1",
    "web_acl_arn": "arn:aws:wafv2:us-east-1:1:regional/webacl/a/1",
}


@plan_rule(
    "W8",
    "exposure",
    "Web ACL association removed or moved",
    "The association deleted leaves the stage unfiltered; replaced (both its attributes force it), the stage is "
    "guarded by another web ACL, or the ACL guards another resource.",
    types={"aws_wafv2_web_acl_association"},
    actions={"update", "replace", "delete"},
    flagged=Example("aws_wafv2_web_acl_association", ("delete",), _ASSOCIATION, None),
    unflagged=Example("aws_wafv2_web_acl_association", ("create",), None, _ASSOCIATION),
)
def web_acl_association(c: PlannedChange) -> Iterator[str]:
    if c.action == "delete":
        yield "a WAF web ACL is removed from the resource it protected"
        return
    for attribute, what in (
        ("web_acl_arn", "the resource is protected by another web ACL"),
        ("resource_arn", "the web ACL protects another resource"),
    ):
        old, new = c.before.get(attribute), c.after.get(attribute)
        if c.unknown_at(attribute) or new != old:
            shown = "(known after apply)" if c.unknown_at(attribute) else code(new)
            yield f"{what}: {shown} instead of {code(old)}"


_CDN_ACL = "arn:aws:wafv2:us-east-1:1:global/webacl/cdn/1"


@plan_rule(
    "W9",
    "exposure",
    "Distribution's web ACL removed or swapped",
    "The distribution's `web_acl_id` emptied, or pointed at another web ACL whose rules this plan does not show.",
    types={"aws_cloudfront_distribution"},
    flagged=Example("aws_cloudfront_distribution", ("update",), {"web_acl_id": _CDN_ACL}, {"web_acl_id": ""}),
    unflagged=Example(
        "aws_cloudfront_distribution", ("update",), {"web_acl_id": _CDN_ACL, "comment": "a"}, {"web_acl_id": _CDN_ACL, "comment": "b"}
    ),
)
def distribution_web_acl(c: PlannedChange) -> Iterator[str]:
    old, new = c.before.get("web_acl_id"), c.after.get("web_acl_id")
    if old and not new and not c.unknown_at("web_acl_id"):
        yield "the distribution's WAF web ACL is removed"
    elif old and (c.unknown_at("web_acl_id") or new != old):
        shown = "(known after apply)" if c.unknown_at("web_acl_id") else code(new)
        yield f"the distribution is protected by another WAF web ACL: {shown} instead of {code(old)}"
