"""SPEC 6 (alarms): Lambda Errors, the handler's own error lines, API 5XXError, all to the topic."""

from __future__ import annotations

import pytest

# The handler's contract: an unexpected failure is one JSON log line with "level":"ERROR".
HANDLER_ERROR_PATTERN = '{ $.level = "ERROR" }'


@pytest.fixture(scope="module")
def alarms(synth):
    return {(a["namespace"], a["metric_name"]): a for a in synth.resources("aws_cloudwatch_metric_alarm").values()}


def _notifies_topic(synth, alarm):
    (topic,) = synth.resources("aws_sns_topic")
    return alarm["alarm_actions"] == [f"${{aws_sns_topic.{topic}.arn}}"]


def test_lambda_errors_alarm_notifies_the_topic(synth, alarms):
    (function,) = synth.resources("aws_lambda_function")
    alarm = alarms[("AWS/Lambda", "Errors")]
    assert alarm["dimensions"] == {"FunctionName": f"${{aws_lambda_function.{function}.function_name}}"}
    assert alarm["threshold"] == 1 and alarm["comparison_operator"] == "GreaterThanOrEqualToThreshold"
    assert _notifies_topic(synth, alarm)


def test_handler_reported_errors_become_an_alarmed_metric(synth, alarms):
    # A handler that catches and answers 500 never raises Lambda Errors.
    metric_filter = synth.only("aws_cloudwatch_log_metric_filter")
    (group,) = [a for a, g in synth.resources("aws_cloudwatch_log_group").items() if g["name"].startswith("/aws/lambda/")]
    assert metric_filter["log_group_name"] == f"${{aws_cloudwatch_log_group.{group}.name}}"
    assert metric_filter["pattern"] == HANDLER_ERROR_PATTERN
    namespace = metric_filter["metric_transformation"]["namespace"]
    metric = metric_filter["metric_transformation"]["name"]
    assert _notifies_topic(synth, alarms[(namespace, metric)])


def test_api_5xx_alarm_notifies_the_topic(synth, alarms):
    alarm = alarms[("AWS/ApiGateway", "5XXError")]
    assert set(alarm["dimensions"]) == {"ApiName", "Stage"}
    assert _notifies_topic(synth, alarm)


def test_throttling_alarms_notify_the_topic(synth, alarms):
    assert _notifies_topic(synth, alarms[("AWS/Lambda", "Throttles")])
    assert _notifies_topic(synth, alarms[("AWS/DynamoDB", "ReadThrottleEvents")])
