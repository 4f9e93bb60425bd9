"""SPEC (issue 23, the signals): the operations dashboard follows the request path, and every widget
names a metric AWS publishes for a resource this stack has, by reference, never a typed name."""

from __future__ import annotations

import json
import re

import pytest

# The metrics each service publishes, as its AWS documentation lists them ("Amazon API Gateway
# dimensions and metrics", "Using CloudWatch metrics with Lambda", "DynamoDB metrics and
# dimensions", "CloudFront default distribution metrics"); only those this dashboard may use.
PUBLISHED = {
    "AWS/ApiGateway": {"Count", "4XXError", "5XXError", "Latency", "IntegrationLatency"},
    "AWS/Lambda": {"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"},
    "AWS/DynamoDB": {"ConsumedReadCapacityUnits", "ProvisionedReadCapacityUnits", "ReadThrottleEvents"},
    "AWS/CloudFront": {"Requests", "4xxErrorRate", "5xxErrorRate", "TotalErrorRate"},
}
# A dimension's value: a reference to this attribute of a resource of this type.
DIMENSIONS = {
    "ApiName": ("aws_api_gateway_rest_api", "name"),
    "Stage": ("aws_api_gateway_stage", "stage_name"),
    "FunctionName": ("aws_lambda_function", "function_name"),
    "TableName": ("aws_dynamodb_table", "name"),
    "DistributionId": ("aws_cloudfront_distribution", "id"),
}
REFERENCE = re.compile(r"^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}$")


@pytest.fixture(scope="module")
def widgets(synth):
    return json.loads(synth.at("dashboard/dashboard")["dashboard_body"])["widgets"]


def _metrics(widgets):
    """Every metric row of every graph (metric-math expressions left out: they name no metric)."""
    for widget in widgets:
        for row in widget["properties"].get("metrics", []):
            if isinstance(row[0], str):
                yield widget["properties"]["title"], row


def test_every_widget_metric_is_one_aws_publishes_for_a_resource_of_the_stack(synth, widgets):
    rows = list(_metrics(widgets))
    assert rows
    for title, row in rows:
        namespace, metric, *rest = row
        assert metric in PUBLISHED[namespace], (title, namespace, metric)
        pairs = [item for item in rest if not isinstance(item, dict)]
        dimensions = dict(zip(pairs[::2], pairs[1::2], strict=True))
        assert dimensions, (title, metric)
        for key, value in dimensions.items():
            if (namespace, key, value) == ("AWS/CloudFront", "Region", "Global"):
                continue
            kind, attribute = DIMENSIONS[key]
            reference = REFERENCE.match(value)
            assert reference and reference.group(1) == kind and reference.group(3) == attribute, (title, key, value)
            assert reference.group(2) in synth.resources(kind), (title, key, value)


def test_the_dashboard_follows_the_request_path(widgets):
    shown = {(row[0], row[1]) for _, row in _metrics(widgets)}
    wanted = (
        {("AWS/ApiGateway", m) for m in ("Count", "4XXError", "5XXError", "Latency")}
        | {("AWS/Lambda", m) for m in ("Invocations", "Errors", "Duration", "Throttles", "ConcurrentExecutions")}
        | {("AWS/DynamoDB", m) for m in ("ConsumedReadCapacityUnits", "ProvisionedReadCapacityUnits", "ReadThrottleEvents")}
        | {("AWS/CloudFront", m) for m in ("Requests", "5xxErrorRate")}
    )
    assert wanted <= shown
    latency = [row[-1]["stat"] for _, row in _metrics(widgets) if row[1] == "Latency"]
    assert sorted(latency) == ["p50", "p99"]


def test_the_alarm_widget_shows_every_alarm_of_the_stack_by_reference(synth, widgets):
    (panel,) = [w for w in widgets if w["type"] == "alarm"]
    expected = {f"${{aws_cloudwatch_metric_alarm.{name}.arn}}" for name in synth.resources("aws_cloudwatch_metric_alarm")}
    assert set(panel["properties"]["alarms"]) == expected


def test_the_dashboard_is_named_after_the_deployment(synth):
    assert synth.at("dashboard/dashboard")["dashboard_name"] == "${var.ResourcePrefix}-operations"
