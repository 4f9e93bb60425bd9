"""Stateful: the changes that take data with them."""

from __future__ import annotations

from collections.abc import Iterator

from review.plan_rules.base import Example, PlannedChange, plan_rule

STATEFUL = {"aws_dynamodb_table", "aws_s3_bucket", "aws_kms_key", "aws_cloudwatch_log_group"}


@plan_rule(
    "S1",
    "stateful",
    "Stateful resource deleted or replaced",
    "A table, bucket, KMS key or log group deleted or replaced takes its data with it (a key: what it encrypted "
    "becomes unreadable once its deletion window ends); so does deleting one left deposed by an interrupted replacement.",
    types=STATEFUL,
    actions={"delete", "replace", "delete-deposed"},
    flagged=Example("aws_dynamodb_table", ("delete",), {"name": "items"}, None),
    unflagged=Example("aws_dynamodb_table", ("update",), {"name": "items", "read_capacity": 5}, {"name": "items", "read_capacity": 9}),
)
def stateful_deleted(c: PlannedChange) -> Iterator[str]:
    detail = f"{c.action} of a stateful {c.type}: its data goes with it"
    if c.type == "aws_kms_key":
        window = c.before.get("deletion_window_in_days")
        days = window if isinstance(window, int) and window > 0 else 30  # AWS's default
        detail += f"; the key is scheduled for deletion in {days} days, and what it encrypted becomes unreadable"
    yield detail
