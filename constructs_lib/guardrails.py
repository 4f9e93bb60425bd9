"""Synth-time guardrails: policy rules run as a cdktf Aspect, cdk-nag style.

`apply_guardrails(stack, ...)` adds an Aspect that, at synth, checks the stack's resolved
Terraform against the rules below. Any finding fails the synthesis with one line per finding,
naming the rule, the resource address and its construct path, and saying how to fix it:

    [GR1 no-inline-policies] aws_iam_role.fn_role_1A2B3C (stack/fn/role): ...

| rule | what it refuses |
|---|---|
| GR1 no-inline-policies | `aws_iam_role_policy` resources; roles with `inline_policy` or `managed_policy_arns` |
| GR2 no-wildcard-actions | an Allow with a `*` in an action, in any `aws_iam_policy` |
| GR3 private-encrypted-buckets | an `aws_s3_bucket` without a full public access block or without default encryption |
| GR4 environment-tag | a taggable resource whose provider's default tags lack the required tag, unless it sets it |
| GR5 region | an `aws` provider outside the stack's region |
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import jsii
from cdktf import Aspects, IAspect, TerraformResource, TerraformStack
from constructs import IConstruct, IValidation

_DATA_DOCUMENT = re.compile(r"^\$\{data\.aws_iam_policy_document\.([^.}]+)\.json\}$")
_PUBLIC_ACCESS_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")


@dataclass(frozen=True)
class Finding:
    rule: str
    address: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.address} ({self.path}): {self.message}"


class _Document:
    """The stack's resolved Terraform, with the lookups the rules need."""

    def __init__(self, terraform: Mapping[str, Any], taggable: set[str]) -> None:
        self.terraform = terraform
        self.taggable = taggable

    def resources(self, resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, config in self.terraform.get("resource", {}).get(resource_type, {}).items():
            yield f"{resource_type}.{name}", config

    def all_resources(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for resource_type in self.terraform.get("resource", {}):
            yield from self.resources(resource_type)

    def data(self, data_type: str, name: str) -> dict[str, Any] | None:
        return self.terraform.get("data", {}).get(data_type, {}).get(name)

    def finding(self, rule: str, address: str, config: Mapping[str, Any], message: str) -> Finding:
        path = config.get("//", {}).get("metadata", {}).get("path", "?")
        return Finding(rule, address, path, message)


def _no_inline_policies(doc: _Document) -> Iterator[Finding]:
    rule = "GR1 no-inline-policies"
    for address, config in doc.resources("aws_iam_role_policy"):
        yield doc.finding(rule, address, config, "inline role policy; use an aws_iam_policy and an aws_iam_role_policy_attachment")
    for address, config in doc.resources("aws_iam_role"):
        for argument in ("inline_policy", "managed_policy_arns"):
            if argument in config:
                yield doc.finding(rule, address, config, f"sets {argument}; attach aws_iam_policy resources with aws_iam_role_policy_attachment instead")


def _policy_statements(doc: _Document, policy: Any) -> list[dict[str, Any]] | None:
    """Statements as (effect, actions) dicts, or None when the policy cannot be read."""
    if isinstance(policy, str) and (match := _DATA_DOCUMENT.match(policy)):
        document = doc.data("aws_iam_policy_document", match.group(1)) or {}
        return [{"effect": s.get("effect", "Allow"), "actions": s.get("actions", [])} for s in document.get("statement", [])]
    try:
        statements = json.loads(policy)["Statement"]
    except (TypeError, ValueError, KeyError):
        return None
    statements = statements if isinstance(statements, list) else [statements]
    return [
        {"effect": s.get("Effect", "Allow"), "actions": [s["Action"]] if isinstance(s.get("Action"), str) else s.get("Action", [])}
        for s in statements
    ]


def _no_wildcard_actions(doc: _Document) -> Iterator[Finding]:
    rule = "GR2 no-wildcard-actions"
    for address, config in doc.resources("aws_iam_policy"):
        statements = _policy_statements(doc, config.get("policy"))
        if statements is None:
            yield doc.finding(rule, address, config, "policy cannot be verified; render it with constructs_lib.iam.policy_document")
            continue
        for statement in statements:
            wild = [a for a in statement["actions"] if "*" in a]
            if statement["effect"] == "Allow" and wild:
                yield doc.finding(rule, address, config, f"allows wildcard action(s) {', '.join(wild)}; name the actions the workload calls")


def _private_encrypted_buckets(doc: _Document) -> Iterator[Finding]:
    rule = "GR3 private-encrypted-buckets"

    def targets(resource_type: str, complete=lambda config: True) -> set[str]:
        return {config.get("bucket") for _, config in doc.resources(resource_type) if complete(config)}

    blocked = targets("aws_s3_bucket_public_access_block", lambda c: all(c.get(flag) is True for flag in _PUBLIC_ACCESS_FLAGS))
    encrypted = targets("aws_s3_bucket_server_side_encryption_configuration")
    for address, config in doc.resources("aws_s3_bucket"):
        references = {f"${{{address}.id}}", f"${{{address}.bucket}}"}
        if not references & blocked:
            yield doc.finding(rule, address, config, "no aws_s3_bucket_public_access_block with all four flags true")
        if not references & encrypted:
            yield doc.finding(rule, address, config, "no aws_s3_bucket_server_side_encryption_configuration")


def _environment_tag(doc: _Document, required: Mapping[str, str]) -> Iterator[Finding]:
    rule = "GR4 environment-tag"
    tagged_providers = set()
    for provider in doc.terraform.get("provider", {}).get("aws", []):
        tags = (provider.get("default_tags") or [{}])[0].get("tags", {})
        if all(tags.get(k) == v for k, v in required.items()):
            tagged_providers.add(f"aws.{provider['alias']}" if "alias" in provider else "aws")
    for address, config in doc.all_resources():
        if address not in doc.taggable or config.get("provider", "aws") in tagged_providers:
            continue
        own = config.get("tags") or {}
        missing = {k: v for k, v in required.items() if own.get(k) != v}
        if missing:
            tags = ", ".join(f"{k}={v}" for k, v in missing.items())
            yield doc.finding(rule, address, config, f"its provider's default tags don't reach it and it lacks {tags}")


def _region(doc: _Document, region: str) -> Iterator[Finding]:
    rule = "GR5 region"
    for provider in doc.terraform.get("provider", {}).get("aws", []):
        if provider.get("region") != region:
            address = f"provider.aws.{provider.get('alias', 'default')}"
            yield Finding(rule, address, "provider", f"region {provider.get('region')!r}; everything runs in {region}")


@jsii.implements(IValidation)
class _Findings:
    def __init__(self, stack: TerraformStack, region: str, required_tags: Mapping[str, str]) -> None:
        self.stack, self.region, self.required_tags = stack, region, required_tags

    def validate(self) -> list[str]:
        taggable = {
            f"{node.terraform_resource_type}.{node.friendly_unique_id}"
            for node in self.stack.node.find_all()
            if isinstance(node, TerraformResource) and hasattr(type(node), "tags_all")
        }
        doc = _Document(self.stack.to_terraform(), taggable)
        findings = [
            *_no_inline_policies(doc),
            *_no_wildcard_actions(doc),
            *_private_encrypted_buckets(doc),
            *_environment_tag(doc, self.required_tags),
            *_region(doc, self.region),
        ]
        return [f"guardrail {finding}" for finding in findings]


@jsii.implements(IAspect)
class Guardrails:
    """Visits the stack once and registers the checks; they run when synthesis validates."""

    def __init__(self, region: str, required_tags: Mapping[str, str]) -> None:
        self.region, self.required_tags = region, dict(required_tags)

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, TerraformStack):
            node.node.add_validation(_Findings(node, self.region, self.required_tags))


def apply_guardrails(stack: TerraformStack, region: str, required_tags: Mapping[str, str]) -> None:
    Aspects.of(stack).add(Guardrails(region, required_tags))
