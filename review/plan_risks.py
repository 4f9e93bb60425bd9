"""The risks a plan review flags, one rule per way reviewers get burned.

Each rule reads one planned change (`resource_changes[]` of `terraform show -json`) and yields
`Risk`s that say what changes and why it is risky. The rules:

Kinds and what each flags:

- stateful: deletion or replacement of a table, bucket, KMS key (with its deletion window) or log
  group, and deletion of such an object left deposed by an interrupted replacement (its data goes
  with it).
- iam: IAM policies and resource policies (KMS key, bucket, topic and queue policies; a bucket,
  topic or queue policy deleted): every Allow that is new or wider (actions, NotAction, resources,
  principals such as `*` or another account, conditions removed or changed), an Allow only
  narrowed worded as narrowed, Denies removed or changed (narrowed, made conditional), actions no
  longer allowed; a policy known only after apply (unless AWS supplies the default), sensitive or
  unreadable; inline or `managed_policy_arns` policies on roles; policy attachments added or
  removed.
- exposure: a public access block relaxed; a new or changed Allow to principal `*` in a resource
  or trust policy; an API method no longer requiring a key or authorization, or a new method
  needing neither; http allowed to viewers; a Lambda permission without a source ARN, or for `*`
  or an account; a WAF association or a distribution's web ACL removed; WAF rules that stop
  blocking (a rule's action to count or allow, a rule group to count, a rule inside a managed
  group overridden to count or allow); countries a web ACL or a distribution stops refusing; a
  web ACL inspecting less of request bodies; a web ACL's default action from block to allow; a
  rule that still blocks but lets more through (oversized bodies no longer matched, a higher body
  size limit, a country judged by a forwarded-IP header, a rule group scoped down), or an allow
  rule placed ahead of the blocking ones; a web ACL re-addressed is judged against the one it
  replaces; a method, route, response or other part of a REST API deleted (the live stage keeps
  serving it).
- protection: deletion protection or point-in-time recovery switched off; `force_destroy`
  switched on for a bucket; versioning suspended or removed; Object Lock retention removed or
  shortened (days or years), or COMPLIANCE → GOVERNANCE; a table's KMS encryption switched off or
  its key changed; a bucket's default encryption removed, or its algorithm or key changed; log
  retention shortened (from never expiring too); the customer-managed key of a log group, topic,
  queue or function removed or changed; the region's API Gateway logging role reset (the account
  setting deleted).
- alerting: an alarm's actions (alarm, OK or insufficient-data) removed, on update or
  replacement, or disabled; an alarm, its topic or subscription deleted.
- tags: `Environment=Production` missing or drifting away.

Rules judge what happens to the object: a move or an import that also updates is an update.
Sensitive values (before_sensitive/after_sensitive) are masked before any rule reads them, so no
risk can quote one. Every value a risk quotes from the plan is in a code span (`code`), so no
value can add Markdown or HTML to the comment.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from constructs_lib.api_snapshot import snapshotted
from stacks.facts import REQUIRED_TAGS

KINDS = ("stateful", "iam", "exposure", "protection", "alerting", "tags")
STATEFUL = {"aws_dynamodb_table", "aws_s3_bucket", "aws_kms_key", "aws_cloudwatch_log_group"}
IAM_POLICY_ATTRIBUTES = {
    "aws_iam_policy": "policy",
    "aws_iam_role_policy": "policy",
    "aws_iam_user_policy": "policy",
    "aws_iam_group_policy": "policy",
    "aws_iam_role": "assume_role_policy",
}
# Resources that are one resource policy: deleting one takes its Denies with it.
POLICY_RESOURCES = {"aws_s3_bucket_policy", "aws_sns_topic_policy", "aws_sqs_queue_policy"}
# Resources with a policy AWS supplies when none is set: an unknown one there grants nothing new.
COMPUTED_POLICIES = {"aws_kms_key", "aws_sns_topic", "aws_sqs_queue"}
RESOURCE_POLICY_ATTRIBUTES = dict.fromkeys(sorted(POLICY_RESOURCES | COMPUTED_POLICIES), "policy")
# Policies whose principals are outside the account's IAM: who they let in is exposure.
PRINCIPAL_POLICIES = {**RESOURCE_POLICY_ATTRIBUTES, "aws_iam_role": "assume_role_policy"}
ATTACHMENTS = {
    "aws_iam_role_policy_attachment",
    "aws_iam_user_policy_attachment",
    "aws_iam_group_policy_attachment",
    "aws_iam_policy_attachment",
}
# The attribute that names a resource's customer-managed key.
KEY_ATTRIBUTES = {
    "aws_cloudwatch_log_group": "kms_key_id",
    "aws_sns_topic": "kms_master_key_id",
    "aws_sqs_queue": "kms_master_key_id",
    "aws_lambda_function": "kms_key_arn",
}
ALARM_ACTIONS = (
    ("alarm_actions", "alarm actions"),
    ("ok_actions", "OK actions"),
    ("insufficient_data_actions", "insufficient-data actions"),
)
WAF_STOPPING_ACTIONS = ("block", "captcha", "challenge")
SENSITIVE = "(sensitive)"
PUBLIC_ACCESS_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
ANYONE = {"*", "AWS:*"}
# A risk lists this many values, or policy changes, and counts the rest: the comment must fit.
LISTED = 10
CODE_WIDTH = 200


@dataclass(frozen=True)
class Risk:
    kind: str
    address: str
    detail: str


def code(value: Any) -> str:
    """A value from the plan as a Markdown code span: nothing in it can end the span, break the
    line or render as Markdown or HTML (GitHub shows a code span's text as it is)."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = " ".join(text.split()).replace("`", "'")
    return f"`{text[:CODE_WIDTH]}{'…' if len(text) > CODE_WIDTH else ''}`"


def listing(values: list[Any]) -> str:
    """The first values as code spans, the rest counted."""
    shown = ", ".join(code(v) for v in values[:LISTED])
    return shown + (f" and {len(values) - LISTED} more" if len(values) > LISTED else "")


def _blocks(value: Any) -> list[dict[str, Any]]:
    """A block list's elements; none when it is absent, masked or unknown."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


@dataclass(frozen=True)
class _Change:
    address: str
    type: str
    action: str  # create, update, replace, delete or delete-deposed: a move or import is not a risk
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    unknown: Any  # after_unknown: True when the whole object is unknown

    def first(self, side: Any, *path: Any) -> Any:
        """A nested value; a block (a list in plan JSON) stands for its first element."""
        value: Any = side
        for step in path:
            if isinstance(value, list):
                value = value[0] if value else None
            value = value.get(step) if isinstance(value, dict) else None
        return value

    def unknown_at(self, *path: Any) -> bool:
        """Whether after_unknown marks the value at `path` or a block around it."""
        marks = self.unknown
        for step in path:
            if isinstance(marks, list):
                marks = marks[0] if marks else None
            if marks is True:
                return True
            marks = marks.get(step) if isinstance(marks, dict) else None
        return marks is True

    def switched_off(self, *path: Any) -> bool:
        return self.first(self.before, *path) is True and self.first(self.after, *path) is False

    def switched_on(self, *path: Any) -> bool:
        return self.first(self.before, *path) is False and self.first(self.after, *path) is True

    def replaced_value(self, *path: Any) -> tuple[Any, Any] | None:
        """Before and after of a value set before that changes, when after is known."""
        old, new = self.first(self.before, *path), self.first(self.after, *path)
        return None if not old or old == new or self.unknown_at(*path) else (old, new)


def base_action(action: str) -> str:
    """What happens to the object, without the move or import that may come with it."""
    return "+".join(part for part in action.split("+") if part not in ("move", "import")) or action


# ---- policy documents -------------------------------------------------------------------------


def parse_policy(document: Any) -> dict[str, Any] | None:
    """A JSON policy document as an object; None when unknown, sensitive or not a JSON object."""
    if not isinstance(document, str) or document == SENSITIVE:
        return None
    try:
        parsed = json.loads(document)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def statement_list(policy: Mapping[str, Any]) -> list[Any]:
    """A parsed policy's statements as a list (IAM allows a single statement object too)."""
    statements = policy.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def statement_sid(statement: Any) -> str | None:
    """A statement's Sid when it is a usable name (a malformed policy may hold a list there)."""
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    return sid if isinstance(sid, str) and sid else None


def _statements(document: Any) -> list[dict[str, Any]] | None:
    """A policy's statements; None when unknown, sensitive or not a policy document."""
    policy = parse_policy(document)
    if policy is None:
        return None
    return [statement for statement in statement_list(policy) if isinstance(statement, dict)]


def _as_set(value: Any) -> set[str]:
    if value is None:
        return set()
    return {json.dumps(v, sort_keys=True) if not isinstance(v, str) else v for v in (value if isinstance(value, list) else [value])}


def _principals(value: Any) -> set[str]:
    """A Principal as `type:id` strings; a bare "*" is anyone, as `AWS:*` is."""
    if isinstance(value, dict):
        return {f"{kind}:{identity}" for kind, identities in value.items() for identity in _as_set(identities)}
    return _as_set(value)


def _values(statement: Mapping[str, Any], key: str) -> set[str]:
    return _principals(statement.get(key)) if key.endswith("Principal") else _as_set(statement.get(key))


def _covered(value: str, patterns: set[str], key: str) -> bool:
    """Whether one of `patterns` (IAM wildcards * and ?) already grants `value`; actions ignore case."""
    fold = str.lower if key == "Action" else str
    return any(re.fullmatch(re.escape(fold(p)).replace(r"\*", ".*").replace(r"\?", "."), fold(value)) for p in patterns)


def _canonical(statement: Mapping[str, Any]) -> str:
    return json.dumps(
        {k: sorted(_as_set(v)) if isinstance(v, (list, str)) else v for k, v in statement.items() if k != "Sid"}, sort_keys=True
    )


def _effect(statement: Mapping[str, Any]) -> Any:
    return statement.get("Effect", "Allow")


# Keys an Allow grants by, in the order a risk names them; the Not- keys grant what they leave out.
GRANT_KEYS = (
    ("Action", "added"),
    ("NotAction", "every action but"),
    ("Resource", "on"),
    ("NotResource", "on everything but"),
    ("Principal", "to"),
    ("NotPrincipal", "to everyone but"),
)


def _allow_change(name: str, statement: Mapping[str, Any], before: Mapping[str, Any]) -> str:
    """What a new or changed Allow grants beyond its counterpart `before`; when it grants nothing
    more, how it was narrowed (worded as such: a narrowing can break callers, not let anyone in)."""
    grants, narrowed = [], []
    for key, label in GRANT_KEYS:
        new, old = _values(statement, key), _values(before, key)
        if key.startswith("Not"):
            if new != old:
                grants.append(f"{label} {listing(sorted(new))}")
            continue
        wider = sorted(v for v in new if not _covered(v, old, key))
        if wider:
            grants.append(f"{label} {listing(wider)}" + (" (anyone)" if key == "Principal" and ANYONE & set(wider) else ""))
        elif new != old:
            narrowed.append(f"{key} now {listing(sorted(new))}")
    old_condition, new_condition = before.get("Condition") or None, statement.get("Condition") or None
    if old_condition and old_condition != new_condition:
        grants.append("conditions " + ("removed" if not new_condition else "changed"))
    elif new_condition and not old_condition and before:
        narrowed.append("conditions added")
    if grants:
        return f"allow {code(name)}: " + "; ".join(grants)
    return f"allow {code(name)} narrowed: " + "; ".join(narrowed) if narrowed else f"allow {code(name)}: changed"


def _keyed(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Statements by name: a statement's counterpart has its Sid, or its position when it has none."""
    return {statement_sid(s) or f"#{i}": s for i, s in enumerate(statements)}


def _changed_allows(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Each Allow of `new` that `old` does not hold as it is: its name, itself and its counterpart."""
    old_set, old_by_key = {_canonical(s) for s in old}, _keyed(old)
    for index, statement in enumerate(new):
        if _effect(statement) == "Allow" and _canonical(statement) not in old_set:
            name = statement_sid(statement) or f"#{index}"
            yield name, statement, old_by_key.get(name) or {}


def _deny_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> Iterator[str]:
    """Denies gone or changed (narrowed or made conditional: either may let through what they stopped)."""
    new_set, new_by_key = {_canonical(s) for s in new}, _keyed(new)
    for index, statement in enumerate(old):
        if _effect(statement) != "Deny" or _canonical(statement) in new_set:
            continue
        name = statement_sid(statement) or f"#{index}"
        counterpart = new_by_key.get(name)
        if counterpart is None or _effect(counterpart) != "Deny":
            yield f"deny {code(name)} removed"
        else:
            keys = sorted(
                k for k in statement.keys() | counterpart.keys() if k != "Sid" and _as_set(statement.get(k)) != _as_set(counterpart.get(k))
            )
            yield f"deny {code(name)} changed ({', '.join(keys)})"


def _policy_widening(old_document: Any, new_document: Any) -> list[str]:
    """How a policy changed, in the terms that matter: every Allow that is new or wider, with what
    it grants (actions added, NotAction, resources, principals, conditions), or how it narrowed;
    Denies removed or changed; actions no longer allowed."""
    old, new = _statements(old_document) or [], _statements(new_document) or []
    parts = [_allow_change(name, statement, before) for name, statement, before in _changed_allows(old, new)]
    parts += _deny_changes(old, new)
    allowed = lambda statements: set().union(*(_as_set(s.get("Action")) for s in statements if _effect(s) == "Allow"))  # noqa: E731
    removed = allowed(old) - allowed(new)
    if removed:
        parts.append("removed " + listing(sorted(removed)))
    return parts


def _policy_risks(c: _Change, attribute: str) -> Iterator[Risk]:
    """The IAM risk of a policy document's change: what it grants, or why that cannot be shown."""
    new = c.after.get(attribute)
    if c.unknown_at(attribute):
        if c.type not in COMPUTED_POLICIES:
            yield Risk("iam", c.address, f"{c.action}: the {attribute} is known only after apply")
    elif new == SENSITIVE or c.before.get(attribute) == SENSITIVE:
        yield Risk("iam", c.address, f"{c.action}: the {attribute} is sensitive, so its change is not shown")
    elif _statements(new) is None and new is not None:
        yield Risk("iam", c.address, f"{c.action}: the {attribute} is not a readable policy document")
    else:
        parts = _policy_widening(c.before.get(attribute), new)
        if len(parts) > LISTED:
            parts = parts[:LISTED] + [f"and {len(parts) - LISTED} more changes"]
        if parts:
            yield Risk("iam", c.address, f"{c.action}: " + "; ".join(parts))


# ---- the rules --------------------------------------------------------------------------------


def _stateful(c: _Change) -> Iterator[Risk]:
    if c.type in STATEFUL and c.action in ("delete", "replace", "delete-deposed"):
        detail = f"{c.action} of a stateful {c.type}: its data goes with it"
        if c.type == "aws_kms_key":
            window = c.before.get("deletion_window_in_days")
            days = window if isinstance(window, int) and window > 0 else 30  # AWS's default
            detail += f"; the key is scheduled for deletion in {days} days, and what it encrypted becomes unreadable"
        yield Risk("stateful", c.address, detail)


def _iam(c: _Change) -> Iterator[Risk]:
    policy = IAM_POLICY_ATTRIBUTES.get(c.type) or RESOURCE_POLICY_ATTRIBUTES.get(c.type)
    if policy and (c.action in ("create", "update", "replace") or (c.action == "delete" and c.type in POLICY_RESOURCES)):
        yield from _policy_risks(c, policy)
    if c.type == "aws_iam_role" and c.action in ("create", "update", "replace"):
        if c.after.get("inline_policy") not in (None, [], c.before.get("inline_policy")):
            yield Risk("iam", c.address, "inline policies changed (they bypass policy attachments and their review)")
        if set(_strings(c.after.get("managed_policy_arns"))) - set(_strings(c.before.get("managed_policy_arns"))):
            yield Risk("iam", c.address, "managed policies attached through `managed_policy_arns`")
    if c.type in ATTACHMENTS and c.action in ("create", "delete", "replace"):
        arn = c.after.get("policy_arn") or c.before.get("policy_arn") or "(known after apply)"
        yield Risk("iam", c.address, f"{c.action} of a policy attachment ({code(arn)})")


def _open_to_anyone(c: _Change) -> Iterator[Risk]:
    """Allows to principal "*" that are new or changed: anyone on the internet, bar conditions."""
    attribute = PRINCIPAL_POLICIES.get(c.type)
    if not attribute or c.action not in ("create", "update", "replace"):
        return
    old, new = _statements(c.before.get(attribute)) or [], _statements(c.after.get(attribute)) or []
    opened = [name for name, statement, _ in _changed_allows(old, new) if ANYONE & _principals(statement.get("Principal"))]
    if opened:
        yield Risk("exposure", c.address, f"the {attribute} allows principal `*` (anyone): " + listing(opened))


def _lambda_permission(c: _Change) -> Iterator[Risk]:
    if c.type != "aws_lambda_permission" or c.action not in ("create", "update", "replace"):
        return
    principal = c.after.get("principal")
    if not c.after.get("source_arn") and not c.unknown_at("source_arn"):
        yield Risk("exposure", c.address, f"lets {code(principal)} invoke the function from any source (no `source_arn`)")
    # A service principal is AWS's; "*" or an account (an ID or an ARN) is someone's.
    if isinstance(principal, str) and not principal.endswith(".amazonaws.com") and principal != c.before.get("principal"):
        yield Risk("exposure", c.address, f"lets {'anyone' if principal == '*' else 'account'} {code(principal)} invoke the function")


def _first_of(block: Any) -> dict[str, Any]:
    """A block's first element; empty when there is none (an absent block is [] in plan JSON)."""
    return (_blocks(block) or [{}])[0]


def _first_block(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A nested block's first element."""
    return _first_of(config.get(name))


def _stops(rule: Mapping[str, Any]) -> bool:
    return bool(_first_block(rule, "override_action").get("none") or any(_first_block(rule, "action").get(a) for a in WAF_STOPPING_ACTIONS))


def _waf_blocking(side: Mapping[str, Any]) -> set[str]:
    """Rules that stop requests: a block, CAPTCHA or challenge action, or a rule group not overridden to count."""
    return {str(rule.get("name")) for rule in _blocks(side.get("rule")) if _stops(rule)}


def _waf_relaxed(side: Mapping[str, Any]) -> set[str]:
    """`group/rule` for each rule inside a managed rule group overridden to count or allow."""
    names = set()
    for rule in _blocks(side.get("rule")):
        group = _first_block(_first_block(rule, "statement"), "managed_rule_group_statement")
        for inner in _blocks(group.get("rule_action_override")):
            used = _first_block(inner, "action_to_use")
            if used.get("count") or used.get("allow"):
                names.add(f"{rule.get('name')}/{inner.get('name')}")
    return names


DEFAULT_INSPECTION_KB = 16


def _waf_blocked_countries(side: Mapping[str, Any]) -> set[str]:
    """Countries a blocking rule refuses by a geo match."""
    countries = set()
    for rule in _blocks(side.get("rule")):
        if any(_first_block(rule, "action").get(a) for a in WAF_STOPPING_ACTIONS):
            countries |= set(_strings(_first_block(_first_block(rule, "statement"), "geo_match_statement").get("country_codes")))
    return countries


def inspection_limits(side: Mapping[str, Any]) -> dict[str, int]:
    """How many KB of a body WAF inspects, by protected resource type (default 16)."""
    bodies = _first_block(_first_block(side, "association_config"), "request_body")
    limits = {}
    for resource, setting in bodies.items():
        limit = _first_of(setting).get("default_size_inspection_limit")
        if isinstance(limit, str) and limit.startswith("KB_") and limit[3:].isdigit():
            limits[resource] = int(limit[3:])
    return limits


def _public_access_block(c: _Change) -> Iterator[Risk]:
    relaxed = [
        flag for flag in PUBLIC_ACCESS_FLAGS if c.action == "delete" or (c.after.get(flag) is False and c.before.get(flag) is not False)
    ]
    if relaxed:
        yield Risk("exposure", c.address, "public access block relaxed: " + ", ".join(relaxed))


def _api_method(c: _Change) -> Iterator[Risk]:
    if c.action in ("update", "replace"):
        if c.after.get("api_key_required") is False and c.before.get("api_key_required") is True:
            yield Risk("exposure", c.address, "the method no longer requires an API key")
        if c.after.get("authorization") == "NONE" and c.before.get("authorization") not in (None, "NONE"):
            yield Risk("exposure", c.address, f"the method no longer requires {code(c.before.get('authorization'))} authorization")
    if c.action == "create" and c.after.get("api_key_required") is False and c.after.get("authorization") == "NONE":
        yield Risk(
            "exposure", c.address, f"a new {code(c.after.get('http_method'))} method that needs neither an API key nor authorization"
        )


def _api_snapshot_deleted(c: _Change) -> Iterator[Risk]:
    """The apply deploys the API before it deletes what was removed from it (create_before_destroy),
    so the stage's new snapshot still holds the removed method, route or response."""
    if c.action == "delete" and c.before.get("rest_api_id") and snapshotted(c.type):
        yield Risk(
            "exposure",
            c.address,
            "removed from the API, but the live stage keeps serving it until a deployment made after this apply "
            '(docs/security.md, "Changes that reach the live API")',
        )


def _distribution(c: _Change) -> Iterator[Risk]:
    behaviors = _blocks(c.after.get("default_cache_behavior")) + _blocks(c.after.get("ordered_cache_behavior"))
    if any(b.get("viewer_protocol_policy") == "allow-all" for b in behaviors):
        yield Risk("exposure", c.address, "a cache behavior lets viewers use http (allow-all)")
    if c.before.get("web_acl_id") and not c.after.get("web_acl_id") and not c.unknown_at("web_acl_id"):
        yield Risk("exposure", c.address, "the distribution's WAF web ACL is removed")
    elif c.before.get("web_acl_id") and (c.unknown_at("web_acl_id") or c.after.get("web_acl_id") != c.before.get("web_acl_id")):
        shown = "(known after apply)" if c.unknown_at("web_acl_id") else code(c.after.get("web_acl_id"))
        yield Risk(
            "exposure",
            c.address,
            f"the distribution is protected by another WAF web ACL: {shown} instead of {code(c.before['web_acl_id'])}",
        )
    if c.action in ("update", "replace"):

        def refused(side: Mapping[str, Any]) -> set[str]:
            geo = _first_block(_first_block(side, "restrictions"), "geo_restriction")
            return set(_strings(geo.get("locations"))) if geo.get("restriction_type") == "blacklist" else set()

        allowed_again = refused(c.before) - refused(c.after)
        if allowed_again:
            yield Risk("exposure", c.address, "the distribution no longer refuses viewers from " + listing(sorted(allowed_again)))


def _web_acl_association(c: _Change) -> Iterator[Risk]:
    if c.action == "delete":
        yield Risk("exposure", c.address, "a WAF web ACL is removed from the resource it protected")
    if c.action not in ("update", "replace"):
        return
    # Both attributes force a replacement: the resource is then guarded by another ACL, or the ACL guards another resource.
    for attribute, what in (
        ("web_acl_arn", "the resource is protected by another web ACL"),
        ("resource_arn", "the web ACL protects another resource"),
    ):
        old, new = c.before.get(attribute), c.after.get(attribute)
        if c.unknown_at(attribute) or new != old:
            shown = "(known after apply)" if c.unknown_at(attribute) else code(new)
            yield Risk("exposure", c.address, f"{what}: {shown} instead of {code(old)}")


def _web_acl(c: _Change) -> Iterator[Risk]:
    if c.action == "delete":
        yield Risk("exposure", c.address, f"the WAF web ACL {code(c.before.get('name'))} is deleted: what it protected loses its rules")
    if c.action not in ("update", "replace"):
        return
    if c.unknown_at("rule"):
        yield Risk("exposure", c.address, "the web ACL's rules are known only after apply: what they block cannot be judged here")
        return
    weakened = (_waf_blocking(c.before) - _waf_blocking(c.after)) | (_waf_relaxed(c.after) - _waf_relaxed(c.before))
    if weakened:
        yield Risk("exposure", c.address, "WAF rules no longer block: " + listing(sorted(weakened)))
    allowed_again = _waf_blocked_countries(c.before) - _waf_blocked_countries(c.after)
    if allowed_again:
        yield Risk("exposure", c.address, "callers from " + listing(sorted(allowed_again)) + " are no longer blocked")
    before, after = inspection_limits(c.before), inspection_limits(c.after)
    for resource, limit in sorted(before.items()):
        lowered = after.get(resource, DEFAULT_INSPECTION_KB)
        if lowered < limit and not c.unknown_at("association_config"):
            yield Risk(
                "exposure",
                c.address,
                f"WAF inspects {lowered} KB of {code(resource)} request bodies instead of {limit} KB: what lies beyond passes uninspected",
            )
    # An absent block is an empty list in plan JSON.
    if c.first(c.before, "default_action", "block") and c.first(c.after, "default_action", "allow"):
        yield Risk("exposure", c.address, "the web ACL's default action changes from block to allow")
    for detail in _waf_loosened_statements(c.before, c.after):
        yield Risk("exposure", c.address, detail)


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


def _set_anywhere(value: Any, key: str) -> bool:
    return any(inner not in (None, [], {}) for inner in _nested(value, key))


def _waf_loosened_statements(before: Mapping[str, Any], after: Mapping[str, Any]) -> Iterator[str]:
    """What a rule that still blocks lets through now: oversized bodies passed on, a size
    constraint changed to admit more, a country judged by a header the client writes, a rule
    group scoped down; and an allow rule moved ahead of a blocking rule it did not precede."""
    old = {str(r.get("name")): r for r in _blocks(before.get("rule"))}
    new = {str(r.get("name")): r for r in _blocks(after.get("rule"))}
    for name in sorted(old.keys() & new.keys()):
        yield from _rule_loosened(code(name), old[name], new[name])
    yield from _allows_ahead(old, new)


def _rule_loosened(rule: str, was: Mapping[str, Any], now: Mapping[str, Any]) -> Iterator[str]:
    # Statement by statement, in the order the rule lists them.
    if any(
        a == "MATCH" and b != "MATCH" for a, b in zip(_nested(was, "oversize_handling"), _nested(now, "oversize_handling"), strict=False)
    ):
        yield f"WAF rule {rule} no longer matches oversized bodies: what lies beyond the inspected part passes it"
    for a, b in zip(_nested(was, "size_constraint_statement"), _nested(now, "size_constraint_statement"), strict=False):
        first, second = _first_of(a), _first_of(b)
        operators, sizes = (first.get("comparison_operator"), second.get("comparison_operator")), (first.get("size"), second.get("size"))
        if operators[0] != operators[1]:
            yield f"WAF rule {rule} compares sizes with {code(operators[1])} instead of {code(operators[0])}"
        elif (
            all(isinstance(size, int) for size in sizes)
            and sizes[1] != sizes[0]
            and (sizes[1] > sizes[0]) == (operators[1] in ("GT", "GE"))
        ):
            yield f"WAF rule {rule} blocks by size {sizes[1]} bytes instead of {sizes[0]}: it lets more through"
    if not _set_anywhere(was, "forwarded_ip_config") and _set_anywhere(now, "forwarded_ip_config"):
        yield f"WAF rule {rule} judges the caller by a forwarded-IP header, which the caller can write"
    if not _set_anywhere(was, "scope_down_statement") and _set_anywhere(now, "scope_down_statement"):
        yield f"WAF rule {rule} now inspects only the requests its scope-down statement matches"
    limits = [
        _first_of(side).get("limit")
        for side in (next(_nested(was, "rate_based_statement"), None), next(_nested(now, "rate_based_statement"), None))
    ]
    if all(isinstance(limit, int) for limit in limits) and limits[1] > limits[0]:
        yield f"WAF rule {rule} allows {limits[1]} requests per window instead of {limits[0]}"
    old, new = (_unjudged(_first_block(side, "statement")) for side in (was, now))
    if old != new:
        yield (
            f"WAF rule {rule} matches by another statement ({listing(sorted(_statement_kinds(new)))} "
            f"instead of {listing(sorted(_statement_kinds(old)))}): judge by hand that it still blocks what it did"
        )


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
    """A statement without the fields judged by direction (an empty block is kept: `uri_path {}`
    says what is inspected)."""
    if isinstance(value, list):
        return [_unjudged(item) for item in value]
    if isinstance(value, dict):
        return {k: _unjudged(v) for k, v in value.items() if k not in JUDGED_STATEMENT_FIELDS}
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

    def allows(rule: Mapping[str, Any] | None) -> bool:
        return rule is not None and bool(_first_block(rule, "action").get("allow"))

    for name, rule in sorted(new.items()):
        if not allows(rule):
            continue
        overtaken = sorted(
            other
            for other, blocking in new.items()
            if _stops(blocking) and precedes(new, name, other) and not (allows(old.get(name)) and precedes(old, name, other))
        )
        if overtaken:
            yield f"WAF rule {code(name)} allows requests before blocking rules judge them: " + listing(overtaken)


_EXPOSURE_BY_TYPE: dict[str, Callable[[_Change], Iterator[Risk]]] = {
    "aws_s3_bucket_public_access_block": _public_access_block,
    "aws_api_gateway_method": _api_method,
    "aws_cloudfront_distribution": _distribution,
    "aws_wafv2_web_acl_association": _web_acl_association,
    "aws_wafv2_web_acl": _web_acl,
}


def _exposure(c: _Change) -> Iterator[Risk]:
    if c.type in _EXPOSURE_BY_TYPE:
        yield from _EXPOSURE_BY_TYPE[c.type](c)
    yield from _api_snapshot_deleted(c)
    yield from _open_to_anyone(c)
    yield from _lambda_permission(c)


def _retention_days(c: _Change, side: Mapping[str, Any]) -> tuple[int, str] | None:
    """Object Lock's default retention in days (a year counted as 365), and as configured."""
    for unit, days in (("days", 1), ("years", 365)):
        value = c.first(side, "rule", "default_retention", unit)
        if isinstance(value, int) and value > 0:
            return value * days, f"{value} {unit}"
    return None


def _log_retention(value: Any) -> float:
    """A log group's retention in days: 0 or none keeps logs forever."""
    return value if isinstance(value, int) and value > 0 else math.inf


def _key_risks(c: _Change, path: tuple[str, ...], what: str) -> Iterator[Risk]:
    """A customer-managed key removed or swapped: what the old key encrypted needs it kept."""
    change = c.replaced_value(*path)
    if change and change[1]:
        yield Risk(
            "protection",
            c.address,
            f"{what} key changed from {code(change[0])} to {code(change[1])}: "
            "readers need the new key, and what the old one encrypted needs it kept",
        )
    elif change:
        yield Risk("protection", c.address, "encryption with the customer-managed key removed")


def _table_protection(c: _Change) -> Iterator[Risk]:
    if c.switched_off("deletion_protection_enabled"):
        yield Risk("protection", c.address, "deletion protection switched off: the table can now be destroyed")
    if c.switched_off("point_in_time_recovery", "enabled"):
        yield Risk("protection", c.address, "point-in-time recovery switched off: its backups are deleted")
    # Without the block, or with it disabled, the table falls back to a key AWS owns.
    if c.first(c.before, "server_side_encryption", "enabled") is True and c.action != "delete":
        if c.first(c.after, "server_side_encryption", "enabled") is not True and not c.unknown_at("server_side_encryption", "enabled"):
            yield Risk("protection", c.address, "encryption with a KMS key switched off")
        else:
            yield from _key_risks(c, ("server_side_encryption", "kms_key_arn"), "the table's encryption")


def _bucket_protection(c: _Change) -> Iterator[Risk]:
    if c.type == "aws_s3_bucket" and c.switched_on("force_destroy"):
        yield Risk("protection", c.address, "`force_destroy` switched on: destroying the bucket now deletes every object in it")
    if c.type == "aws_s3_bucket_versioning":
        old, new = (c.first(side, "versioning_configuration", "status") for side in (c.before, c.after))
        if c.action == "delete":
            yield Risk("protection", c.address, "versioning removed: overwritten objects are lost")
        elif new in ("Suspended", "Disabled") and new != old:
            yield Risk("protection", c.address, f"versioning {new.lower()}: overwritten objects are lost")
    if c.type == "aws_s3_bucket_object_lock_configuration":
        old, new = _retention_days(c, c.before), _retention_days(c, c.after)
        old_mode = c.first(c.before, "rule", "default_retention", "mode")
        new_mode = c.first(c.after, "rule", "default_retention", "mode")
        if c.action == "delete" or (old_mode and not new_mode):
            yield Risk("protection", c.address, "Object Lock default retention removed: new objects can be deleted at once")
        elif old and new and new[0] < old[0]:
            yield Risk("protection", c.address, f"Object Lock default retention shortened from {old[1]} to {new[1]}")
        if old_mode == "COMPLIANCE" and new_mode == "GOVERNANCE":
            yield Risk(
                "protection", c.address, "Object Lock mode COMPLIANCE → GOVERNANCE: privileged users can now delete retained objects"
            )
    if c.type == "aws_s3_bucket_server_side_encryption_configuration":
        default = ("rule", "apply_server_side_encryption_by_default")
        old, new = (c.first(side, *default, "sse_algorithm") for side in (c.before, c.after))
        if c.action == "delete":
            yield Risk("protection", c.address, "default encryption removed")
        elif old != new:
            yield Risk(
                "protection",
                c.address,
                f"default encryption changed from {code(old)} to {code(new)}: "
                "readers without the new key's permissions (CloudFront's OAC cannot use aws/s3) fail",
            )
        else:
            yield from _key_risks(c, (*default, "kms_master_key_id"), "default encryption")


def _protection(c: _Change) -> Iterator[Risk]:
    if c.action not in ("update", "delete", "replace"):
        return
    if c.type == "aws_dynamodb_table":
        yield from _table_protection(c)
    if c.type == "aws_api_gateway_account" and c.action == "delete" and c.before.get("cloudwatch_role_arn"):
        yield Risk(
            "protection",
            c.address,
            "the region's API Gateway logging role is reset: every REST API stage in the region writes no execution "
            "logs until a deployment sets it again",
        )
    yield from _bucket_protection(c)
    if c.type in KEY_ATTRIBUTES and c.action in ("update", "replace"):
        yield from _key_risks(c, (KEY_ATTRIBUTES[c.type],), "the customer-managed")
    if c.type == "aws_cloudwatch_log_group" and c.action == "update":
        old, new = _log_retention(c.before.get("retention_in_days")), _log_retention(c.after.get("retention_in_days"))
        if new < old and not c.unknown_at("retention_in_days"):
            yield Risk(
                "protection",
                c.address,
                f"log retention shortened from {'never expiring' if old == math.inf else old} to {new} days: older logs are deleted",
            )


def _alerting(c: _Change) -> Iterator[Risk]:
    if c.type in ("aws_sns_topic", "aws_sns_topic_subscription") and c.action == "delete":
        yield Risk("alerting", c.address, f"the {c.type.removeprefix('aws_')} alarms notify is deleted")
    if c.type != "aws_cloudwatch_metric_alarm":
        return
    if c.action == "delete":
        yield Risk("alerting", c.address, f"alarm {code(c.before.get('alarm_name'))} is deleted: nobody hears of that failure")
    elif c.action in ("update", "replace"):
        for attribute, label in ALARM_ACTIONS:
            removed = set(_strings(c.before.get(attribute))) - set(_strings(c.after.get(attribute)))
            if removed and not c.unknown_at(attribute):
                yield Risk("alerting", c.address, f"{label} removed: " + listing(sorted(removed)))
        if c.before.get("actions_enabled") is not False and c.after.get("actions_enabled") is False:
            yield Risk("alerting", c.address, "alarm actions disabled (`actions_enabled = false`)")


def _tags(c: _Change) -> Iterator[Risk]:
    tags = c.after.get("tags_all")
    if c.action in ("create", "update", "replace") and isinstance(tags, dict):
        drift = {k: tags.get(k) for k, v in REQUIRED_TAGS.items() if tags.get(k) != v}
        missing = [k for k, v in drift.items() if v is None]
        if missing:
            yield Risk("tags", c.address, "lacks " + ", ".join(f"{k}={REQUIRED_TAGS[k]}" for k in missing))
        if len(missing) < len(drift):
            yield Risk("tags", c.address, "tags drift: " + listing([f"{k}={v}" for k, v in drift.items() if v is not None]))


RULES: tuple[Callable[[_Change], Iterator[Risk]], ...] = (_stateful, _iam, _exposure, _protection, _alerting, _tags)


def _masked(value: Any, marks: Any) -> Any:
    """`value` with every sensitive part replaced by "(sensitive)", so no rule can quote it."""
    if marks is True:
        return SENSITIVE
    if isinstance(value, dict) and isinstance(marks, dict):
        return {k: _masked(v, marks.get(k)) for k, v in value.items()}
    if isinstance(value, list) and isinstance(marks, list):
        return [_masked(v, marks[i] if i < len(marks) else None) for i, v in enumerate(value)]
    return value


def _side(value: Any, marks: Any) -> dict[str, Any]:
    """One side of a change, masked; a side sensitive as a whole keeps its keys, every value masked."""
    if not isinstance(value, dict):
        return {}
    return dict.fromkeys(value, SENSITIVE) if marks is True else _masked(value, marks)


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


def risks_of(change: Mapping[str, Any], action: str) -> list[Risk]:
    body = change["change"]
    before = _side(body.get("before"), body.get("before_sensitive"))
    after = _side(body.get("after"), body.get("after_sensitive"))
    c = _Change(change["address"], change["type"], base_action(action), before, after, body.get("after_unknown") or {})
    return [risk for rule in RULES for risk in rule(c)]
