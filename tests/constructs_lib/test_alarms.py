"""SPEC 6 (alarms): Lambda Errors, the handler's own error lines, API 5XXError, all to the topic."""

from __future__ import annotations

import json

import pytest
from cdktf import App, LocalBackend, TerraformStack
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic

from constructs_lib.alarms import AlarmSpec, ProcessingAlarms, ProcessingAlarmsProps
from constructs_lib.aws_provider import ProviderProps, aws_provider
from runners.terraform_runner import Terraform
from stacks.data_processing_stack import NUMBERED_ALARMS
from stacks.facts import REGION
from stacks.handler_contract import HandlerContract


@pytest.fixture(scope="module")
def alarms(synth):
    return {(a["namespace"], a["metric_name"]): a for a in synth.resources("aws_cloudwatch_metric_alarm").values()}


def _notifies_topic(synth, alarm):
    topic = synth.name_at("alerts/topic")
    return alarm["alarm_actions"] == [f"${{aws_sns_topic.{topic}.arn}}"]


def test_lambda_errors_alarm_notifies_the_topic(synth, alarms):
    function = synth.name_at("processor/function")
    alarm = alarms[("AWS/Lambda", "Errors")]
    assert alarm["dimensions"] == {"FunctionName": f"${{aws_lambda_function.{function}.function_name}}"}
    assert alarm["threshold"] == 1 and alarm["comparison_operator"] == "GreaterThanOrEqualToThreshold"
    assert _notifies_topic(synth, alarm)


def test_handler_reported_errors_become_an_alarmed_metric(synth, alarms):
    # A handler that catches and answers 500 never raises Lambda Errors.
    metric_filter = synth.at("alarms/handler-errors-filter")
    (group,) = [a for a, g in synth.resources("aws_cloudwatch_log_group").items() if g["name"].startswith("/aws/lambda/")]
    assert metric_filter["log_group_name"] == f"${{aws_cloudwatch_log_group.{group}.name}}"
    assert metric_filter["pattern"] == HandlerContract.load().error_pattern == '{ $.level = "ERROR" }'
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


def test_alarms_warn_before_a_limit_is_reached(synth, alarms):
    """API p99 latency at half the function's timeout, the function's longest invocation at 80% of
    it, and consumed read capacity at 80% of what the table provisions (summed over the period)."""
    timeout_ms = synth.at("processor/function")["timeout"] * 1000
    latency = alarms[("AWS/ApiGateway", "Latency")]
    assert (latency["extended_statistic"], latency["threshold"], latency.get("statistic")) == ("p99", timeout_ms * 0.5, None)
    duration = alarms[("AWS/Lambda", "Duration")]
    assert (duration["statistic"], duration["threshold"]) == ("Maximum", timeout_ms * 0.8)
    reads = alarms[("AWS/DynamoDB", "ConsumedReadCapacityUnits")]
    assert reads["statistic"] == "Sum" and reads["threshold"] == f"${{(var.DynamoDbReadCapacity * {0.8 * reads['period']:g})}}"
    assert reads["dimensions"] == {"TableName": f"${{aws_dynamodb_table.{synth.name_at('items/table')}.name}}"}
    assert all(_notifies_topic(synth, alarm) for alarm in (latency, duration, reads))


def _alarm_stack(outdir, specs):
    """The alarms construct alone, in front of a topic of its own, as Terraform JSON."""
    app = App(outdir=str(outdir))
    stack = TerraformStack(app, "alarms")
    LocalBackend(stack, path="terraform.tfstate")
    aws_provider(stack, "aws", ProviderProps(region=REGION, default_tags={"Environment": "Production"}))
    topic = SnsTopic(stack, "topic", name="alarms-test-topic")
    ProcessingAlarms(stack, "alarms", ProcessingAlarmsProps(topic_arn=topic.arn, alarms=specs))
    app.synth()
    return json.loads((outdir / "stacks" / "alarms" / "cdk.tf.json").read_text())


def _spec(key):
    return AlarmSpec(key=key, name=f"test-{key}", description=key, namespace="AWS/Lambda", metric_name=key.title())


def test_adding_an_alarm_plans_exactly_its_creation(emulator, provider, tmp_path):
    """Construct ids come from what an alarm watches, not its position: an alarm added in front of
    the others, on a real plan after an apply, is the one change."""
    before = _alarm_stack(tmp_path / "before", [_spec("errors"), _spec("throttles")])
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "cdk.tf.json").write_text(json.dumps(before))
    terraform = Terraform(tmp_path / "work", emulator.client_env(), provider)
    terraform.init()
    terraform.apply({})
    after = _alarm_stack(tmp_path / "after", [_spec("duration"), _spec("errors"), _spec("throttles")])
    (tmp_path / "work" / "cdk.tf.json").write_text(json.dumps(after))
    actions = terraform.planned_actions({}, refresh=False)
    (added,) = [
        name for name in after["resource"]["aws_cloudwatch_metric_alarm"] if name not in before["resource"]["aws_cloudwatch_metric_alarm"]
    ]
    assert actions == {f"aws_cloudwatch_metric_alarm.{added}": "create"}


def test_alarms_an_earlier_release_numbered_move_to_their_keys(synth):
    """Deployed stacks hold the alarms at alarm-0 ... alarm-4: each is moved, not replaced."""
    alarms = synth.resources("aws_cloudwatch_metric_alarm")
    moved = {block["from"]: block["to"] for block in synth.json["moved"]}
    assert sorted(moved) == sorted(NUMBERED_ALARMS.values()) and all("_alarm-" in old for old in moved)
    assert {to.split(".", 1)[1] for to in moved.values()} <= set(alarms)
    by_key = {alarms[to.split(".", 1)[1]]["//"]["metadata"]["path"].rsplit("/", 1)[1]: old for old, to in moved.items()}
    assert by_key == NUMBERED_ALARMS
