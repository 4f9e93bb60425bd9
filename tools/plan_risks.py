"""The risks a plan review flags, one rule per way reviewers get burned.

Each rule reads one planned change (`resource_changes[]` of `terraform show -json`) and yields
`Risk`s that say what changes and why it is risky. The rules:

| kind | flags |
|---|---|
| stateful | deletion or replacement of a table, bucket, KMS key or log group (its data goes with it) |
| iam | IAM policy changes, with the actions added and removed; policy attachments added or removed |
| exposure | a public access block relaxed; a bucket policy allowing principal "*"; an API method no longer requiring a key; http allowed to viewers; a Lambda permission without a source ARN; a WAF association removed |
| protection | deletion protection or point-in-time recovery switched off; versioning suspended; Object Lock retention removed or shortened; encryption removed or changed; log retention shortened; KMS key deletion scheduled |
| alerting | an alarm's actions removed, or an alarm deleted |
| tags | `Environment=Production` drifting away |
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

STATEFUL = {"aws_dynamodb_table", "aws_s3_bucket", "aws_kms_key", "aws_cloudwatch_log_group"}
IAM_POLICY_ATTRIBUTES = {
    "aws_iam_policy": "policy",
    "aws_iam_role_policy": "policy",
    "aws_iam_role": "assume_role_policy",
}
PUBLIC_ACCESS_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
REQUIRED_TAGS = {"Environment": "Production"}


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


def _policy_actions(document: Any) -> set[str] | None:
    """Allowed actions of a policy JSON string; None when unknown (computed at apply)."""
    if not isinstance(document, str):
        return None
    statements = json.loads(document).get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    actions: set[str] = set()
    for statement in statements:
        if statement.get("Effect", "Allow") == "Allow":
            listed = statement.get("Action", [])
            actions |= {listed} if isinstance(listed, str) else set(listed)
    return actions


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
            window = c.before.get("deletion_window_in_days")
            detail += f"; the key is scheduled for deletion in {window} days, and what it encrypted becomes unreadable"
        yield Risk("stateful", c.address, detail)


def _iam(c: _Change) -> Iterator[Risk]:
    if c.type in IAM_POLICY_ATTRIBUTES and c.action != "no-op":
        attribute = IAM_POLICY_ATTRIBUTES[c.type]
        old = _policy_actions(c.before.get(attribute)) or set()
        new = _policy_actions(c.after.get(attribute))
        if new is None and c.unknown.get(attribute):
            yield Risk("iam", c.address, f"{c.action}: the {attribute} is known only after apply")
        elif new is not None and (new - old or old - new):
            parts = []
            if new - old:
                parts.append("added " + ", ".join(f"`{a}`" for a in sorted(new - old)))
            if old - new:
                parts.append("removed " + ", ".join(f"`{a}`" for a in sorted(old - new)))
            yield Risk("iam", c.address, f"{c.action}: " + "; ".join(parts))
    if c.type == "aws_iam_role_policy_attachment" and c.action in ("create", "delete", "replace"):
        arn = c.after.get("policy_arn") or c.before.get("policy_arn") or "(known after apply)"
        yield Risk("iam", c.address, f"{c.action} of a policy attachment ({arn})")


def _exposure(c: _Change) -> Iterator[Risk]:
    if c.type == "aws_s3_bucket_public_access_block":
        relaxed = [flag for flag in PUBLIC_ACCESS_FLAGS if c.action == "delete" or c.after.get(flag) is False]
        if relaxed:
            yield Risk("exposure", c.address, "public access block relaxed: " + ", ".join(relaxed))
    if c.type == "aws_s3_bucket_policy" and isinstance(c.after.get("policy"), str):
        statements = json.loads(c.after["policy"]).get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Effect") == "Allow" and _principal_is_anyone(statement.get("Principal")):
                yield Risk("exposure", c.address, f"bucket policy allows principal \"*\" ({statement.get('Sid', 'statement')})")
    if c.type == "aws_api_gateway_method" and c.after.get("api_key_required") is False and c.before.get("api_key_required") is not False:
        yield Risk("exposure", c.address, "the method no longer requires an API key")
    if c.type == "aws_cloudfront_distribution":
        behaviors = (c.after.get("default_cache_behavior") or []) + (c.after.get("ordered_cache_behavior") or [])
        if any(b.get("viewer_protocol_policy") == "allow-all" for b in behaviors):
            yield Risk("exposure", c.address, "a cache behavior lets viewers use http (allow-all)")
        if c.before.get("web_acl_id") and not c.after.get("web_acl_id") and not c.unknown.get("web_acl_id"):
            yield Risk("exposure", c.address, "the distribution's WAF web ACL is removed")
    if c.type == "aws_lambda_permission" and c.action in ("create", "update", "replace"):
        if not c.after.get("source_arn") and not c.unknown.get("source_arn"):
            yield Risk("exposure", c.address, f"lets {c.after.get('principal')} invoke the function from any source (no source_arn)")
    if c.type == "aws_wafv2_web_acl_association" and c.action == "delete":
        yield Risk("exposure", c.address, "a WAF web ACL is removed from the resource it protected")


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
        if c.action == "delete":
            yield Risk("protection", c.address, "Object Lock default retention removed: new objects can be deleted at once")
        elif isinstance(old, int) and isinstance(new, int) and new < old:
            yield Risk("protection", c.address, f"Object Lock default retention shortened from {old} to {new} days")
    if c.type == "aws_s3_bucket_server_side_encryption_configuration":
        old = c.first(c.before, "rule", "apply_server_side_encryption_by_default", "sse_algorithm")
        new = c.first(c.after, "rule", "apply_server_side_encryption_by_default", "sse_algorithm")
        if c.action == "delete" or old != new:
            yield Risk("protection", c.address, f"default encryption {'removed' if c.action == 'delete' else f'changed from {old} to {new}'}")
    if c.type in ("aws_cloudwatch_log_group", "aws_sns_topic", "aws_sqs_queue"):
        attribute = "kms_master_key_id" if c.type != "aws_cloudwatch_log_group" else "kms_key_id"
        if c.action == "update" and c.before.get(attribute) and not c.after.get(attribute) and not c.unknown.get(attribute):
            yield Risk("protection", c.address, "encryption with the customer-managed key removed")
    if c.type == "aws_cloudwatch_log_group" and c.action == "update":
        old, new = c.before.get("retention_in_days") or 0, c.after.get("retention_in_days") or 0
        if old and new and new < old:  # 0 keeps logs forever: longer, not shorter
            yield Risk("protection", c.address, f"log retention shortened from {old} to {new} days: older logs are deleted")


def _alerting(c: _Change) -> Iterator[Risk]:
    if c.type != "aws_cloudwatch_metric_alarm":
        return
    if c.action == "delete":
        yield Risk("alerting", c.address, f"alarm {c.before.get('alarm_name')} is deleted: nobody hears of that failure")
    elif c.action == "update":
        removed = set(c.before.get("alarm_actions") or []) - set(c.after.get("alarm_actions") or [])
        if removed and not c.unknown.get("alarm_actions"):
            yield Risk("alerting", c.address, "alarm actions removed: " + ", ".join(f"`{a}`" for a in sorted(removed)))


def _tags(c: _Change) -> Iterator[Risk]:
    tags = c.after.get("tags_all")
    if c.action in ("create", "update", "replace") and isinstance(tags, dict):
        drift = {k: tags.get(k) for k, v in REQUIRED_TAGS.items() if tags.get(k) != v}
        if drift:
            yield Risk("tags", c.address, "tags drift: " + ", ".join(f"{k}={v!r}" for k, v in drift.items()))


RULES: tuple[Callable[[_Change], Iterator[Risk]], ...] = (_stateful, _iam, _exposure, _protection, _alerting, _tags)


def risks_of(change: Mapping[str, Any], action: str) -> list[Risk]:
    body = change["change"]
    c = _Change(change["address"], change["type"], action, body.get("before") or {}, body.get("after") or {}, body.get("after_unknown") or {})
    return [risk for rule in RULES for risk in rule(c)]
