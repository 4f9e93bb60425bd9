"""What the emulator cannot judge: every name and enumerated value the stack sends to AWS
satisfies the constraints AWS publishes for the API parameter that receives it.

The constraints (min/max length or value, pattern, enum) are read from the service models
botocore ships (`botocore/data/<service>/<version>/service-2.json`), which AWS generates from
its own API definitions: none of them is copied here. What this file knows is only which
Terraform attribute becomes which API parameter (the provider's documentation and source).
It checks the planned values of the default inputs and of the longest valid prefix.

Patterns follow Java's `String.matches`: the whole value must match, `\\w` means ASCII word
characters, and `.` does not match a line break. Where an operation accepts names and ARNs alike,
the model's named shape for the name is read instead (DynamoDB's `TableName`). Where the models
state allowed values only in their documentation ("Possible values are: ..."), those are read
from it. Where a model has no constraint at all (S3 bucket names, SNS topic names, API Gateway
and CloudFront names, Lambda's 64-character function names, KMS's 7-30 day deletion window),
this check cannot fail; those limits come from AWS's documentation into
constructs_lib/naming.py and are proven by
tests/stacks/test_data_processing_stack.py::test_longest_valid_prefix_keeps_every_name_within_its_service_limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session
import pytest

from constructs_lib.naming import MAX_PREFIX_LENGTH

# Resource type -> (Terraform attribute path, service, operation, input member path). A path
# step through a list (nested blocks, list arguments) visits every element; "@keys"/"@values"
# step into a map's keys or values; a member path "#Shape" names a shape of the model directly.
PARAMETERS: dict[str, list[tuple[str, str, str, str]]] = {
    "aws_api_gateway_api_key": [("name", "apigateway", "CreateApiKey", "name")],
    "aws_api_gateway_gateway_response": [
        ("response_type", "apigateway", "PutGatewayResponse", "responseType"),
        ("status_code", "apigateway", "PutGatewayResponse", "statusCode"),
    ],
    "aws_api_gateway_integration": [
        ("type", "apigateway", "PutIntegration", "type"),
        ("http_method", "apigateway", "PutIntegration", "httpMethod"),
        ("integration_http_method", "apigateway", "PutIntegration", "integrationHttpMethod"),
    ],
    "aws_api_gateway_method": [
        ("http_method", "apigateway", "PutMethod", "httpMethod"),
        ("authorization", "apigateway", "PutMethod", "authorizationType"),
    ],
    "aws_api_gateway_model": [
        ("name", "apigateway", "CreateModel", "name"),
        ("content_type", "apigateway", "CreateModel", "contentType"),
    ],
    "aws_api_gateway_request_validator": [("name", "apigateway", "CreateRequestValidator", "name")],
    "aws_api_gateway_resource": [("path_part", "apigateway", "CreateResource", "pathPart")],
    "aws_api_gateway_rest_api": [
        ("name", "apigateway", "CreateRestApi", "name"),
        ("description", "apigateway", "CreateRestApi", "description"),
        ("endpoint_configuration.types", "apigateway", "CreateRestApi", "endpointConfiguration.types"),
    ],
    "aws_api_gateway_stage": [("stage_name", "apigateway", "CreateStage", "stageName")],
    "aws_api_gateway_usage_plan": [
        ("name", "apigateway", "CreateUsagePlan", "name"),
        ("description", "apigateway", "CreateUsagePlan", "description"),
        ("quota_settings.period", "apigateway", "CreateUsagePlan", "quota.period"),
    ],
    "aws_api_gateway_usage_plan_key": [("key_type", "apigateway", "CreateUsagePlanKey", "keyType")],
    "aws_cloudfront_distribution": [
        ("comment", "cloudfront", "CreateDistribution", "DistributionConfig.Comment"),
        ("default_root_object", "cloudfront", "CreateDistribution", "DistributionConfig.DefaultRootObject"),
        ("http_version", "cloudfront", "CreateDistribution", "DistributionConfig.HttpVersion"),
        ("price_class", "cloudfront", "CreateDistribution", "DistributionConfig.PriceClass"),
        ("origin.origin_id", "cloudfront", "CreateDistribution", "DistributionConfig.Origins.Items.Id"),
        (
            "default_cache_behavior.viewer_protocol_policy",
            "cloudfront",
            "CreateDistribution",
            "DistributionConfig.DefaultCacheBehavior.ViewerProtocolPolicy",
        ),
        (
            "default_cache_behavior.allowed_methods",
            "cloudfront",
            "CreateDistribution",
            "DistributionConfig.DefaultCacheBehavior.AllowedMethods.Items",
        ),
        (
            "default_cache_behavior.cached_methods",
            "cloudfront",
            "CreateDistribution",
            "DistributionConfig.DefaultCacheBehavior.AllowedMethods.CachedMethods.Items",
        ),
        (
            "restrictions.geo_restriction.restriction_type",
            "cloudfront",
            "CreateDistribution",
            "DistributionConfig.Restrictions.GeoRestriction.RestrictionType",
        ),
        (
            "restrictions.geo_restriction.locations",
            "cloudfront",
            "CreateDistribution",
            "DistributionConfig.Restrictions.GeoRestriction.Items",
        ),
    ],
    "aws_cloudfront_origin_access_control": [
        ("name", "cloudfront", "CreateOriginAccessControl", "OriginAccessControlConfig.Name"),
        ("description", "cloudfront", "CreateOriginAccessControl", "OriginAccessControlConfig.Description"),
        (
            "origin_access_control_origin_type",
            "cloudfront",
            "CreateOriginAccessControl",
            "OriginAccessControlConfig.OriginAccessControlOriginType",
        ),
        ("signing_behavior", "cloudfront", "CreateOriginAccessControl", "OriginAccessControlConfig.SigningBehavior"),
        ("signing_protocol", "cloudfront", "CreateOriginAccessControl", "OriginAccessControlConfig.SigningProtocol"),
    ],
    "aws_cloudfront_response_headers_policy": [
        ("name", "cloudfront", "CreateResponseHeadersPolicy", "ResponseHeadersPolicyConfig.Name"),
        ("comment", "cloudfront", "CreateResponseHeadersPolicy", "ResponseHeadersPolicyConfig.Comment"),
        (
            "security_headers_config.frame_options.frame_option",
            "cloudfront",
            "CreateResponseHeadersPolicy",
            "ResponseHeadersPolicyConfig.SecurityHeadersConfig.FrameOptions.FrameOption",
        ),
        (
            "security_headers_config.referrer_policy.referrer_policy",
            "cloudfront",
            "CreateResponseHeadersPolicy",
            "ResponseHeadersPolicyConfig.SecurityHeadersConfig.ReferrerPolicy.ReferrerPolicy",
        ),
    ],
    "aws_cloudwatch_log_delivery_destination": [
        ("name", "logs", "PutDeliveryDestination", "name"),
        ("output_format", "logs", "PutDeliveryDestination", "outputFormat"),
    ],
    "aws_cloudwatch_log_delivery_source": [
        ("name", "logs", "PutDeliverySource", "name"),
        ("log_type", "logs", "PutDeliverySource", "logType"),
    ],
    "aws_cloudwatch_log_delivery": [("delivery_source_name", "logs", "CreateDelivery", "deliverySourceName")],
    "aws_cloudwatch_log_group": [
        ("name", "logs", "CreateLogGroup", "logGroupName"),
        ("retention_in_days", "logs", "PutRetentionPolicy", "retentionInDays"),
    ],
    "aws_cloudwatch_log_metric_filter": [
        ("name", "logs", "PutMetricFilter", "filterName"),
        ("log_group_name", "logs", "PutMetricFilter", "logGroupName"),
        ("pattern", "logs", "PutMetricFilter", "filterPattern"),
        ("metric_transformation.name", "logs", "PutMetricFilter", "metricTransformations.metricName"),
        ("metric_transformation.namespace", "logs", "PutMetricFilter", "metricTransformations.metricNamespace"),
        ("metric_transformation.value", "logs", "PutMetricFilter", "metricTransformations.metricValue"),
        ("metric_transformation.unit", "logs", "PutMetricFilter", "metricTransformations.unit"),
    ],
    "aws_cloudwatch_dashboard": [("dashboard_name", "cloudwatch", "PutDashboard", "DashboardName")],
    "aws_cloudwatch_metric_alarm": [
        ("alarm_name", "cloudwatch", "PutMetricAlarm", "AlarmName"),
        ("alarm_description", "cloudwatch", "PutMetricAlarm", "AlarmDescription"),
        ("namespace", "cloudwatch", "PutMetricAlarm", "Namespace"),
        ("metric_name", "cloudwatch", "PutMetricAlarm", "MetricName"),
        ("comparison_operator", "cloudwatch", "PutMetricAlarm", "ComparisonOperator"),
        ("statistic", "cloudwatch", "PutMetricAlarm", "Statistic"),
        ("extended_statistic", "cloudwatch", "PutMetricAlarm", "ExtendedStatistic"),
        ("treat_missing_data", "cloudwatch", "PutMetricAlarm", "TreatMissingData"),
        ("period", "cloudwatch", "PutMetricAlarm", "Period"),
        ("evaluation_periods", "cloudwatch", "PutMetricAlarm", "EvaluationPeriods"),
        ("dimensions.@keys", "cloudwatch", "PutMetricAlarm", "Dimensions.Name"),
        ("dimensions.@values", "cloudwatch", "PutMetricAlarm", "Dimensions.Value"),
    ],
    "aws_dynamodb_table": [
        ("name", "dynamodb", "CreateTable", "#TableName"),
        ("billing_mode", "dynamodb", "CreateTable", "BillingMode"),
        ("hash_key", "dynamodb", "CreateTable", "KeySchema.AttributeName"),
        ("attribute.name", "dynamodb", "CreateTable", "AttributeDefinitions.AttributeName"),
        ("attribute.type", "dynamodb", "CreateTable", "AttributeDefinitions.AttributeType"),
        ("read_capacity", "dynamodb", "CreateTable", "ProvisionedThroughput.ReadCapacityUnits"),
        ("write_capacity", "dynamodb", "CreateTable", "ProvisionedThroughput.WriteCapacityUnits"),
    ],
    "aws_iam_policy": [
        ("name", "iam", "CreatePolicy", "PolicyName"),
        ("description", "iam", "CreatePolicy", "Description"),
        ("policy", "iam", "CreatePolicy", "PolicyDocument"),
    ],
    "aws_iam_role": [
        ("name", "iam", "CreateRole", "RoleName"),
        ("description", "iam", "CreateRole", "Description"),
        ("assume_role_policy", "iam", "CreateRole", "AssumeRolePolicyDocument"),
    ],
    "aws_iam_role_policy_attachment": [
        ("role", "iam", "AttachRolePolicy", "RoleName"),
        ("policy_arn", "iam", "AttachRolePolicy", "PolicyArn"),
    ],
    "aws_kms_alias": [("name", "kms", "CreateAlias", "AliasName")],
    "aws_kms_key": [
        ("description", "kms", "CreateKey", "Description"),
        ("policy", "kms", "CreateKey", "Policy"),
        ("deletion_window_in_days", "kms", "ScheduleKeyDeletion", "PendingWindowInDays"),
    ],
    "aws_lambda_function": [
        ("function_name", "lambda", "CreateFunction", "FunctionName"),
        ("description", "lambda", "CreateFunction", "Description"),
        ("handler", "lambda", "CreateFunction", "Handler"),
        ("runtime", "lambda", "CreateFunction", "Runtime"),
        ("memory_size", "lambda", "CreateFunction", "MemorySize"),
        ("timeout", "lambda", "CreateFunction", "Timeout"),
        ("architectures", "lambda", "CreateFunction", "Architectures"),
        ("tracing_config.mode", "lambda", "CreateFunction", "TracingConfig.Mode"),
        ("environment.variables.@keys", "lambda", "CreateFunction", "Environment.Variables.@keys"),
        ("reserved_concurrent_executions", "lambda", "PutFunctionConcurrency", "ReservedConcurrentExecutions"),
    ],
    "aws_lambda_alias": [
        ("name", "lambda", "CreateAlias", "Name"),
        ("description", "lambda", "CreateAlias", "Description"),
        ("function_name", "lambda", "CreateAlias", "FunctionName"),
    ],
    "aws_lambda_permission": [
        ("statement_id", "lambda", "AddPermission", "StatementId"),
        ("qualifier", "lambda", "AddPermission", "Qualifier"),
        ("action", "lambda", "AddPermission", "Action"),
        ("principal", "lambda", "AddPermission", "Principal"),
        ("function_name", "lambda", "AddPermission", "FunctionName"),
    ],
    "aws_s3_bucket": [("bucket", "s3", "CreateBucket", "Bucket")],
    "aws_s3_bucket_lifecycle_configuration": [
        ("rule.id", "s3", "PutBucketLifecycleConfiguration", "LifecycleConfiguration.Rules.ID"),
        ("rule.status", "s3", "PutBucketLifecycleConfiguration", "LifecycleConfiguration.Rules.Status"),
    ],
    "aws_s3_bucket_logging": [
        ("target_prefix", "s3", "PutBucketLogging", "BucketLoggingStatus.LoggingEnabled.TargetPrefix"),
    ],
    "aws_s3_bucket_object_lock_configuration": [
        (
            "rule.default_retention.mode",
            "s3",
            "PutObjectLockConfiguration",
            "ObjectLockConfiguration.Rule.DefaultRetention.Mode",
        ),
        (
            "rule.default_retention.days",
            "s3",
            "PutObjectLockConfiguration",
            "ObjectLockConfiguration.Rule.DefaultRetention.Days",
        ),
    ],
    "aws_s3_bucket_ownership_controls": [
        ("rule.object_ownership", "s3", "PutBucketOwnershipControls", "OwnershipControls.Rules.ObjectOwnership"),
    ],
    "aws_s3_bucket_policy": [("policy", "s3", "PutBucketPolicy", "Policy")],
    "aws_s3_bucket_server_side_encryption_configuration": [
        (
            "rule.apply_server_side_encryption_by_default.sse_algorithm",
            "s3",
            "PutBucketEncryption",
            "ServerSideEncryptionConfiguration.Rules.ApplyServerSideEncryptionByDefault.SSEAlgorithm",
        ),
    ],
    "aws_s3_bucket_versioning": [
        ("versioning_configuration.status", "s3", "PutBucketVersioning", "VersioningConfiguration.Status"),
    ],
    "aws_sns_topic": [("name", "sns", "CreateTopic", "Name")],
    "aws_sns_topic_subscription": [
        ("protocol", "sns", "Subscribe", "Protocol"),
        ("endpoint", "sns", "Subscribe", "Endpoint"),
    ],
    "aws_wafv2_web_acl": [
        ("name", "wafv2", "CreateWebACL", "Name"),
        ("scope", "wafv2", "CreateWebACL", "Scope"),
        ("visibility_config.metric_name", "wafv2", "CreateWebACL", "VisibilityConfig.MetricName"),
        ("rule.name", "wafv2", "CreateWebACL", "Rules.Name"),
        ("rule.priority", "wafv2", "CreateWebACL", "Rules.Priority"),
        ("rule.visibility_config.metric_name", "wafv2", "CreateWebACL", "Rules.VisibilityConfig.MetricName"),
        (
            "rule.statement.managed_rule_group_statement.name",
            "wafv2",
            "CreateWebACL",
            "Rules.Statement.ManagedRuleGroupStatement.Name",
        ),
        (
            "rule.statement.managed_rule_group_statement.vendor_name",
            "wafv2",
            "CreateWebACL",
            "Rules.Statement.ManagedRuleGroupStatement.VendorName",
        ),
        (
            "rule.statement.managed_rule_group_statement.rule_action_override.name",
            "wafv2",
            "CreateWebACL",
            "Rules.Statement.ManagedRuleGroupStatement.RuleActionOverrides.Name",
        ),
        ("rule.statement.rate_based_statement.limit", "wafv2", "CreateWebACL", "Rules.Statement.RateBasedStatement.Limit"),
        (
            "rule.statement.rate_based_statement.aggregate_key_type",
            "wafv2",
            "CreateWebACL",
            "Rules.Statement.RateBasedStatement.AggregateKeyType",
        ),
    ],
}
# Values the provider uses to mean "not set" and never sends (-1: no reserved concurrency).
UNSET_SENTINELS = {("aws_lambda_function", "reserved_concurrent_executions"): -1}
# Resource types that send AWS no name or enumerated value of their own: only references to
# other resources' ids and ARNs, booleans, or settings sent as UpdateStage patch operations,
# whose values the model leaves untyped.
NOTHING_TO_CHECK = {
    "aws_api_gateway_account",
    "aws_api_gateway_deployment",
    "aws_api_gateway_method_settings",
    "aws_s3_bucket_public_access_block",
    "aws_wafv2_web_acl_association",
    "aws_wafv2_web_acl_logging_configuration",
    # Terraform's own record (the deployment guard): it never reaches an AWS API.
    "terraform_data",
}


@dataclass(frozen=True)
class Violation:
    address: str
    attribute: str
    parameter: str
    value: Any
    rule: str

    def __str__(self) -> str:
        return f"{self.address}.{self.attribute} = {self.value!r} -> {self.parameter}: {self.rule}"


@cache
def _model(service: str):
    return botocore.session.get_session().get_service_model(service)


def parameter_shape(service: str, operation: str, member_path: str):
    """The botocore shape that receives a value, walking list members and map keys/values."""
    if member_path.startswith("#"):
        return _model(service).shape_for(member_path[1:])
    shape = _model(service).operation_model(operation).input_shape
    for step in member_path.split("."):
        if step == "@keys":
            shape = shape.key
            continue
        if step == "@values":
            shape = shape.value
            continue
        shape = shape.members[step]
        while shape.type_name == "list":
            shape = shape.member
    while shape.type_name == "list":
        shape = shape.member
    return shape


def values_at(value: Any, path: str) -> Iterator[Any]:
    """Every value at a dotted attribute path of a planned resource (None: unknown or unset)."""
    if isinstance(value, list):
        for element in value:
            yield from values_at(element, path)
        return
    if not path:
        if value is not None:
            yield value
        return
    step, _, rest = path.partition(".")
    if not isinstance(value, dict):
        return
    if step == "@keys":
        for key in value:
            yield from values_at(key, rest)
    elif step == "@values":
        for item in value.values():
            yield from values_at(item, rest)
    else:
        yield from values_at(value.get(step), rest)


def _enum(shape) -> list[str]:
    return getattr(shape, "enum", None) or []  # only string shapes have the attribute


def documented_values(shape) -> list[str]:
    """Allowed values a model states only in prose: "Possible values are: 1, 3, and 5."."""
    match = re.search(r"Possible values are: ([^.<]+)", shape.documentation or "")
    return re.findall(r"-?\d+", match.group(1)) if match else []


def broken_rules(shape, value: Any) -> list[str]:
    """What the model says `value` must be and it is not."""
    rules = shape.metadata
    broken = []
    if documented_values(shape) and str(value) not in documented_values(shape):
        broken.append(f"not one of the documented values {documented_values(shape)}")
    if shape.type_name == "string":
        text = value if isinstance(value, str) else str(value)
        if "min" in rules and len(text) < rules["min"]:
            broken.append(f"shorter than {rules['min']}")
        if "max" in rules and len(text) > rules["max"]:
            broken.append(f"{len(text)} characters, longer than {rules['max']}")
        if "pattern" in rules and not re.fullmatch(rules["pattern"], text, flags=re.ASCII):
            broken.append(f"does not match {rules['pattern']!r}")
        if _enum(shape) and text not in _enum(shape):
            broken.append(f"not one of {_enum(shape)}")
    elif shape.type_name in ("integer", "long", "float", "double"):
        number = float(value)
        if "min" in rules and number < rules["min"]:
            broken.append(f"under {rules['min']}")
        if "max" in rules and number > rules["max"]:
            broken.append(f"over {rules['max']}")
    return broken


def violations(plan: dict[str, Any]) -> list[Violation]:
    found = []
    for change in plan["resource_changes"]:
        if change["mode"] != "managed" or change["type"] not in PARAMETERS:
            continue
        for attribute, service, operation, member in PARAMETERS[change["type"]]:
            shape = parameter_shape(service, operation, member)
            for value in values_at(change["change"]["after"], attribute):
                if UNSET_SENTINELS.get((change["type"], attribute)) == value:
                    continue
                for rule in broken_rules(shape, value):
                    found.append(Violation(change["address"], attribute, f"{service}:{operation}.{member}", value, rule))
    return found


def constrained_parameters() -> int:
    """How many mapped parameters the models constrain at all (so the check can fail)."""
    return sum(
        1
        for entries in PARAMETERS.values()
        for _, service, operation, member in entries
        if _enum(shape := parameter_shape(service, operation, member))
        or documented_values(shape)
        or {"min", "max", "pattern"} & set(shape.metadata)
    )


@pytest.fixture(scope="module", params=["default prefix", "longest valid prefix"])
def plan(request, valid_plan, longest_prefix_plan):
    return valid_plan if request.param == "default prefix" else longest_prefix_plan


def test_every_planned_resource_type_is_mapped_to_the_api_that_receives_its_values(valid_plan):
    types = {c["type"] for c in valid_plan["resource_changes"] if c["mode"] == "managed"}
    assert types - PARAMETERS.keys() - NOTHING_TO_CHECK == set(), "map each new resource type's names and enums"
    # Every mapped attribute exists in the plan (a renamed argument must not go unchecked).
    for change in valid_plan["resource_changes"]:
        for attribute, *_ in PARAMETERS.get(change["type"], []):
            head = attribute.split(".")[0]
            assert head in change["change"]["after"] or head in (change["change"].get("after_unknown") or {}), (
                change["address"],
                attribute,
            )


def test_every_mapped_api_parameter_exists_in_the_models_and_most_are_constrained():
    for entries in PARAMETERS.values():
        for _, service, operation, member in entries:
            parameter_shape(service, operation, member)  # KeyError when the path is wrong
    assert constrained_parameters() >= 50


def test_every_name_and_enum_the_stack_sends_fits_the_aws_api_model(plan):
    assert [str(v) for v in violations(plan)] == []


def test_the_check_refuses_a_name_or_enum_the_model_forbids(valid_plan):
    def with_value(resource_type: str, attribute: str, value: Any) -> dict[str, Any]:
        changes = [
            {**c, "change": {**c["change"], "after": {**c["change"]["after"], attribute: value}}}
            for c in valid_plan["resource_changes"]
            if c["type"] == resource_type and c["mode"] == "managed"
        ]
        return {"resource_changes": changes}

    assert violations(with_value("aws_iam_role", "name", "r" * 65))
    assert violations(with_value("aws_wafv2_web_acl", "name", "has space"))
    assert violations(with_value("aws_kms_alias", "name", "alias/ümlaut"))
    assert violations(with_value("aws_lambda_function", "runtime", "nodejs99.x"))
    assert violations(with_value("aws_cloudwatch_log_delivery_source", "name", "s" * 61))
    assert violations(with_value("aws_dynamodb_table", "name", "a b"))
    assert violations(with_value("aws_cloudwatch_log_group", "retention_in_days", 31))
    assert violations(with_value("aws_cloudwatch_metric_alarm", "namespace", "a\nb"))
    assert not violations(with_value("aws_kms_alias", "name", "alias/fine_name-1"))


def test_the_longest_prefix_plan_uses_the_longest_prefix(longest_prefix_plan):
    names = [c["change"]["after"]["function_name"] for c in longest_prefix_plan["resource_changes"] if c["type"] == "aws_lambda_function"]
    assert [name.split("-processor")[0] for name in names] == ["p" * MAX_PREFIX_LENGTH]
