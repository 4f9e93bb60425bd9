"""The risks a plan review flags, one rule per way reviewers get burned.

Each rule reads one planned change (`resource_changes[]` of `terraform show -json`) and yields
`Risk`s that say what changes and why it is risky. The rules:

| kind | flags |
|---|---|
| stateful | deletion or replacement of a table, bucket, KMS key (with its deletion window) or log group (its data goes with it) |
| iam | IAM policies: every Allow that is new or different (actions added, NotAction, resources, principals, conditions), Denies removed, actions removed; inline or `managed_policy_arns` policies on roles; policy attachments added or removed |
| exposure | a public access block relaxed; a bucket policy allowing principal "*"; an API method no longer requiring a key or authorization, or a new method needing neither; http allowed to viewers; a Lambda permission without a source ARN; a WAF association or a distribution's web ACL removed; WAF rules that stop blocking; a web ACL's default action from block to allow |
| protection | deletion protection or point-in-time recovery switched off; versioning suspended or removed; Object Lock retention removed or shortened, or COMPLIANCE → GOVERNANCE; encryption removed or changed; log retention shortened; a customer-managed key removed from a log group, topic or queue |
| alerting | an alarm's actions removed or disabled; an alarm, its topic or subscription deleted |
| tags | `Environment=Production` missing or drifting away |

Sensitive values (before_sensitive/after_sensitive) are masked before any rule reads them, so no
risk can quote one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping
from stacks.facts import REQUIRED_TAGS

STATEFUL = {"aws_dynamodb_table", "aws_s3_bucket", "aws_kms_key", "aws_cloudwatch_log_group"}
IAM_POLICY_ATTRIBUTES = {
    "aws_iam_policy": "policy",
    "aws_iam_role_policy": "policy",
    "aws_iam_user_policy": "policy",
    "aws_iam_group_policy": "policy",
    "aws_iam_role": "assume_role_policy",
}
ATTACHMENTS = {
    "aws_iam_role_policy_attachment",
    "aws_iam_user_policy_attachment",
    "aws_iam_group_policy_attachment",
    "aws_iam_policy_attachment",
}
SENSITIVE = "(sensitive)"
PUBLIC_ACCESS_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")


@dataclass(frozen=True)
class Risk:
    kind: str
    address: str
    detail: str


@dataclass(frozen=True)
class _Change:
    address: str
    type: str
    action: str
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    unknown: Mapping[str, Any]

    def first(self, side: Mapping[str, Any], *path: Any) -> Any:
        """A nested value; a block (a list in plan JSON) stands for its first element."""
        value: Any = side
        for step in path:
            if isinstance(value, list):
                value = value[0] if value else None
            value = value.get(step) if isinstance(value, dict) else None
        return value

    def switched_off(self, *path: Any) -> bool:
        return self.first(self.before, *path) is True and self.first(self.after, *path) is False


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


def _canonical(statement: Mapping[str, Any]) -> str:
    return json.dumps({k: sorted(_as_set(v)) if isinstance(v, (list, str)) else v for k, v in statement.items() if k != "Sid"}, sort_keys=True)


def _policy_widening(old_document: Any, new_document: Any) -> list[str]:
    """How a policy changed, in the terms that matter: every Allow that is new or different, with
    what it grants (actions added, NotAction, resources, principals, conditions); Denies removed;
    actions no longer allowed."""
    old, new = _statements(old_document) or [], _statements(new_document) or []
    old_set = {_canonical(s) for s in old}
    # A statement's counterpart: the old one with its Sid, or at its position when it has none.
    old_by_key = {s.get("Sid") or f"#{i}": s for i, s in enumerate(old)}
    parts = []
    for index, statement in enumerate(new):
        if statement.get("Effect", "Allow") != "Allow" or _canonical(statement) in old_set:
            continue
        name = statement.get("Sid") or f"#{index}"
        before = old_by_key.get(name) or {}
        grants = []
        added_actions = _as_set(statement.get("Action")) - _as_set(before.get("Action"))
        if added_actions:
            grants.append("added " + ", ".join(f"`{a}`" for a in sorted(added_actions)))
        for key, label in (("NotAction", "every action but"), ("Resource", "on"), ("NotResource", "on everything but"), ("Principal", "to"), ("NotPrincipal", "to everyone but")):
            if key in statement and _as_set(statement.get(key)) != _as_set(before.get(key)):
                grants.append(f"{label} " + ", ".join(f"`{v}`" for v in sorted(_as_set(statement[key]))))
        if _as_set(statement.get("Condition")) != _as_set(before.get("Condition")):
            grants.append("conditions " + ("removed" if not statement.get("Condition") else "changed"))
        parts.append(f"allow {name}: " + ("; ".join(grants) or "changed"))
    new_set = {_canonical(s) for s in new}
    for statement in old:
        if statement.get("Effect") == "Deny" and _canonical(statement) not in new_set:
            parts.append(f"deny {statement.get('Sid') or 'unnamed'} removed")
    allowed = lambda statements: set().union(*(_as_set(s.get("Action")) for s in statements if s.get("Effect", "Allow") == "Allow"))  # noqa: E731
    removed = allowed(old) - allowed(new)
    if removed:
        parts.append("removed " + ", ".join(f"`{a}`" for a in sorted(removed)))
    return parts


def _principal_is_anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        values = principal.get("AWS", [])
        return values == "*" or (isinstance(values, list) and "*" in values)
    return False


def _stateful(c: _Change) -> Iterator[Risk]:
    if c.type in STATEFUL and c.action in ("delete", "replace"):
        detail = f"{c.action} of a stateful {c.type}: its data goes with it"
        if c.type == "aws_kms_key":
            window = c.before.get("deletion_window_in_days") or 30  # AWS's default
            detail += f"; the key is scheduled for deletion in {window} days, and what it encrypted becomes unreadable"
        yield Risk("stateful", c.address, detail)


def _iam(c: _Change) -> Iterator[Risk]:
    if c.type in IAM_POLICY_ATTRIBUTES and c.action in ("create", "update", "replace"):
        attribute = IAM_POLICY_ATTRIBUTES[c.type]
        new = c.after.get(attribute)
        if c.unknown.get(attribute):
            yield Risk("iam", c.address, f"{c.action}: the {attribute} is known only after apply")
        elif new == SENSITIVE or c.before.get(attribute) == SENSITIVE:
            yield Risk("iam", c.address, f"{c.action}: the {attribute} is sensitive, so its change is not shown")
        elif _statements(new) is None and new is not None:
            yield Risk("iam", c.address, f"{c.action}: the {attribute} is not a readable policy document")
        else:
            parts = _policy_widening(c.before.get(attribute), new)
            if parts:
                yield Risk("iam", c.address, f"{c.action}: " + "; ".join(parts))
    if c.type == "aws_iam_role" and c.action in ("create", "update", "replace"):
        if c.after.get("inline_policy") not in (None, [], c.before.get("inline_policy")):
            yield Risk("iam", c.address, "inline policies changed (they bypass policy attachments and their review)")
        if set(c.after.get("managed_policy_arns") or []) - set(c.before.get("managed_policy_arns") or []):
            yield Risk("iam", c.address, "managed policies attached through managed_policy_arns")
    if c.type in ATTACHMENTS and c.action in ("create", "delete", "replace"):
        arn = c.after.get("policy_arn") or c.before.get("policy_arn") or "(known after apply)"
        yield Risk("iam", c.address, f"{c.action} of a policy attachment ({arn})")


def _exposure(c: _Change) -> Iterator[Risk]:
    if c.type == "aws_s3_bucket_public_access_block":
        relaxed = [flag for flag in PUBLIC_ACCESS_FLAGS if c.action == "delete" or (c.after.get(flag) is False and c.before.get(flag) is not False)]
        if relaxed:
            yield Risk("exposure", c.address, "public access block relaxed: " + ", ".join(relaxed))
    if c.type == "aws_s3_bucket_policy":
        for statement in _statements(c.after.get("policy")) or []:
            if statement.get("Effect") == "Allow" and _principal_is_anyone(statement.get("Principal")):
                yield Risk("exposure", c.address, f"bucket policy allows principal \"*\" ({statement.get('Sid', 'statement')})")
    if c.type == "aws_api_gateway_method" and c.action in ("update", "replace"):
        if c.after.get("api_key_required") is False and c.before.get("api_key_required") is True:
            yield Risk("exposure", c.address, "the method no longer requires an API key")
        if c.after.get("authorization") == "NONE" and c.before.get("authorization") not in (None, "NONE"):
            yield Risk("exposure", c.address, f"the method no longer requires {c.before.get('authorization')} authorization")
    if c.type == "aws_api_gateway_method" and c.action == "create" and c.after.get("api_key_required") is False and c.after.get("authorization") == "NONE":
        yield Risk("exposure", c.address, f"a new {c.after.get('http_method')} method that needs neither an API key nor authorization")
    if c.type == "aws_cloudfront_distribution":
        behaviors = (c.after.get("default_cache_behavior") or []) + (c.after.get("ordered_cache_behavior") or [])
        if any(isinstance(b, dict) and b.get("viewer_protocol_policy") == "allow-all" for b in behaviors):
            yield Risk("exposure", c.address, "a cache behavior lets viewers use http (allow-all)")
        if c.before.get("web_acl_id") and not c.after.get("web_acl_id") and not c.unknown.get("web_acl_id"):
            yield Risk("exposure", c.address, "the distribution's WAF web ACL is removed")
    if c.type == "aws_lambda_permission" and c.action in ("create", "update", "replace"):
        if not c.after.get("source_arn") and not c.unknown.get("source_arn"):
            yield Risk("exposure", c.address, f"lets {c.after.get('principal')} invoke the function from any source (no source_arn)")
    if c.type == "aws_wafv2_web_acl_association" and c.action == "delete":
        yield Risk("exposure", c.address, "a WAF web ACL is removed from the resource it protected")
    if c.type == "aws_wafv2_web_acl" and c.action in ("update", "replace"):
        def blocking(side: Mapping[str, Any]) -> set[str]:
            """Rules that block: managed groups not overridden to count, and rules whose action is not count."""
            names = set()
            for rule in side.get("rule") or []:
                override = (rule.get("override_action") or [{}])[0] or {}
                action = (rule.get("action") or [{}])[0] or {}
                if not override.get("count") and not action.get("count"):
                    names.add(rule.get("name"))
            return names

        weakened = blocking(c.before) - blocking(c.after)
        if weakened:
            yield Risk("exposure", c.address, "WAF rules no longer block: " + ", ".join(f"`{n}`" for n in sorted(weakened)))
        # An absent block is an empty list in plan JSON.
        if c.first(c.before, "default_action", "block") and c.first(c.after, "default_action", "allow"):
            yield Risk("exposure", c.address, "the web ACL's default action changes from block to allow")


def _protection(c: _Change) -> Iterator[Risk]:
    if c.action not in ("update", "delete", "replace"):
        return
    if c.type == "aws_dynamodb_table":
        if c.switched_off("deletion_protection_enabled"):
            yield Risk("protection", c.address, "deletion protection switched off: the table can now be destroyed")
        if c.switched_off("point_in_time_recovery", "enabled"):
            yield Risk("protection", c.address, "point-in-time recovery switched off: its backups are deleted")
        if c.switched_off("server_side_encryption", "enabled"):
            yield Risk("protection", c.address, "encryption with a KMS key switched off")
    if c.type == "aws_s3_bucket_versioning":
        status = c.first(c.after, "versioning_configuration", "status")
        if c.action == "delete" or status in ("Suspended", "Disabled"):
            yield Risk("protection", c.address, f"versioning {'removed' if c.action == 'delete' else status.lower()}: overwritten objects are lost")
    if c.type == "aws_s3_bucket_object_lock_configuration":
        old = c.first(c.before, "rule", "default_retention", "days")
        new = c.first(c.after, "rule", "default_retention", "days")
        old_mode = c.first(c.before, "rule", "default_retention", "mode")
        new_mode = c.first(c.after, "rule", "default_retention", "mode")
        if c.action == "delete" or (old_mode and not new_mode):
            yield Risk("protection", c.address, "Object Lock default retention removed: new objects can be deleted at once")
        elif isinstance(old, int) and isinstance(new, int) and new < old:
            yield Risk("protection", c.address, f"Object Lock default retention shortened from {old} to {new} days")
        if old_mode == "COMPLIANCE" and new_mode == "GOVERNANCE":
            yield Risk("protection", c.address, "Object Lock mode COMPLIANCE → GOVERNANCE: privileged users can now delete retained objects")
    if c.type == "aws_s3_bucket_server_side_encryption_configuration":
        old = c.first(c.before, "rule", "apply_server_side_encryption_by_default", "sse_algorithm")
        new = c.first(c.after, "rule", "apply_server_side_encryption_by_default", "sse_algorithm")
        if c.action == "delete":
            yield Risk("protection", c.address, "default encryption removed")
        elif old != new:
            yield Risk("protection", c.address, f"default encryption changed from {old} to {new}: readers without the new key's permissions (CloudFront's OAC cannot use aws/s3) fail")
    if c.type in ("aws_cloudwatch_log_group", "aws_sns_topic", "aws_sqs_queue"):
        attribute = "kms_master_key_id" if c.type != "aws_cloudwatch_log_group" else "kms_key_id"
        if c.action == "update" and c.before.get(attribute) and not c.after.get(attribute) and not c.unknown.get(attribute):
            yield Risk("protection", c.address, "encryption with the customer-managed key removed")
    if c.type == "aws_cloudwatch_log_group" and c.action == "update":
        old, new = c.before.get("retention_in_days") or 0, c.after.get("retention_in_days") or 0
        if old and new and new < old:  # 0 keeps logs forever: longer, not shorter
            yield Risk("protection", c.address, f"log retention shortened from {old} to {new} days: older logs are deleted")


def _alerting(c: _Change) -> Iterator[Risk]:
    if c.type in ("aws_sns_topic", "aws_sns_topic_subscription") and c.action == "delete":
        yield Risk("alerting", c.address, f"the {c.type.removeprefix('aws_')} alarms notify is deleted")
    if c.type != "aws_cloudwatch_metric_alarm":
        return
    if c.action == "delete":
        yield Risk("alerting", c.address, f"alarm {c.before.get('alarm_name')} is deleted: nobody hears of that failure")
    elif c.action == "update":
        removed = set(c.before.get("alarm_actions") or []) - set(c.after.get("alarm_actions") or [])
        if removed and not c.unknown.get("alarm_actions"):
            yield Risk("alerting", c.address, "alarm actions removed: " + ", ".join(f"`{a}`" for a in sorted(removed)))
        if c.before.get("actions_enabled") is not False and c.after.get("actions_enabled") is False:
            yield Risk("alerting", c.address, "alarm actions disabled (actions_enabled = false)")


def _tags(c: _Change) -> Iterator[Risk]:
    tags = c.after.get("tags_all")
    if c.action in ("create", "update", "replace") and isinstance(tags, dict):
        drift = {k: tags.get(k) for k, v in REQUIRED_TAGS.items() if tags.get(k) != v}
        missing = [k for k, v in drift.items() if v is None]
        if missing:
            yield Risk("tags", c.address, "lacks " + ", ".join(f"{k}={REQUIRED_TAGS[k]}" for k in missing))
        if len(missing) < len(drift):
            yield Risk("tags", c.address, "tags drift: " + ", ".join(f"{k}={v!r}" for k, v in drift.items() if v is not None))


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


def risks_of(change: Mapping[str, Any], action: str) -> list[Risk]:
    body = change["change"]
    before = _masked(body.get("before") or {}, body.get("before_sensitive"))
    after = _masked(body.get("after") or {}, body.get("after_sensitive"))
    c = _Change(change["address"], change["type"], action, before, after, body.get("after_unknown") or {})
    return [risk for rule in RULES for risk in rule(c)]
