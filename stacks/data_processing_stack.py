"""The serverless data-processing service, composed like its architecture diagram:

client ──POST /process (API key)──▶ API Gateway ──▶ Lambda ──GetItem──▶ DynamoDB
                                                      └──PutObject──▶ S3 ◀── CloudFront (HTTPS, OAC)
                                                                      └─access logs─▶ S3 (logs)
Lambda / API / table metrics + handler error lines ──▶ CloudWatch alarms ──▶ SNS (KMS) ──▶ email
"""

from __future__ import annotations

from pathlib import Path

from cdktf import Op, TerraformOutput, TerraformStack, Token
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

from constructs_lib.account import caller_identity
from constructs_lib.alarms import AlarmSpec, HandlerErrorMetric, ProcessingAlarms, ProcessingAlarmsProps
from constructs_lib.alerts import AlertTopic, AlertTopicProps
from constructs_lib.api import ProcessApi, ProcessApiProps
from constructs_lib.api_account import ApiGatewayLoggingAccount, ApiGatewayLoggingAccountProps
from constructs_lib.aws_provider import ProviderProps, aws_provider
from constructs_lib.cdn import AccessLogs, BucketDistribution, BucketDistributionProps
from constructs_lib.dashboard import OperationsDashboard, OperationsDashboardProps
from constructs_lib.data_bucket import BucketLifecycle, SecureBucket, SecureBucketProps
from constructs_lib.deployment_guard import DeploymentGuard, DeploymentGuardProps, StoredState
from constructs_lib.encryption_key import ServiceKey, ServiceKeyProps
from constructs_lib.function import ProcessorFunction, ProcessorFunctionProps
from constructs_lib.guardrails import acknowledge, apply_guardrails
from constructs_lib.iam import Statement
from constructs_lib.inputs import InputDefaults, StackInputs
from constructs_lib.naming import Name, alarm_key, derive
from constructs_lib.state_backend import apply_state_backend
from constructs_lib.table import ItemsTable, ItemsTableProps
from constructs_lib.waf import WebAcl, WebAclProps
from stacks.facts import BLOCKED_COUNTRIES, PROJECT_ROOT, REGION, REQUIRED_TAGS
from stacks.handler_contract import HANDLER_DIR, HandlerContract
from stacks.settings import LEGACY_STATE_KEY, StackSettings

ACCESS_LOG_PREFIX = "s3-access/"
CDN_LOG_PREFIX = "cloudfront/"
BUILD_DIR = PROJECT_ROOT / ".build"
# How a user reaches another deployment: its own synth, which names its own state.
ADDRESS_DEPLOYMENT = "synthesize for it: RESOURCE_PREFIX={name} npx cdktf deploy {stack} (or RESOURCE_PREFIX={name} make synth)"


# Releases before 2026-12 numbered the alarms (alarm-0 ...): each is moved to its key, not replaced.
NUMBERED_ALARMS = {
    alarm_key(Name.ALARM_LAMBDA_ERRORS): "aws_cloudwatch_metric_alarm.alarms_alarm-0_5BFF86B4",
    alarm_key(Name.ALARM_LAMBDA_THROTTLES): "aws_cloudwatch_metric_alarm.alarms_alarm-1_930CB65B",
    alarm_key(Name.ALARM_API_5XX): "aws_cloudwatch_metric_alarm.alarms_alarm-2_D3ED27B3",
    alarm_key(Name.ALARM_TABLE_READ_THROTTLES): "aws_cloudwatch_metric_alarm.alarms_alarm-3_728CF11C",
    alarm_key(Name.ALARM_HANDLER_ERRORS): "aws_cloudwatch_metric_alarm.alarms_alarm-4_B44AD450",
}


# The alarms that warn before a limit is reached fire at this share of it (duration against the
# timeout, consumed against provisioned read capacity); the API's p99 latency at this share of
# the function's timeout. Over the alarms' 5-minute period.
NEAR_LIMIT = 0.8
LATENCY_SHARE_OF_TIMEOUT = 0.5
ALARM_PERIOD_SECONDS = 300


class DataProcessingStack(TerraformStack):
    def __init__(self, scope: Construct, id_: str, settings: StackSettings, handler_dir: Path = HANDLER_DIR) -> None:
        super().__init__(scope, id_)
        contract = HandlerContract.load(handler_dir)
        apply_state_backend(self, settings.backend)
        aws_provider(
            self,
            "aws",
            ProviderProps(region=REGION, default_tags=REQUIRED_TAGS),
        )

        inputs = StackInputs(self, "inputs", InputDefaults(resource_prefix=settings.deployment or InputDefaults.resource_prefix))
        prefix = inputs.resource_prefix.string_value
        DeploymentGuard(
            self,
            "deployment",
            DeploymentGuardProps(
                stack=id_,
                variable=inputs.resource_prefix,
                deployment=settings.deployment,
                address=ADDRESS_DEPLOYMENT,
                state=StoredState(settings.backend.bucket, settings.backend.key, LEGACY_STATE_KEY, self._state_region_provider(settings))
                if settings.backend.kind == "s3"
                else None,
            ),
        )

        def name(kind: Name) -> str:
            return derive(prefix, kind)

        account = caller_identity(self)
        key = ServiceKey(
            self,
            "key",
            ServiceKeyProps(
                alias=name(Name.KEY_ALIAS),
                description="Encrypts the data-processing stack's alerts, logs and function settings",
                region=REGION,
            ),
        ).key

        table = ItemsTable(
            self,
            "items",
            ItemsTableProps(
                name=name(Name.TABLE),
                read_capacity=inputs.read_capacity.number_value,
                write_capacity=inputs.write_capacity.number_value,
                deletion_protection=settings.protect_stateful,
            ),
        )

        # Bucket names are global: the account id keeps equal prefixes in two accounts apart.
        # An Object Lock bucket cannot receive server access logs, hence a bucket of their own.
        logs = SecureBucket(
            self,
            "logs",
            SecureBucketProps(
                name=f"{name(Name.LOG_BUCKET)}-{account.account_id}",
                object_lock=False,
                force_destroy=not settings.protect_stateful,
                lifecycle=BucketLifecycle(noncurrent_days=30, expire_days=365),
            ),
        )
        data = SecureBucket(
            self,
            "data",
            SecureBucketProps(
                name=f"{name(Name.DATA_BUCKET)}-{account.account_id}",
                object_lock_days=settings.object_lock_days,
                force_destroy=not settings.protect_stateful,
            ),
        )
        data.send_access_logs_to(logs, ACCESS_LOG_PREFIX)
        cdn_firewall = WebAcl(self, "cdn-waf", WebAclProps(name=name(Name.CDN_WAF), scope="CLOUDFRONT", key_arn=key.arn))
        cdn = BucketDistribution(
            self,
            "cdn",
            BucketDistributionProps(
                bucket=data,
                oac_name=name(Name.OAC),
                headers_policy_name=name(Name.HEADERS_POLICY),
                web_acl_arn=cdn_firewall.acl.arn,
                access_logs=AccessLogs(
                    bucket=logs,
                    prefix=CDN_LOG_PREFIX,
                    source_name=name(Name.CDN_LOG_SOURCE),
                    destination_name=name(Name.CDN_LOG_DESTINATION),
                ),
                own_security_headers=settings.own_security_headers,
                wait_for_deployment=settings.cdn_wait_for_deployment,
                blocked_countries=BLOCKED_COUNTRIES,
            ),
        )

        processor = ProcessorFunction(
            self,
            "processor",
            ProcessorFunctionProps(
                name=name(Name.FUNCTION),
                role_name=name(Name.FUNCTION_ROLE),
                policy_name=name(Name.FUNCTION_POLICY),
                runtime=settings.lambda_runtime,
                source_dir=handler_dir,
                build_dir=BUILD_DIR,
                environment=contract.environment_for(
                    table=table.table.name, bucket=data.bucket.bucket, cdnDomain=cdn.distribution.domain_name
                ),
                key_arn=key.arn,
                reserved_concurrency=settings.reserved_concurrency,
                # Exactly what the handler calls.
                statements=[
                    Statement(sid="ReadItems", actions=["dynamodb:GetItem"], resources=[table.table.arn]),
                    Statement(sid="WriteResults", actions=["s3:PutObject"], resources=[data.objects_arn]),
                ],
            ),
        )

        # Region-wide: one deployment per region sets it, the others' stages log through it.
        logging_account = (
            ApiGatewayLoggingAccount(self, "api-logging", ApiGatewayLoggingAccountProps(role_name=name(Name.API_LOGGING_ROLE)))
            if settings.manage_api_account
            else None
        )
        # The firewall inspects every byte of the bodies the handler takes, and blocks larger ones.
        api_firewall = WebAcl(
            self,
            "api-waf",
            WebAclProps(
                name=name(Name.API_WAF),
                scope="REGIONAL",
                key_arn=key.arn,
                largest_body_bytes=contract.max_body_bytes,
                blocked_countries=BLOCKED_COUNTRIES,
            ),
        )
        api = ProcessApi(
            self,
            "api",
            ProcessApiProps(
                name=name(Name.API),
                key_name=name(Name.API_KEY),
                usage_plan_name=name(Name.USAGE_PLAN),
                access_log_group_name=f"/aws/apigateway/{name(Name.API_ACCESS_LOGS)}",
                function=processor.alias,
                id_rule=contract.id_rule,
                logging_account=logging_account.account if logging_account else None,
                log_key_arn=key.arn,
                web_acl_arn=api_firewall.acl.arn,
                **({"requests_per_day": settings.api_requests_per_day} if settings.api_requests_per_day else {}),
            ),
        )

        alerts = AlertTopic(
            self,
            "alerts",
            AlertTopicProps(topic_name=name(Name.TOPIC), email=inputs.alert_email.string_value, key_arn=key.arn),
        )
        function_dimensions = {"FunctionName": processor.function.function_name}
        alarms = ProcessingAlarms(
            self,
            "alarms",
            ProcessingAlarmsProps(
                topic_arn=alerts.topic.arn,
                alarms=[
                    AlarmSpec(
                        key=alarm_key(Name.ALARM_LAMBDA_ERRORS),
                        name=name(Name.ALARM_LAMBDA_ERRORS),
                        description="The processor function threw (AWS/Lambda Errors)",
                        namespace="AWS/Lambda",
                        metric_name="Errors",
                        dimensions=function_dimensions,
                    ),
                    AlarmSpec(
                        key=alarm_key(Name.ALARM_LAMBDA_THROTTLES),
                        name=name(Name.ALARM_LAMBDA_THROTTLES),
                        description="Invocations of the processor function were throttled",
                        namespace="AWS/Lambda",
                        metric_name="Throttles",
                        dimensions=function_dimensions,
                    ),
                    AlarmSpec(
                        key=alarm_key(Name.ALARM_API_5XX),
                        name=name(Name.ALARM_API_5XX),
                        description="The API answered 5xx to clients",
                        namespace="AWS/ApiGateway",
                        metric_name="5XXError",
                        dimensions={"ApiName": api.rest_api.name, "Stage": api.stage.stage_name},
                    ),
                    AlarmSpec(
                        key=alarm_key(Name.ALARM_TABLE_READ_THROTTLES),
                        name=name(Name.ALARM_TABLE_READ_THROTTLES),
                        description="Reads of the items table were throttled (raise DynamoDbReadCapacity)",
                        namespace="AWS/DynamoDB",
                        metric_name="ReadThrottleEvents",
                        dimensions={"TableName": table.table.name},
                    ),
                    AlarmSpec(
                        key=alarm_key(Name.ALARM_API_LATENCY),
                        name=name(Name.ALARM_API_LATENCY),
                        description="The API's slowest 1% of requests took half the function's timeout or more",
                        namespace="AWS/ApiGateway",
                        metric_name="Latency",
                        dimensions={"ApiName": api.rest_api.name, "Stage": api.stage.stage_name},
                        statistic="p99",
                        threshold=processor.timeout_seconds * 1000 * LATENCY_SHARE_OF_TIMEOUT,
                    ),
                    AlarmSpec(
                        key=alarm_key(Name.ALARM_LAMBDA_DURATION),
                        name=name(Name.ALARM_LAMBDA_DURATION),
                        description="An invocation of the processor function came near its timeout",
                        namespace="AWS/Lambda",
                        metric_name="Duration",
                        dimensions=function_dimensions,
                        statistic="Maximum",
                        threshold=processor.timeout_seconds * 1000 * NEAR_LIMIT,
                    ),
                    AlarmSpec(
                        key=alarm_key(Name.ALARM_TABLE_READ_CAPACITY),
                        name=name(Name.ALARM_TABLE_READ_CAPACITY),
                        description="Reads of the items table came near its provisioned capacity (raise DynamoDbReadCapacity)",
                        namespace="AWS/DynamoDB",
                        metric_name="ConsumedReadCapacityUnits",
                        dimensions={"TableName": table.table.name},
                        # Consumed units are summed over the period; provisioned ones are per second.
                        threshold=Token.as_number(Op.mul(inputs.read_capacity.number_value, NEAR_LIMIT * ALARM_PERIOD_SECONDS)),
                    ),
                ],
                handler_errors=HandlerErrorMetric(
                    key=alarm_key(Name.ALARM_HANDLER_ERRORS),
                    pattern=contract.error_pattern,
                    filter_name=name(Name.HANDLER_ERROR_FILTER),
                    log_group_name=processor.log_group.name,
                    namespace=name(Name.METRIC_NAMESPACE),
                    alarm_name=name(Name.ALARM_HANDLER_ERRORS),
                ),
                previous_addresses=NUMBERED_ALARMS,
            ),
        )
        OperationsDashboard(
            self,
            "dashboard",
            OperationsDashboardProps(
                name=name(Name.DASHBOARD),
                region=REGION,
                api_name=api.rest_api.name,
                stage_name=api.stage.stage_name,
                function_name=processor.function.function_name,
                table_name=table.table.name,
                distribution_id=cdn.distribution.id,
                alarm_arns=[alarm.arn for alarm in alarms.alarms],
                function_timeout_ms=processor.timeout_seconds * 1000,
            ),
        )

        outputs = {
            "api_invoke_url": (api.invoke_url, "URL of POST /process (send the API key in x-api-key)"),
            "api_key_id": (api.api_key.id, "Id of the API key (aws apigateway get-api-key --include-value)"),
            "cloudfront_domain": (cdn.distribution.domain_name, "HTTPS domain serving processing results"),
            "data_bucket_name": (data.bucket.bucket, "Bucket holding processing results"),
            "log_bucket_name": (logs.bucket.bucket, "Bucket holding the data bucket's server access logs"),
            "table_name": (table.table.name, "DynamoDB table read by the handler"),
            "function_name": (processor.function.function_name, "Lambda function processing requests"),
            "alert_topic_arn": (alerts.topic.arn, "SNS topic receiving alarms"),
        }
        for output_id, (value, description) in outputs.items():
            TerraformOutput(self, output_id, value=value, description=description)
        TerraformOutput(
            self,
            "api_key_value",
            value=api.api_key.value,
            description="The API key itself (terraform output -raw api_key_value)",
            sensitive=True,
        )
        apply_guardrails(self, region=REGION, required_tags=REQUIRED_TAGS)

    def _state_region_provider(self, settings: StackSettings) -> AwsProvider | None:
        """The provider the deployment guard lists the state bucket with, when the bucket lies in
        another region than the stack's (S3 refuses a listing sent to the wrong region)."""
        if settings.backend.region in (None, REGION):
            return None
        provider = aws_provider(
            self, "state-region", ProviderProps(region=settings.backend.region, default_tags=REQUIRED_TAGS, alias="state")
        )
        acknowledge(provider, "GR5", "Only the deployment guard's two listings of the state bucket use it; it creates nothing")
        return provider
