"""The region-wide API Gateway setting that lets stages write logs to CloudWatch.

`aws_api_gateway_account` is one setting per account and region, not a per-API resource:
applying this stack points it at this stack's role (replacing any earlier role). Destroying the
stack deletes that role, so it also resets the setting (`reset_on_delete`) instead of leaving it
pointing at a role that no longer exists, which would make every stage's logging in the region
fail until someone sets a new role.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount
from cdktf_cdktf_provider_aws.data_aws_iam_policy import DataAwsIamPolicy
from constructs import Construct

from constructs_lib.iam import ServiceRole, ServiceRoleProps

PUSH_TO_CLOUDWATCH_POLICY = "AmazonAPIGatewayPushToCloudWatchLogs"


@dataclass(frozen=True)
class ApiGatewayLoggingAccountProps:
    role_name: str


class ApiGatewayLoggingAccount(Construct):
    def __init__(self, scope: Construct, id_: str, props: ApiGatewayLoggingAccountProps) -> None:
        super().__init__(scope, id_)
        push_to_cloudwatch = DataAwsIamPolicy(self, "push-to-cloudwatch", name=PUSH_TO_CLOUDWATCH_POLICY)
        self.role = ServiceRole(
            self,
            "role",
            ServiceRoleProps(
                name=props.role_name,
                service="apigateway.amazonaws.com",
                description="Lets API Gateway write stage logs to CloudWatch Logs (region-wide setting)",
                managed_policy_arns=[push_to_cloudwatch.arn],
            ),
        )
        self.account = ApiGatewayAccount(
            self,
            "account",
            cloudwatch_role_arn=self.role.role.arn,
            reset_on_delete=True,
            depends_on=self.role.attachments,
        )
