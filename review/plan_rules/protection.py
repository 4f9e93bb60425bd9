"""Protection: the safeguards that keep data recoverable and readable."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from review.plan_rules.base import Example, PlannedChange, code, plan_rule

# The attribute that names a resource's customer-managed key.
KEY_ATTRIBUTES = {
    "aws_cloudwatch_log_group": "kms_key_id",
    "aws_sns_topic": "kms_master_key_id",
    "aws_sqs_queue": "kms_master_key_id",
    "aws_lambda_function": "kms_key_arn",
}
WEAKENING = {"update", "replace", "delete"}
KEY = "arn:aws:kms:us-east-1:123456789012:key/1"


def _key_changed(c: PlannedChange, path: tuple[str, ...], what: str) -> Iterator[str]:
    """A customer-managed key removed or swapped: what the old key encrypted needs it kept."""
    change = c.replaced_value(*path)
    if change and change[1]:
        yield (
            f"{what} key changed from {code(change[0])} to {code(change[1])}: "
            "readers need the new key, and what the old one encrypted needs it kept"
        )
    elif change:
        yield "encryption with the customer-managed key removed"


def _table(protected: bool = True, recovery: bool = True) -> dict[str, Any]:
    return {"deletion_protection_enabled": protected, "point_in_time_recovery": [{"enabled": recovery}]}


@plan_rule(
    "P1",
    "protection",
    "Table protection switched off",
    "Deletion protection or point-in-time recovery switched off (its backups are deleted), or the table's KMS "
    "encryption switched off or its key changed.",
    types={"aws_dynamodb_table"},
    actions=WEAKENING,
    flagged=Example("aws_dynamodb_table", ("update",), _table(), _table(protected=False)),
    unflagged=Example("aws_dynamodb_table", ("update",), _table(protected=False), _table()),
)
def table_protection(c: PlannedChange) -> Iterator[str]:
    if c.switched_off("deletion_protection_enabled"):
        yield "deletion protection switched off: the table can now be destroyed"
    if c.switched_off("point_in_time_recovery", "enabled"):
        yield "point-in-time recovery switched off: its backups are deleted"
    # Without the block, or with it disabled, the table falls back to a key AWS owns.
    if c.first(c.before, "server_side_encryption", "enabled") is True and c.action != "delete":
        if c.first(c.after, "server_side_encryption", "enabled") is not True and not c.unknown_at("server_side_encryption", "enabled"):
            yield "encryption with a KMS key switched off"
        else:
            yield from _key_changed(c, ("server_side_encryption", "kms_key_arn"), "the table's encryption")


@plan_rule(
    "P2",
    "protection",
    "Region's API Gateway logging role reset",
    "Deleting the account setting resets the region-wide logging role: every REST API stage in the region writes "
    "no execution logs until a deployment sets it again.",
    types={"aws_api_gateway_account"},
    actions={"delete"},
    flagged=Example("aws_api_gateway_account", ("delete",), {"cloudwatch_role_arn": "arn:aws:iam::123456789012:role/r"}, None),
    unflagged=Example("aws_api_gateway_account", ("delete",), {"cloudwatch_role_arn": ""}, None),
)
def api_account_reset(c: PlannedChange) -> Iterator[str]:
    if c.before.get("cloudwatch_role_arn"):
        yield (
            "the region's API Gateway logging role is reset: every REST API stage in the region writes no execution "
            "logs until a deployment sets it again"
        )


@plan_rule(
    "P3",
    "protection",
    "Bucket destroyable with its objects",
    "`force_destroy` switched on: destroying the bucket deletes every object in it.",
    types={"aws_s3_bucket"},
    actions=WEAKENING,
    flagged=Example("aws_s3_bucket", ("update",), {"force_destroy": False}, {"force_destroy": True}),
    unflagged=Example("aws_s3_bucket", ("update",), {"force_destroy": True}, {"force_destroy": False}),
)
def bucket_force_destroy(c: PlannedChange) -> Iterator[str]:
    if c.switched_on("force_destroy"):
        yield "`force_destroy` switched on: destroying the bucket now deletes every object in it"


def _versioning(status: str) -> dict[str, Any]:
    return {"versioning_configuration": [{"status": status}]}


@plan_rule(
    "P4",
    "protection",
    "Versioning suspended or removed",
    "Without versioning, an overwritten or deleted object is lost.",
    types={"aws_s3_bucket_versioning"},
    actions=WEAKENING,
    flagged=Example("aws_s3_bucket_versioning", ("update",), _versioning("Enabled"), _versioning("Suspended")),
    unflagged=Example("aws_s3_bucket_versioning", ("update",), _versioning("Suspended"), _versioning("Enabled")),
)
def bucket_versioning(c: PlannedChange) -> Iterator[str]:
    old, new = (c.first(side, "versioning_configuration", "status") for side in (c.before, c.after))
    if c.action == "delete":
        yield "versioning removed: overwritten objects are lost"
    elif new in ("Suspended", "Disabled") and new != old:
        yield f"versioning {new.lower()}: overwritten objects are lost"


def _retention_days(c: PlannedChange, side: Mapping[str, Any]) -> tuple[int, str] | None:
    """Object Lock's default retention in days (a year counted as 365), and as configured."""
    for unit, days in (("days", 1), ("years", 365)):
        value = c.first(side, "rule", "default_retention", unit)
        if isinstance(value, int) and value > 0:
            return value * days, f"{value} {unit}"
    return None


def _lock(mode: str, **period: int) -> dict[str, Any]:
    return {"rule": [{"default_retention": [{"mode": mode, **period}]}]}


@plan_rule(
    "P5",
    "protection",
    "Object Lock weakened",
    "Default retention removed or shortened (days or years), or COMPLIANCE → GOVERNANCE, under which privileged "
    "users can delete retained objects.",
    types={"aws_s3_bucket_object_lock_configuration"},
    actions=WEAKENING,
    flagged=Example("aws_s3_bucket_object_lock_configuration", ("update",), _lock("COMPLIANCE", years=10), _lock("COMPLIANCE", days=30)),
    unflagged=Example("aws_s3_bucket_object_lock_configuration", ("update",), _lock("COMPLIANCE", days=30), _lock("COMPLIANCE", years=1)),
)
def object_lock_weakened(c: PlannedChange) -> Iterator[str]:
    old, new = _retention_days(c, c.before), _retention_days(c, c.after)
    old_mode = c.first(c.before, "rule", "default_retention", "mode")
    new_mode = c.first(c.after, "rule", "default_retention", "mode")
    if c.action == "delete" or (old_mode and not new_mode):
        yield "Object Lock default retention removed: new objects can be deleted at once"
    elif old and new and new[0] < old[0]:
        yield f"Object Lock default retention shortened from {old[1]} to {new[1]}"
    if old_mode == "COMPLIANCE" and new_mode == "GOVERNANCE":
        yield "Object Lock mode COMPLIANCE → GOVERNANCE: privileged users can now delete retained objects"


DEFAULT_ENCRYPTION = ("rule", "apply_server_side_encryption_by_default")


def _encryption(algorithm: str, key: str | None = None) -> dict[str, Any]:
    return {"rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": algorithm, "kms_master_key_id": key}]}]}


@plan_rule(
    "P6",
    "protection",
    "Bucket default encryption removed or changed",
    "Readers without the new key's permissions fail (CloudFront's origin access control cannot use aws/s3), and "
    "what the old key encrypted needs it kept.",
    types={"aws_s3_bucket_server_side_encryption_configuration"},
    actions=WEAKENING,
    flagged=Example("aws_s3_bucket_server_side_encryption_configuration", ("update",), _encryption("AES256"), _encryption("aws:kms", KEY)),
    unflagged=Example("aws_s3_bucket_server_side_encryption_configuration", ("create",), None, _encryption("AES256")),
)
def bucket_encryption(c: PlannedChange) -> Iterator[str]:
    old, new = (c.first(side, *DEFAULT_ENCRYPTION, "sse_algorithm") for side in (c.before, c.after))
    if c.action == "delete":
        yield "default encryption removed"
    elif old != new:
        yield (
            f"default encryption changed from {code(old)} to {code(new)}: "
            "readers without the new key's permissions (CloudFront's OAC cannot use aws/s3) fail"
        )
    else:
        yield from _key_changed(c, (*DEFAULT_ENCRYPTION, "kms_master_key_id"), "default encryption")


@plan_rule(
    "P7",
    "protection",
    "Customer-managed key removed or changed",
    "A log group's, topic's, queue's or function's customer-managed key removed, or swapped: readers need the new "
    "key, and what the old one encrypted needs it kept.",
    types=set(KEY_ATTRIBUTES),
    actions={"update", "replace"},
    flagged=Example("aws_sns_topic", ("update",), {"kms_master_key_id": KEY}, {"kms_master_key_id": None}),
    unflagged=Example("aws_sns_topic", ("update",), {"kms_master_key_id": None}, {"kms_master_key_id": KEY}),
)
def customer_key_changed(c: PlannedChange) -> Iterator[str]:
    yield from _key_changed(c, (KEY_ATTRIBUTES[c.type],), "the customer-managed")


def _log_retention(value: Any) -> float:
    """A log group's retention in days: 0 or none keeps logs forever."""
    return value if isinstance(value, int) and value > 0 else math.inf


@plan_rule(
    "P8",
    "protection",
    "Log retention shortened",
    "Logs older than the new retention are deleted (from never expiring too).",
    types={"aws_cloudwatch_log_group"},
    actions={"update"},
    flagged=Example("aws_cloudwatch_log_group", ("update",), {"retention_in_days": 365}, {"retention_in_days": 30}),
    unflagged=Example("aws_cloudwatch_log_group", ("update",), {"retention_in_days": 30}, {"retention_in_days": 365}),
)
def log_retention_shortened(c: PlannedChange) -> Iterator[str]:
    old, new = _log_retention(c.before.get("retention_in_days")), _log_retention(c.after.get("retention_in_days"))
    if new < old and not c.unknown_at("retention_in_days"):
        yield f"log retention shortened from {'never expiring' if old == math.inf else old} to {new} days: older logs are deleted"
