"""Alerting: the changes after which nobody hears of a failure."""

from __future__ import annotations

from collections.abc import Iterator

from review.plan_rules.base import Example, PlannedChange, code, listing, plan_rule, strings

ALARM_ACTIONS = (
    ("alarm_actions", "alarm actions"),
    ("ok_actions", "OK actions"),
    ("insufficient_data_actions", "insufficient-data actions"),
)
TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


@plan_rule(
    "A1",
    "alerting",
    "Alert topic or subscription deleted",
    "The topic the alarms notify, or its subscription, deleted: the alarms fire into nothing.",
    types={"aws_sns_topic", "aws_sns_topic_subscription"},
    actions={"delete"},
    flagged=Example("aws_sns_topic_subscription", ("delete",), {"topic_arn": TOPIC, "protocol": "email"}, None),
    unflagged=Example("aws_sns_topic_subscription", ("create",), None, {"topic_arn": TOPIC, "protocol": "email"}),
)
def topic_deleted(c: PlannedChange) -> Iterator[str]:
    yield f"the {c.type.removeprefix('aws_')} alarms notify is deleted"


@plan_rule(
    "A2",
    "alerting",
    "Alarm deleted",
    "The failure it watched goes unnoticed.",
    types={"aws_cloudwatch_metric_alarm"},
    actions={"delete"},
    flagged=Example("aws_cloudwatch_metric_alarm", ("delete",), {"alarm_name": "dataproc-errors"}, None),
    unflagged=Example("aws_cloudwatch_metric_alarm", ("create",), None, {"alarm_name": "dataproc-errors", "alarm_actions": [TOPIC]}),
)
def alarm_deleted(c: PlannedChange) -> Iterator[str]:
    yield f"alarm {code(c.before.get('alarm_name'))} is deleted: nobody hears of that failure"


@plan_rule(
    "A3",
    "alerting",
    "Alarm actions removed or disabled",
    "An alarm's alarm, OK or insufficient-data actions removed, or `actions_enabled = false`: it changes state silently.",
    types={"aws_cloudwatch_metric_alarm"},
    actions={"update", "replace"},
    flagged=Example("aws_cloudwatch_metric_alarm", ("update",), {"alarm_actions": [TOPIC]}, {"alarm_actions": []}),
    unflagged=Example("aws_cloudwatch_metric_alarm", ("update",), {"alarm_actions": []}, {"alarm_actions": [TOPIC]}),
)
def alarm_actions_removed(c: PlannedChange) -> Iterator[str]:
    for attribute, label in ALARM_ACTIONS:
        removed = set(strings(c.before.get(attribute))) - set(strings(c.after.get(attribute)))
        if removed and not c.unknown_at(attribute):
            yield f"{label} removed: " + listing(sorted(removed))
    if c.before.get("actions_enabled") is not False and c.after.get("actions_enabled") is False:
        yield "alarm actions disabled (`actions_enabled = false`)"
