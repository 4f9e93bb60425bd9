"""A Node.js Lambda function with its own log group and a least-privilege role."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from cdktf import AssetType, TerraformAsset
from cdktf import Fn
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_code_signing_config import (
    LambdaCodeSigningConfig,
    LambdaCodeSigningConfigAllowedPublishers,
    LambdaCodeSigningConfigPolicies,
)
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionDeadLetterConfig,
    LambdaFunctionEnvironment,
    LambdaFunctionTracingConfig,
)
from cdktf_cdktf_provider_aws.signer_signing_profile import SignerSigningProfile
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from constructs_lib.iam import ServiceRole, ServiceRoleProps, Statement
from constructs_lib.node_package import DEFAULT_RUNTIME, NODE_RUNTIMES, build_package


@dataclass(frozen=True)
class ProcessorFunctionProps:
    name: str
    role_name: str
    policy_name: str
    source_dir: Path
    build_dir: Path
    environment: Mapping[str, str]
    # Everything the handler calls; the runtime's own needs (logs, X-Ray, the dead-letter
    # queue, the key) are added here.
    statements: Sequence[Statement]
    # A customer-managed key for the log group, the environment and the dead-letter queue.
    key_arn: str
    dead_letter_queue_name: str
    runtime: str = DEFAULT_RUNTIME
    handler: str = "index.handler"
    memory_size: int = 256
    timeout_seconds: int = 10
    architecture: str = "arm64"
    log_retention_days: int = 30
    description: str = "Processes POST /process requests"
    # Caps what one function can take from the account's concurrency (and its bill).
    reserved_concurrency: int = 10
    tracing_mode: str = "Active"
    dead_letter_retention_seconds: int = 14 * 24 * 3600
    # Code signing: "Warn" lets unsigned packages deploy (with a warning) until CI signs them;
    # "Enforce" refuses them. None: no code signing config (the emulator has none).
    code_signing_policy: str | None = "Warn"


class ProcessorFunction(Construct):
    def __init__(self, scope: Construct, id_: str, props: ProcessorFunctionProps) -> None:
        super().__init__(scope, id_)
        if props.runtime not in NODE_RUNTIMES:
            raise ValueError(f"{self.node.path}: runtime {props.runtime!r} is not one of {', '.join(NODE_RUNTIMES)}")

        # Created by Terraform, not by the first invocation, so retention applies from the start
        # and destroy removes it.
        self.log_group = CloudwatchLogGroup(
            self,
            "log-group",
            name=f"/aws/lambda/{props.name}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.key_arn,
        )
        # Only asynchronous invocations reach it (API Gateway invokes synchronously); it keeps
        # their failed events instead of dropping them.
        self.dead_letter_queue = SqsQueue(
            self,
            "dead-letter-queue",
            name=props.dead_letter_queue_name,
            kms_master_key_id=props.key_arn,
            message_retention_seconds=props.dead_letter_retention_seconds,
        )
        runtime_statements = [
            Statement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{self.log_group.arn}:log-stream:*"],
            ),
            # X-Ray has no resource-level permissions: these two actions on "*" are its minimum.
            Statement(sid="SendTraces", actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]),
            Statement(sid="DeadLetter", actions=["sqs:SendMessage"], resources=[self.dead_letter_queue.arn]),
            Statement(sid="UseKey", actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[props.key_arn]),
        ]
        self.role = ServiceRole(
            self,
            "role",
            ServiceRoleProps(
                name=props.role_name,
                service="lambda.amazonaws.com",
                description=f"Execution role of {props.name}",
                policies={props.policy_name: [*props.statements, *runtime_statements]},
            ),
        )

        code_signing = None
        if props.code_signing_policy:
            # Signer profile names allow only letters, digits and underscores.
            profile = SignerSigningProfile(
                self, "signing-profile", name=Fn.replace(props.name, "-", "_"), platform_id="AWSLambda-SHA384-ECDSA"
            )
            code_signing = LambdaCodeSigningConfig(
                self,
                "code-signing",
                description=f"Signing requirements of {props.name}",
                allowed_publishers=LambdaCodeSigningConfigAllowedPublishers(signing_profile_version_arns=[profile.version_arn]),
                policies=LambdaCodeSigningConfigPolicies(untrusted_artifact_on_deployment=props.code_signing_policy),
            )

        package, package_hash = build_package(props.source_dir, props.build_dir)
        asset = TerraformAsset(self, "package", path=str(package), type=AssetType.FILE)
        self.function = LambdaFunction(
            self,
            "function",
            function_name=props.name,
            description=props.description,
            role=self.role.role.arn,
            runtime=props.runtime,
            handler=props.handler,
            architectures=[props.architecture],
            memory_size=props.memory_size,
            timeout=props.timeout_seconds,
            filename=asset.path,
            source_code_hash=package_hash,
            environment=LambdaFunctionEnvironment(variables=dict(props.environment)),
            kms_key_arn=props.key_arn,
            tracing_config=LambdaFunctionTracingConfig(mode=props.tracing_mode),
            reserved_concurrent_executions=props.reserved_concurrency,
            dead_letter_config=LambdaFunctionDeadLetterConfig(target_arn=self.dead_letter_queue.arn),
            code_signing_config_arn=code_signing.arn if code_signing else None,
            # The log group and the attached policies must exist before the first invocation.
            depends_on=[self.log_group, *self.role.attachments],
        )
