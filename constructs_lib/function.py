"""A Node.js Lambda function with its own log group and a least-privilege role.

Every deploy that changes the function publishes a version, and callers invoke the `live` alias
on it, never `$LATEST`: what serves requests is always a published, immutable version, and the
version that served before stays there to go back to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_alias import LambdaAlias
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionEnvironment,
    LambdaFunctionTracingConfig,
)
from constructs import Construct

from constructs_lib.iam import ServiceRole, ServiceRoleProps, Statement
from constructs_lib.node_package import DEFAULT_RUNTIME, NODE_RUNTIMES, build_package

# The alias callers invoke.
LIVE_ALIAS = "live"


@dataclass(frozen=True)
class ProcessorFunctionProps:
    name: str
    role_name: str
    policy_name: str
    source_dir: Path
    build_dir: Path
    environment: Mapping[str, str]
    # Everything the handler calls; the runtime's own needs (logs, X-Ray) are added here. The
    # environment's key needs no statement: Lambda decrypts it through a KMS grant it creates for
    # the role when the function is deployed.
    statements: Sequence[Statement]
    # A customer-managed key for the log group and the environment.
    key_arn: str
    runtime: str = DEFAULT_RUNTIME
    handler: str = "index.handler"
    memory_size: int = 256
    timeout_seconds: int = 10
    architecture: str = "arm64"
    log_retention_days: int = 30
    description: str = "Processes POST /process requests"
    # Reserved concurrency caps what the function takes from the account (and its bill), but
    # Lambda refuses a reservation that leaves under 100 unreserved, which new accounts' reduced
    # quotas cannot spare: None (the default) reserves nothing.
    reserved_concurrency: int | None = None
    tracing_mode: str = "Active"


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
        runtime_statements = [
            Statement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{self.log_group.arn}:log-stream:*"],
            ),
            # X-Ray has no resource-level permissions: these two actions on "*" are its minimum.
            Statement(sid="SendTraces", actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]),
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
            publish=True,
            # The log group and the attached policies must exist before the first invocation.
            depends_on=[self.log_group, *self.role.attachments],
        )
        self.timeout_seconds = props.timeout_seconds
        self.alias = LambdaAlias(
            self,
            "live-alias",
            name=LIVE_ALIAS,
            description="What callers invoke: the published version that serves requests",
            function_name=self.function.function_name,
            function_version=self.function.version,
        )
