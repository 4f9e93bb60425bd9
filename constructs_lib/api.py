"""A regional REST API whose POST /process invokes a Lambda function (proxy integration).

REST (API Gateway v1) because usage plans and API keys exist only there. The method requires
an API key; a usage plan caps each key per day and throttles; bodies are validated against a
JSON schema before the function is invoked (the handler validates again); access logs go to
their own encrypted log group as one JSON object per request; the stage is traced by X-Ray.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsii
from cdktf import (
    IResolveContext,
    IStringProducer,
    ITerraformDependable,
    Lazy,
    TerraformResource,
    TerraformResourceLifecycle,
    TerraformStack,
)
from cdktf_cdktf_provider_aws.api_gateway_api_key import ApiGatewayApiKey
from cdktf_cdktf_provider_aws.api_gateway_deployment import ApiGatewayDeployment
from cdktf_cdktf_provider_aws.api_gateway_gateway_response import ApiGatewayGatewayResponse
from cdktf_cdktf_provider_aws.api_gateway_integration import ApiGatewayIntegration
from cdktf_cdktf_provider_aws.api_gateway_method import ApiGatewayMethod
from cdktf_cdktf_provider_aws.api_gateway_method_settings import (
    ApiGatewayMethodSettings,
    ApiGatewayMethodSettingsSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_model import ApiGatewayModel
from cdktf_cdktf_provider_aws.api_gateway_request_validator import ApiGatewayRequestValidator
from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
from cdktf_cdktf_provider_aws.api_gateway_rest_api import (
    ApiGatewayRestApi,
    ApiGatewayRestApiEndpointConfiguration,
)
from cdktf_cdktf_provider_aws.api_gateway_stage import ApiGatewayStage, ApiGatewayStageAccessLogSettings
from cdktf_cdktf_provider_aws.api_gateway_usage_plan import (
    ApiGatewayUsagePlan,
    ApiGatewayUsagePlanApiStages,
    ApiGatewayUsagePlanQuotaSettings,
    ApiGatewayUsagePlanThrottleSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_usage_plan_key import ApiGatewayUsagePlanKey
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_alias import LambdaAlias
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.wafv2_web_acl_association import Wafv2WebAclAssociation
from constructs import Construct

from constructs_lib.api_snapshot import NOT_SNAPSHOTTED, snapshotted

# One JSON object per request; field names follow $context variables.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "requestTime": "$context.requestTime",
        "sourceIp": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "apiKeyId": "$context.identity.apiKeyId",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "protocol": "$context.protocol",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationStatus": "$context.integration.status",
        "integrationLatency": "$context.integration.latency",
        "integrationError": "$context.integration.error",
        "errorMessage": "$context.error.message",
    },
    separators=(",", ":"),
)


def request_schema(id_rule: Mapping[str, Any]) -> str:
    """The request contract as far as JSON schema draft-04 can say it: `id_rule` is the handler's
    own (handler/src/contract.json), whose "forbidden" substring only the handler can refuse."""
    id_schema = {"type": "string", **{k: id_rule[k] for k in ("minLength", "maxLength", "pattern")}}
    return json.dumps(
        {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "title": "ProcessRequest",
            "type": "object",
            "required": ["id"],
            "additionalProperties": False,
            "properties": {"id": id_schema, "payload": {"type": "object"}},
        },
        separators=(",", ":"),
    )


# How a resource names the REST API it configures: its id, as a reference.
DIRECT_API_REFERENCE = re.compile(r"\$\{aws_api_gateway_rest_api\.[\w-]+\.id\}")


@jsii.implements(IStringProducer)
class _SnapshotDigest:
    """The deployment's trigger: a digest of every attribute (but tags) of the REST API and of every
    resource in the stack that names it (its `rest_api_id`), found when the stack synthesizes, so a
    resource added later, in this construct or beside it, is covered without being listed. Whole
    objects, not ids, because an update in place keeps the id (the provider's documentation warns
    that id-only triggers miss such changes). Referencing the objects also orders the deployment
    after them. A removed resource is the exception: see docs/security.md, "Changes that reach the
    live API"."""

    def __init__(self, rest_api: ApiGatewayRestApi) -> None:
        self.rest_api = rest_api

    def produce(self, context: IResolveContext) -> str:
        stack = TerraformStack.of(self.rest_api)
        # Each read of an attribute is a token of its own: compared as the expressions they resolve to.
        api_id = context.resolve(self.rest_api.id)
        addresses = [f"{self.rest_api.terraform_resource_type}.{self.rest_api.friendly_unique_id}"]
        for child in stack.node.find_all():
            if not isinstance(child, TerraformResource) or not snapshotted(child.terraform_resource_type):
                continue
            # An escape hatch (add_override) wins over the argument in the synthesized JSON; cdktf
            # keeps the overrides in a protected member, the only place they can be read before synth.
            overridden = (child._raw_overrides or {}).get("rest_api_id")
            named = context.resolve(overridden if overridden is not None else getattr(child, "rest_api_id_input", None))
            if named is None:
                continue
            if not (isinstance(named, str) and DIRECT_API_REFERENCE.fullmatch(named)):
                # Through a variable or a function it could be this API, unseen: say so rather than miss it.
                raise ValueError(
                    f"{child.node.path} names its REST API as {named!r}: pass the API's id itself (rest_api.id), "
                    "so the deployment that snapshots it can find it"
                )
            if named == api_id:
                addresses.append(f"{child.terraform_resource_type}.{child.friendly_unique_id}")
        addresses.sort()
        skipped = json.dumps(list(NOT_SNAPSHOTTED))
        # As the provider reads them back, or the first plan after every apply would plan a new
        # deployment: unset and empty are one value (an unset map or list reads back empty), and a
        # JSON document is compared as its data (the model's schema is stored with sorted keys
        # and read back as written).
        kept = f"!contains({skipped}, name) && try(length(value) > 0, value != null)"
        canonical = "try(jsonencode(jsondecode(value)), value)"
        objects = f"[for snapshot in [{', '.join(addresses)}] : {{for name, value in snapshot : name => {canonical} if {kept}}}]"
        return f"${{sha1(jsonencode({objects}))}}"


# A refused body answers in the handler's error shape, not API Gateway's default. The quotes
# are the template's: API Gateway inserts validationErrorString unquoted (its inner quotes
# escaped), unlike messageString (AWS sample: aws-samples/serverless-samples,
# apigw-eventbridge-schema-validation, observed `"message": "[object has missing ...]"`).
BAD_BODY_TEMPLATE = '{"error":"InvalidBody","message":"$context.error.validationErrorString","requestId":"$context.requestId"}'


@dataclass(frozen=True)
class ProcessApiProps:
    name: str
    key_name: str
    usage_plan_name: str
    access_log_group_name: str
    # The alias the API invokes (never $LATEST), and its permission is scoped to.
    function: LambdaAlias
    # The handler's id rule (pattern, minLength, maxLength): the request model validates it first.
    id_rule: Mapping[str, Any]
    # The region's API Gateway logging setting, when this stack sets it: stages log only once it is set.
    logging_account: ITerraformDependable | None
    stage_name: str = "v1"
    path_part: str = "process"
    requests_per_day: int = 1000
    rate_limit: float = 10
    burst_limit: int = 20
    access_log_retention_days: int = 30
    # Customer-managed key for the access log group.
    log_key_arn: str | None = None
    xray_tracing: bool = True
    # A WAF web ACL (REGIONAL) in front of the stage.
    web_acl_arn: str | None = None


class ProcessApi(Construct):
    def __init__(self, scope: Construct, id_: str, props: ProcessApiProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.rest_api = ApiGatewayRestApi(
            self,
            "rest-api",
            name=props.name,
            description="POST /process: validates a request and hands it to the processor function",
            endpoint_configuration=ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        resource = ApiGatewayResource(
            self,
            "resource",
            rest_api_id=self.rest_api.id,
            parent_id=self.rest_api.root_resource_id,
            path_part=props.path_part,
        )
        schema = request_schema(props.id_rule)
        model = ApiGatewayModel(
            self,
            "request-model",
            rest_api_id=self.rest_api.id,
            name="ProcessRequest",
            content_type="application/json",
            schema=schema,
        )
        validator = ApiGatewayRequestValidator(
            self,
            "request-validator",
            rest_api_id=self.rest_api.id,
            name="body",
            validate_request_body=True,
            validate_request_parameters=False,
        )
        ApiGatewayGatewayResponse(
            self,
            "bad-body-response",
            rest_api_id=self.rest_api.id,
            response_type="BAD_REQUEST_BODY",
            status_code="400",
            response_templates={"application/json": BAD_BODY_TEMPLATE},
        )
        self.method = ApiGatewayMethod(
            self,
            "method",
            rest_api_id=self.rest_api.id,
            resource_id=resource.id,
            http_method="POST",
            authorization="NONE",
            api_key_required=True,
            request_models={"application/json": model.name},
            request_validator_id=validator.id,
        )
        ApiGatewayIntegration(
            self,
            "integration",
            rest_api_id=self.rest_api.id,
            resource_id=resource.id,
            http_method=self.method.http_method,
            type="AWS_PROXY",
            # Lambda is always invoked with POST, whatever the client's method.
            integration_http_method="POST",
            uri=props.function.invoke_arn,
        )
        LambdaPermission(
            self,
            "invoke-permission",
            statement_id="AllowApiGatewayInvoke",
            action="lambda:InvokeFunction",
            function_name=props.function.function_name,
            qualifier=props.function.name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{self.rest_api.execution_arn}/{props.stage_name}/{self.method.http_method}{resource.path}",
        )
        deployment = ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=self.rest_api.id,
            # A new deployment whenever anything it snapshots changes; the stage then moves to it.
            triggers={"redeployment": Lazy.string_value(_SnapshotDigest(self.rest_api))},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        self.access_logs = CloudwatchLogGroup(
            self,
            "access-logs",
            name=props.access_log_group_name,
            retention_in_days=props.access_log_retention_days,
            kms_key_id=props.log_key_arn,
        )
        self.stage = ApiGatewayStage(
            self,
            "stage",
            rest_api_id=self.rest_api.id,
            deployment_id=deployment.id,
            stage_name=props.stage_name,
            access_log_settings=ApiGatewayStageAccessLogSettings(
                destination_arn=self.access_logs.arn,
                format=ACCESS_LOG_FORMAT,
            ),
            xray_tracing_enabled=props.xray_tracing,
            depends_on=[props.logging_account] if props.logging_account else None,
        )
        # Stage execution logs (logging_level below) go to a group API Gateway names after the API
        # and would otherwise create on the first error: kept forever, unencrypted, and left
        # behind by destroy. Created here first, like the function's.
        self.execution_logs = CloudwatchLogGroup(
            self,
            "execution-logs",
            name=f"API-Gateway-Execution-Logs_{self.rest_api.id}/{props.stage_name}",
            retention_in_days=props.access_log_retention_days,
            kms_key_id=props.log_key_arn,
        )
        ApiGatewayMethodSettings(
            self,
            "method-settings",
            rest_api_id=self.rest_api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=ApiGatewayMethodSettingsSettings(
                metrics_enabled=True,
                logging_level="ERROR",
                data_trace_enabled=False,
                throttling_rate_limit=props.rate_limit,
                throttling_burst_limit=props.burst_limit,
            ),
            depends_on=[d for d in (props.logging_account, self.execution_logs) if d is not None],
        )
        if props.web_acl_arn:
            Wafv2WebAclAssociation(self, "web-acl", resource_arn=self.stage.arn, web_acl_arn=props.web_acl_arn)
        self.api_key = ApiGatewayApiKey(self, "api-key", name=props.key_name, enabled=True)
        self.usage_plan = ApiGatewayUsagePlan(
            self,
            "usage-plan",
            name=props.usage_plan_name,
            description=f"{props.requests_per_day} requests per day per key",
            api_stages=[ApiGatewayUsagePlanApiStages(api_id=self.rest_api.id, stage=self.stage.stage_name)],
            quota_settings=ApiGatewayUsagePlanQuotaSettings(limit=props.requests_per_day, period="DAY"),
            throttle_settings=ApiGatewayUsagePlanThrottleSettings(rate_limit=props.rate_limit, burst_limit=props.burst_limit),
        )
        ApiGatewayUsagePlanKey(
            self,
            "usage-plan-key",
            key_id=self.api_key.id,
            key_type="API_KEY",
            usage_plan_id=self.usage_plan.id,
        )

    @property
    def invoke_url(self) -> str:
        return f"{self.stage.invoke_url}/{self.props.path_part}"
