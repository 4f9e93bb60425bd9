"""IAM roles whose permissions come only from managed policies attached by attachment resources.

SPEC: no inline policies anywhere. A `ServiceRole` therefore never sets `inline_policy` or
`managed_policy_arns`; each permission set is its own `aws_iam_policy` (or an AWS-managed
policy) joined to the role with `aws_iam_role_policy_attachment`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cdktf import Fn
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct


@dataclass(frozen=True)
class Condition:
    test: str
    variable: str
    values: Sequence[str]


@dataclass(frozen=True)
class Statement:
    """One policy statement. `principals` maps a principal type ("Service", "AWS", "*") to ids."""

    sid: str
    actions: Sequence[str]
    resources: Sequence[str] | None = None  # None only for trust and resource policies' subjects
    effect: str = "Allow"
    principals: dict[str, Sequence[str]] = field(default_factory=dict)
    conditions: Sequence[Condition] = ()

    def render(self) -> DataAwsIamPolicyDocumentStatement:
        return DataAwsIamPolicyDocumentStatement(
            sid=self.sid,
            effect=self.effect,
            actions=list(self.actions),
            resources=list(self.resources) if self.resources is not None else None,
            principals=[
                DataAwsIamPolicyDocumentStatementPrincipals(type=kind, identifiers=list(ids)) for kind, ids in self.principals.items()
            ]
            or None,
            condition=[
                DataAwsIamPolicyDocumentStatementCondition(test=c.test, variable=c.variable, values=list(c.values)) for c in self.conditions
            ]
            or None,
        )

    def as_json(self) -> dict:
        """The statement in IAM's JSON grammar (for policies written inline, e.g. key policies)."""
        rendered: dict = {"Sid": self.sid, "Effect": self.effect, "Action": list(self.actions)}
        if self.resources is not None:
            rendered["Resource"] = list(self.resources)
        if self.principals:
            rendered["Principal"] = "*" if "*" in self.principals else {k: list(v) for k, v in self.principals.items()}
        if self.conditions:
            rendered["Condition"] = {}
            for c in self.conditions:
                rendered["Condition"].setdefault(c.test, {})[c.variable] = list(c.values)
        return rendered


def policy_document(scope: Construct, id_: str, statements: Sequence[Statement]) -> DataAwsIamPolicyDocument:
    """A policy document rendered by the provider (valid JSON, stable ordering in plans)."""
    return DataAwsIamPolicyDocument(scope, id_, statement=[s.render() for s in statements])


def policy_json(statements: Sequence[Statement]) -> str:
    """The same statements as a JSON string, for resource policies that are never IAM policies
    (a KMS key policy's Resource "*" means "this key", which IAM-policy scanners misread)."""
    return Fn.jsonencode({"Version": "2012-10-17", "Statement": [s.as_json() for s in statements]})


@dataclass(frozen=True)
class ServiceRoleProps:
    name: str
    service: str  # e.g. "lambda.amazonaws.com"
    description: str
    # Customer-managed policies: policy name -> statements.
    policies: dict[str, Sequence[Statement]] = field(default_factory=dict)
    # AWS-managed policies by ARN (from a data source's `arn`, never typed by hand).
    managed_policy_arns: Sequence[str] = ()


class ServiceRole(Construct):
    """A role assumable by one AWS service, with attached (never inline) policies."""

    def __init__(self, scope: Construct, id_: str, props: ServiceRoleProps) -> None:
        super().__init__(scope, id_)
        trust = policy_document(
            self,
            "trust",
            [Statement(sid="TrustService", actions=["sts:AssumeRole"], principals={"Service": [props.service]})],
        )
        self.role = IamRole(
            self,
            "role",
            name=props.name,
            description=props.description,
            assume_role_policy=trust.json,
        )
        self.policies: dict[str, IamPolicy] = {}
        self.attachments: list[IamRolePolicyAttachment] = []
        for index, (policy_name, statements) in enumerate(props.policies.items()):
            document = policy_document(self, f"policy-document-{index}", statements)
            policy = IamPolicy(self, f"policy-{index}", name=policy_name, description=props.description, policy=document.json)
            self.attachments.append(IamRolePolicyAttachment(self, f"policy-attachment-{index}", role=self.role.name, policy_arn=policy.arn))
            self.policies[policy_name] = policy
        for index, arn in enumerate(props.managed_policy_arns):
            self.attachments.append(
                IamRolePolicyAttachment(self, f"managed-policy-attachment-{index}", role=self.role.name, policy_arn=arn)
            )
