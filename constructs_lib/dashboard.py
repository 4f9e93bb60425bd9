"""The operations dashboard: one CloudWatch dashboard per deployment, following the request path.

API requests, 4XX, 5XX and latency (p50/p99); the function's invocations, errors, duration,
throttles and concurrency; the table's consumed against provisioned read capacity and its
throttles; the distribution's requests and error rates; and the state of every alarm. Every
widget names the deployed resources by reference (their names, ids and ARNs as Terraform knows
them), so the dashboard cannot point at something the stack does not have.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from constructs import Construct

WIDTH, HEIGHT = 12, 6


@dataclass(frozen=True)
class OperationsDashboardProps:
    name: str
    region: str
    api_name: str
    stage_name: str
    function_name: str
    table_name: str
    distribution_id: str
    alarm_arns: Sequence[str]
    # The function's timeout: its duration graph shows how near invocations come to it.
    function_timeout_ms: float = 10_000


def _metric(namespace: str, name: str, dimensions: dict[str, str], **options: Any) -> list[Any]:
    row: list[Any] = [namespace, name]
    for key, value in dimensions.items():
        row += [key, value]
    return [*row, options] if options else row


class OperationsDashboard(Construct):
    def __init__(self, scope: Construct, id_: str, props: OperationsDashboardProps) -> None:
        super().__init__(scope, id_)
        api = {"ApiName": props.api_name, "Stage": props.stage_name}
        function = {"FunctionName": props.function_name}
        table = {"TableName": props.table_name}
        # CloudFront reports its metrics in us-east-1, under the Global region.
        distribution = {"DistributionId": props.distribution_id, "Region": "Global"}
        graphs = [
            ("API requests and errors", [_metric("AWS/ApiGateway", m, api, stat="Sum") for m in ("Count", "4XXError", "5XXError")], {}),
            (
                "API latency (ms)",
                [_metric("AWS/ApiGateway", "Latency", api, stat="p50"), _metric("AWS/ApiGateway", "Latency", api, stat="p99")],
                {},
            ),
            (
                "Function invocations, errors, throttles",
                [_metric("AWS/Lambda", m, function, stat="Sum") for m in ("Invocations", "Errors", "Throttles")],
                {},
            ),
            (
                "Function duration (ms) and its timeout",
                [_metric("AWS/Lambda", "Duration", function, stat="p99"), _metric("AWS/Lambda", "Duration", function, stat="Maximum")],
                {"annotations": {"horizontal": [{"label": "timeout", "value": props.function_timeout_ms}]}},
            ),
            ("Function concurrency", [_metric("AWS/Lambda", "ConcurrentExecutions", function, stat="Maximum")], {}),
            (
                "Table read capacity: consumed and provisioned (units per second)",
                [
                    _metric("AWS/DynamoDB", "ConsumedReadCapacityUnits", table, stat="Sum", id="consumed", visible=False),
                    [{"expression": "consumed / PERIOD(consumed)", "label": "consumed", "id": "per_second"}],
                    _metric("AWS/DynamoDB", "ProvisionedReadCapacityUnits", table, stat="Average"),
                ],
                {},
            ),
            ("Table throttles", [_metric("AWS/DynamoDB", "ReadThrottleEvents", table, stat="Sum")], {}),
            (
                "Distribution requests and error rates (%)",
                [
                    _metric("AWS/CloudFront", "Requests", distribution, stat="Sum"),
                    _metric("AWS/CloudFront", "4xxErrorRate", distribution, stat="Average", yAxis="right"),
                    _metric("AWS/CloudFront", "5xxErrorRate", distribution, stat="Average", yAxis="right"),
                ],
                {},
            ),
        ]
        widgets = [
            {
                "type": "metric",
                "x": (index % 2) * WIDTH,
                "y": (index // 2) * HEIGHT,
                "width": WIDTH,
                "height": HEIGHT,
                "properties": {"title": title, "region": props.region, "view": "timeSeries", "period": 300, "metrics": metrics, **extra},
            }
            for index, (title, metrics, extra) in enumerate(graphs)
        ]
        widgets.append(
            {
                "type": "alarm",
                "x": 0,
                "y": (len(graphs) + 1) // 2 * HEIGHT,
                "width": 2 * WIDTH,
                "height": HEIGHT // 2,
                "properties": {"title": "Alarms", "alarms": list(props.alarm_arns)},
            }
        )
        # JSON with Terraform's references inside its strings: the body reads as the JSON CloudWatch
        # takes, each name or ARN filled in by Terraform.
        self.dashboard = CloudwatchDashboard(self, "dashboard", dashboard_name=props.name, dashboard_body=json.dumps({"widgets": widgets}))
