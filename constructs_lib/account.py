"""The account a stack deploys into, looked up once per stack and shared by every construct that
names it in a policy condition."""

from __future__ import annotations

from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from constructs import IConstruct

_ID = "account"


def caller_identity(scope: IConstruct) -> DataAwsCallerIdentity:
    """The stack's one `aws_caller_identity` data source (created on first use)."""
    stack = TerraformStack.of(scope)
    found = stack.node.try_find_child(_ID)
    return found if isinstance(found, DataAwsCallerIdentity) else DataAwsCallerIdentity(stack, _ID)
