"""A Node.js Lambda function with its own log group and a least-privilege role."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionEnvironment,
)
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
    # Everything the function may do besides writing its own logs.
    statements: Sequence[Statement]
    runtime: str = DEFAULT_RUNTIME
    handler: str = "index.handler"
    memory_size: int = 256
    timeout_seconds: int = 10
    architecture: str = "arm64"
    log_retention_days: int = 30
    description: str = "Processes POST /process requests"
    extra_managed_policy_arns: Sequence[str] = ()


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
        )
        write_own_logs = Statement(
            sid="WriteOwnLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[f"{self.log_group.arn}:log-stream:*"],
        )
        self.role = ServiceRole(
            self,
            "role",
            ServiceRoleProps(
                name=props.role_name,
                service="lambda.amazonaws.com",
                description=f"Execution role of {props.name}",
                policies={props.policy_name: [*props.statements, write_own_logs]},
                managed_policy_arns=props.extra_managed_policy_arns,
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
            # The log group and the attached policies must exist before the first invocation.
            depends_on=[self.log_group, *self.role.attachments],
        )
