"""CloudWatch alarms that notify the alert topic when processing fails.

Lambda's `Errors` counts only invocations that throw; a handler that catches a failure and
answers 500 does not raise it, so the handler's structured error lines also become a metric
(log metric filter) with an alarm, and API Gateway's 5XXError covers what reaches clients.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.cloudwatch_log_metric_filter import (
    CloudwatchLogMetricFilter,
    CloudwatchLogMetricFilterMetricTransformation,
)
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from constructs import Construct

HANDLER_ERROR_METRIC = "HandlerErrors"


@dataclass(frozen=True)
class AlarmSpec:
    """Alarm when the statistic of a metric over `period_seconds` reaches `threshold`. `key` says
    what it watches and is its construct id, so adding or removing an alarm leaves the others'
    addresses alone."""

    key: str
    name: str
    description: str
    namespace: str
    metric_name: str
    dimensions: Mapping[str, str] = field(default_factory=dict)
    threshold: float = 1
    period_seconds: int = 300
    evaluation_periods: int = 1
    # Sum, Maximum, Average, ... or a percentile ("p99"), which CloudWatch takes as an extended statistic.
    statistic: str = "Sum"


@dataclass(frozen=True)
class HandlerErrorMetric:
    """A metric counting the handler's structured error lines in a log group (`pattern`: the
    CloudWatch Logs filter pattern that matches them, from the handler's contract)."""

    key: str
    pattern: str
    filter_name: str
    log_group_name: str
    namespace: str
    alarm_name: str


@dataclass(frozen=True)
class ProcessingAlarmsProps:
    topic_arn: str
    alarms: Sequence[AlarmSpec]
    handler_errors: HandlerErrorMetric | None = None
    # Alarm key -> the address an earlier release gave it: moved there, not replaced.
    previous_addresses: Mapping[str, str] = field(default_factory=dict)


class ProcessingAlarms(Construct):
    def __init__(self, scope: Construct, id_: str, props: ProcessingAlarmsProps) -> None:
        super().__init__(scope, id_)
        specs = list(props.alarms)
        if props.handler_errors is not None:
            metric = props.handler_errors
            CloudwatchLogMetricFilter(
                self,
                "handler-errors-filter",
                name=metric.filter_name,
                log_group_name=metric.log_group_name,
                pattern=props.handler_errors.pattern,
                metric_transformation=CloudwatchLogMetricFilterMetricTransformation(
                    name=HANDLER_ERROR_METRIC,
                    namespace=metric.namespace,
                    value="1",
                    unit="Count",
                ),
            )
            specs.append(
                AlarmSpec(
                    key=metric.key,
                    name=metric.alarm_name,
                    description="The handler logged an unexpected failure (it answered 5xx)",
                    namespace=metric.namespace,
                    metric_name=HANDLER_ERROR_METRIC,
                )
            )
        self.alarms = [self._alarm(spec, props) for spec in specs]

    def _alarm(self, spec: AlarmSpec, props: ProcessingAlarmsProps) -> CloudwatchMetricAlarm:
        alarm = CloudwatchMetricAlarm(
            self,
            spec.key,
            alarm_name=spec.name,
            alarm_description=spec.description,
            namespace=spec.namespace,
            metric_name=spec.metric_name,
            dimensions=dict(spec.dimensions) or None,
            statistic=None if spec.statistic.startswith("p") else spec.statistic,
            extended_statistic=spec.statistic if spec.statistic.startswith("p") else None,
            period=spec.period_seconds,
            evaluation_periods=spec.evaluation_periods,
            threshold=spec.threshold,
            comparison_operator="GreaterThanOrEqualToThreshold",
            # No traffic is not a failure.
            treat_missing_data="notBreaching",
            alarm_actions=[props.topic_arn],
            ok_actions=[props.topic_arn],
        )
        if spec.key in props.previous_addresses:
            alarm.move_from_id(props.previous_addresses[spec.key])
        return alarm
