"""Synth-time guardrails: policy rules run as a cdktf Aspect, cdk-nag style.

`apply_guardrails(stack, region, required_tags)` adds an Aspect that, at synth, checks the
stack's resolved Terraform against `RULES`. Each finding is one line naming the rule, the
resource address and its construct path, and saying how to fix it, followed by the rule's
explanation:

    [GR1 no-inline-policies] aws_iam_role.fn_role_1A2B3C (stack/fn/role): sets inline_policy; ...
        why: Inline policies live inside one role, ...

Rules (`RULES` is the source, one record each with the explanation too; a docs generator
renders the full table from it, and a test keeps this one equal to it):

| id | name | severity |
|---|---|---|
| GR1 | no-inline-policies | error |
| GR2 | no-wildcard-actions | error |
| GR3 | private-encrypted-buckets | error |
| GR4 | environment-tag | error |
| GR5 | region | error |

Severity: an `error` finding fails synthesis; a `warning` finding is printed to stderr and
recorded as a cdktf warning annotation on the resource (`cdktf synth` shows it;
cdktf.out/manifest.json keeps it) and synthesis goes on. The five rules above are errors: each
enforces a requirement of the SPEC (docs/security.md lists them as controls) and the stack
passes all of them, so a finding can only be a regression. A warning is for advice that is
sometimes rightly ignored and is no requirement; no such rule exists yet.

GR2 reads the `policy` of every `*_policy` resource (`aws_iam_policy`, `aws_iam_role_policy`,
`aws_s3_bucket_policy`, ...) written as a `${data.aws_iam_policy_document.X.json}` reference
(its statements' `actions` and `not_actions`, and the documents named in
`source_policy_documents` and `override_policy_documents`), a literal JSON string, or a
`${jsonencode(...)}` of literal values. `aws_kms_key.policy` is no `*_policy` resource and is
not read: a key policy grants the account `kms:*` on the key itself by AWS's own default.

Acknowledging a finding (cdk-nag's suppression): when a rule's finding is accepted on purpose,
say so on the construct, with the reason a reviewer needs:

    from constructs_lib.guardrails import acknowledge

    acknowledge(exporter, "GR2", "The export role reads every object key, s3:GetObject* covers the versioned reads")

The acknowledgement silences that rule only, and only for the resources at or under the
construct's path; each finding it silences is listed, with the reason, in the resource's
`//` metadata in cdk.tf.json (`guardrails_acknowledged`). Synthesis fails on an
acknowledgement of an unknown rule, one whose reason is under 10 characters (blank included),
and one that silences nothing (it would hide nothing and mislead a reader into thinking it
does).
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jsii
from cdktf import Annotations, App, Aspects, IAspect, TerraformProvider, TerraformResource, TerraformStack
from constructs import IConstruct, IValidation

Severity = Literal["error", "warning"]

_PUBLIC_ACCESS_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
_DOCUMENT_REFERENCE = re.compile(r"\$\{data\.aws_iam_policy_document\.([^.}]+)\.(?:minified_)?json\}")
_JSONENCODE = re.compile(r"\$\{jsonencode\((.*)\)\}", re.DOTALL)
# IAM matches actions with both: `s3:Get?bject` is as much a wildcard as `s3:Get*`.
_WILDCARDS = ("*", "?")
_ACKNOWLEDGEMENT = "guardrails/acknowledgement"
_ACKNOWLEDGED_KEY = "guardrails_acknowledged"
MIN_REASON_LENGTH = 10


@dataclass(frozen=True)
class Violation:
    """What a rule's check reports: where (Terraform address, construct path) and what."""

    address: str
    path: str
    message: str


@dataclass(frozen=True)
class SynthesizedStack:
    """The stack's resolved Terraform, with the facts and lookups the checks need."""

    terraform: Mapping[str, Any]
    taggable: frozenset[str]  # addresses of resources whose type takes tags
    provider_paths: Mapping[str, str]  # "aws" or "aws.<alias>" -> construct path
    region: str
    required_tags: Mapping[str, str]

    def resources(self, resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, config in self.terraform.get("resource", {}).get(resource_type, {}).items():
            yield f"{resource_type}.{name}", config

    def all_resources(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for resource_type in self.terraform.get("resource", {}):
            yield from self.resources(resource_type)

    def data(self, data_type: str, name: str) -> dict[str, Any] | None:
        return self.terraform.get("data", {}).get(data_type, {}).get(name)

    def violation(self, address: str, config: Mapping[str, Any], message: str) -> Violation:
        return Violation(address, config.get("//", {}).get("metadata", {}).get("path", "?"), message)


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity
    explanation: str
    check: Callable[[SynthesizedStack], Iterable[Violation]]


@dataclass(frozen=True)
class Finding:
    rule: Rule
    violation: Violation

    @property
    def path(self) -> str:
        return self.violation.path

    def __str__(self) -> str:
        v = self.violation
        return f"[{self.rule.id} {self.rule.name}] {v.address} ({v.path}): {v.message}"


def _no_inline_policies(stack: SynthesizedStack) -> Iterator[Violation]:
    for address, config in stack.resources("aws_iam_role_policy"):
        yield stack.violation(address, config, "inline role policy; use an aws_iam_policy and an aws_iam_role_policy_attachment")
    for address, config in stack.resources("aws_iam_role"):
        for argument in ("inline_policy", "managed_policy_arns"):
            if argument in config:
                yield stack.violation(
                    address, config, f"sets {argument}; attach aws_iam_policy resources with aws_iam_role_policy_attachment instead"
                )


class _Unreadable(Exception):
    """A policy whose actions are only known to Terraform (or not at all)."""


@dataclass(frozen=True)
class _Expression:
    """A Terraform expression inside jsonencode(...), e.g. `var.actions`: Terraform alone knows its value."""

    text: str

    def __repr__(self) -> str:
        return self.text


_CLOSERS = {"{": "}", "[": "]", "(": ")"}
_IDENTIFIER = re.compile(r"[A-Za-z_][\w-]*")


class _HclValue:
    """Reads a jsonencode(...) argument as cdktf renders it (`{"Action" = ["s3:GetObject"], ...}`):
    objects, tuples and strings (interpolations kept verbatim); any other value (a reference, a
    function call, a number) becomes an `_Expression`, which no action name is. Raises ValueError
    on what it cannot read, which the caller reports as unreadable."""

    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def parse(self) -> Any:
        value = self._value()
        self._skip_space()
        if self.at != len(self.text):
            raise ValueError(f"unexpected {self.text[self.at :]!r}")
        return value

    def _peek(self) -> str:
        return self.text[self.at : self.at + 1]

    def _skip_space(self) -> None:
        while self._peek().isspace():
            self.at += 1

    def _value(self) -> Any:
        self._skip_space()
        head = self._peek()
        if head == "{":
            return dict(self._items("}", self._pair))
        if head == "[":
            return list(self._items("]", self._value))
        if head == '"':
            return self._string()
        start = self.at
        # A newline ends the item too: HCL separates an object's items by commas or newlines.
        while self._peek() not in ("", ",", "}", "]", "\n"):
            self._skip_token()
        text = self.text[start : self.at].strip()
        if not text:
            raise ValueError(f"missing value at {start}")
        return _Expression(text)

    def _items(self, closer: str, item: Callable[[], Any]) -> Iterator[Any]:
        self.at += 1
        while True:
            self._skip_space()
            if self._peek() == closer:
                self.at += 1
                return
            yield item()
            self._skip_space()
            if self._peek() == ",":
                self.at += 1

    def _pair(self) -> tuple[str, Any]:
        if self._peek() == '"':
            key = self._string()
        elif match := _IDENTIFIER.match(self.text, self.at):
            key, self.at = match.group(), match.end()
        else:
            raise ValueError(f"unreadable key at {self.at}")
        self._skip_space()
        if self._peek() not in ("=", ":"):
            raise ValueError(f"expected '=' after {key!r}")
        self.at += 1
        return key, self._value()

    def _string(self) -> str:
        self.at += 1
        out: list[str] = []
        while (ch := self._peek()) != '"':
            if not ch:
                raise ValueError("unterminated string")
            if ch == "\\":
                out.append(self.text[self.at + 1 : self.at + 2])
                self.at += 2
            elif self.text.startswith("${", self.at):
                start = self.at
                self.at += 1
                self._skip_token()
                out.append(self.text[start : self.at])
            else:
                out.append(ch)
                self.at += 1
        self.at += 1
        return "".join(out)

    def _skip_token(self) -> None:
        """Past one character, or one whole string or bracketed group (its commas are not ours)."""
        head = self._peek()
        if head == '"':
            self._string()
        elif head in _CLOSERS:
            self.at += 1
            while self._peek() != _CLOSERS[head]:
                if not self._peek():
                    raise ValueError(f"missing {_CLOSERS[head]!r}")
                self._skip_token()
            self.at += 1
        else:
            self.at += 1


@dataclass(frozen=True)
class _Statement:
    allows: bool
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]


def _names(value: Any, key: str) -> tuple[str, ...]:
    names = [] if value is None else [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and "${" not in n for n in names):
        raise _Unreadable(f"the value of {key} is only known to Terraform ({value})")
    return tuple(names)


def _statement_list(value: Any, where: str) -> list[dict[str, Any]]:
    statements = [value] if isinstance(value, dict) else value
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        raise _Unreadable(f"{where} is not a list of literal statements")
    return statements


def _json_statements(policy: Any) -> list[_Statement]:
    # Only "Deny" narrows: a missing or computed Effect is read as the wider Allow.
    statements = _statement_list(policy.get("Statement") if isinstance(policy, dict) else None, "its Statement")
    return [
        _Statement(s.get("Effect") != "Deny", _names(s.get("Action"), "Action"), _names(s.get("NotAction"), "NotAction"))
        for s in statements
    ]


def _document_statements(stack: SynthesizedStack, name: str) -> list[_Statement]:
    document = stack.data("aws_iam_policy_document", name)
    if document is None:
        raise _Unreadable(f"data.aws_iam_policy_document.{name} is not in this stack")
    if "dynamic" in document:
        raise _Unreadable(f"data.aws_iam_policy_document.{name} makes statements in a dynamic block")
    statements = [
        _Statement(s.get("effect") != "Deny", _names(s.get("actions"), "actions"), _names(s.get("not_actions"), "not_actions"))
        for s in _statement_list(document.get("statement", []), f"data.aws_iam_policy_document.{name}'s statement")
    ]
    # Every merged document's statements are checked, even ones an override replaces by Sid:
    # that can only add a finding, never hide one.
    for key in ("source_policy_documents", "override_policy_documents"):
        merged = document.get(key, [])
        if not isinstance(merged, list):
            raise _Unreadable(f"data.aws_iam_policy_document.{name}'s {key} are only known to Terraform")
        for policy in merged:
            statements += _policy_statements(stack, policy)
    return statements


def _policy_statements(stack: SynthesizedStack, policy: Any) -> list[_Statement]:
    if not isinstance(policy, str):
        raise _Unreadable(f"it is not a string ({policy!r})")
    if match := _DOCUMENT_REFERENCE.fullmatch(policy):
        return _document_statements(stack, match.group(1))
    if match := _JSONENCODE.fullmatch(policy):
        try:
            return _json_statements(_HclValue(match.group(1)).parse())
        except ValueError as error:
            raise _Unreadable(f"its jsonencode(...) argument is unreadable ({error})") from error
    try:
        return _json_statements(json.loads(policy))
    except ValueError as error:
        raise _Unreadable(f"it is neither JSON, a jsonencode(...) nor a policy document reference ({policy[:80]})") from error


def _no_wildcard_actions(stack: SynthesizedStack) -> Iterator[Violation]:
    for resource_type in stack.terraform.get("resource", {}):
        if not resource_type.endswith("_policy"):
            continue
        for address, config in stack.resources(resource_type):
            if "policy" not in config:
                continue
            try:
                statements = _policy_statements(stack, config["policy"])
            except _Unreadable as unreadable:
                yield stack.violation(
                    address,
                    config,
                    f"cannot prove no wildcard action: {unreadable}; render it with constructs_lib.iam.policy_document",
                )
                continue
            for statement in (s for s in statements if s.allows):
                if statement.not_actions:
                    yield stack.violation(
                        address,
                        config,
                        f"allows every action but {', '.join(statement.not_actions)} (NotAction); name the actions the workload calls",
                    )
                wild = [a for a in statement.actions if any(w in a for w in _WILDCARDS)]
                if wild:
                    yield stack.violation(
                        address, config, f"allows wildcard action(s) {', '.join(wild)}; name the actions the workload calls"
                    )


def _private_encrypted_buckets(stack: SynthesizedStack) -> Iterator[Violation]:
    def targets(resource_type: str, complete=lambda config: True) -> set[str]:
        return {config.get("bucket") for _, config in stack.resources(resource_type) if complete(config)}

    blocked = targets("aws_s3_bucket_public_access_block", lambda c: all(c.get(flag) is True for flag in _PUBLIC_ACCESS_FLAGS))
    encrypted = targets("aws_s3_bucket_server_side_encryption_configuration")
    for address, config in stack.resources("aws_s3_bucket"):
        references = {f"${{{address}.id}}", f"${{{address}.bucket}}"}
        if not references & blocked:
            yield stack.violation(address, config, "no aws_s3_bucket_public_access_block with all four flags true")
        if not references & encrypted:
            yield stack.violation(address, config, "no aws_s3_bucket_server_side_encryption_configuration")


def _environment_tag(stack: SynthesizedStack) -> Iterator[Violation]:
    tagged_providers = set()
    for provider in stack.terraform.get("provider", {}).get("aws", []):
        tags = (provider.get("default_tags") or [{}])[0].get("tags", {})
        if all(tags.get(k) == v for k, v in stack.required_tags.items()):
            tagged_providers.add(f"aws.{provider['alias']}" if "alias" in provider else "aws")
    for address, config in stack.all_resources():
        if address not in stack.taggable or config.get("provider", "aws") in tagged_providers:
            continue
        own = config.get("tags") or {}
        missing = {k: v for k, v in stack.required_tags.items() if own.get(k) != v}
        if missing:
            tags = ", ".join(f"{k}={v}" for k, v in missing.items())
            yield stack.violation(address, config, f"its provider's default tags don't reach it and it lacks {tags}")


def _region(stack: SynthesizedStack) -> Iterator[Violation]:
    for provider in stack.terraform.get("provider", {}).get("aws", []):
        if provider.get("region") != stack.region:
            key = f"aws.{provider['alias']}" if "alias" in provider else "aws"
            yield Violation(
                f"provider.aws.{provider.get('alias', 'default')}",
                stack.provider_paths.get(key, "?"),
                f"region {provider.get('region')!r}; everything runs in {stack.region}",
            )


RULES: tuple[Rule, ...] = (
    Rule(
        "GR1",
        "no-inline-policies",
        "error",
        "Inline policies live inside one role, where policy review and reuse cannot see them; every permission is a named "
        "aws_iam_policy joined to its role by an aws_iam_role_policy_attachment.",
        _no_inline_policies,
    ),
    Rule(
        "GR2",
        "no-wildcard-actions",
        "error",
        "A wildcard action (or an Allow with NotAction) grants every matching action, including ones AWS adds later, so the "
        "grant is wider than what the workload calls; a policy whose actions cannot be read is refused too, since nothing "
        "proves it narrow.",
        _no_wildcard_actions,
    ),
    Rule(
        "GR3",
        "private-encrypted-buckets",
        "error",
        "A bucket without all four public access block flags can be made public by a later policy or ACL, and one without "
        "default encryption stores objects unencrypted at rest.",
        _private_encrypted_buckets,
    ),
    Rule(
        "GR4",
        "environment-tag",
        "error",
        "Cost reports and tag-based access find this stack's resources by the required tags; a resource without them falls outside both.",
        _environment_tag,
    ),
    Rule(
        "GR5",
        "region",
        "error",
        "The service is specified for one region; a provider anywhere else creates resources that the stack's region-scoped "
        "alarms, plans and reviews never look at.",
        _region,
    ),
)


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Accept `rule_id`'s findings on the resources at or under `construct`, for `reason`.

    Recorded as construct metadata and checked at synth (see the module docstring). Not on a
    stack or an app: that would silence the rule everywhere, the opposite of an acknowledgement."""
    if isinstance(construct, (TerraformStack, App)):
        raise ValueError(f"acknowledge {rule_id} on the construct that owns the finding, not on the whole {construct.node.path or 'app'}")
    construct.node.add_metadata(_ACKNOWLEDGEMENT, {"rule": rule_id, "reason": reason})


@dataclass(frozen=True)
class _Acknowledgement:
    path: str
    rule_id: str
    reason: str

    def problem(self, known: Sequence[str]) -> str | None:
        if self.rule_id not in known:
            return f"guardrail acknowledgement on {self.path}: {self.rule_id!r} is no rule (rules: {', '.join(known)})"
        if len(self.reason.strip()) < MIN_REASON_LENGTH:
            return (
                f"guardrail acknowledgement of {self.rule_id} on {self.path} needs a reason of at least "
                f"{MIN_REASON_LENGTH} characters saying why the finding is acceptable, got {self.reason!r}"
            )
        return None

    def covers(self, finding: Finding) -> bool:
        return finding.rule.id == self.rule_id and (finding.path == self.path or finding.path.startswith(f"{self.path}/"))


@jsii.implements(IValidation)
class _Checks:
    def __init__(self, stack: TerraformStack, region: str, required_tags: Mapping[str, str], rules: Sequence[Rule]) -> None:
        self.stack, self.region, self.required_tags, self.rules = stack, region, required_tags, rules

    def validate(self) -> list[str]:
        nodes = self.stack.node.find_all()
        synthesized = SynthesizedStack(
            terraform=self.stack.to_terraform(),
            taggable=frozenset(
                f"{node.terraform_resource_type}.{node.friendly_unique_id}"
                for node in nodes
                if isinstance(node, TerraformResource) and hasattr(type(node), "tags_all")
            ),
            provider_paths={
                f"aws.{node.alias}" if node.alias else "aws": node.node.path
                for node in nodes
                if isinstance(node, TerraformProvider) and node.terraform_resource_type == "aws"
            },
            region=self.region,
            required_tags=self.required_tags,
        )
        findings = [Finding(rule, violation) for rule in self.rules for violation in rule.check(synthesized)]

        known = [rule.id for rule in self.rules]
        acknowledgements = [
            _Acknowledgement(node.node.path, entry.data["rule"], entry.data["reason"])
            for node in nodes
            for entry in node.node.metadata
            if entry.type == _ACKNOWLEDGEMENT
        ]
        errors = [problem for a in acknowledgements if (problem := a.problem(known))]
        valid = [a for a in acknowledgements if not a.problem(known)]

        by_path = {node.node.path: node for node in nodes}
        used: set[_Acknowledgement] = set()
        acknowledged: dict[str, list[dict[str, str]]] = defaultdict(list)
        for finding in findings:
            covering = [a for a in valid if a.covers(finding)]
            used.update(covering)
            report = f"guardrail {finding}\n    why: {finding.rule.explanation}"
            if covering:
                acknowledged[finding.path] += [
                    {
                        "rule": f"{finding.rule.id} {finding.rule.name}",
                        "finding": finding.violation.message,
                        "reason": a.reason,
                        "acknowledged_at": a.path,
                    }
                    for a in covering
                ]
            elif finding.rule.severity == "error":
                errors.append(report)
            else:
                # Also printed: `python main.py` (make synth) never shows annotations.
                Annotations.of(by_path.get(finding.path, self.stack)).add_warning(report)
                print(f"warning: {report}", file=sys.stderr)
        errors += [
            f"guardrail acknowledgement of {a.rule_id} on {a.path} silences no finding; remove it "
            "(an unused acknowledgement hides nothing and misleads its reader)"
            for a in valid
            if a not in used
        ]
        for path, entries in acknowledged.items():
            by_path[path].add_override(f"//.{_ACKNOWLEDGED_KEY}", entries)
        return errors


@jsii.implements(IAspect)
class Guardrails:
    """Visits the stack once and registers the checks; they run when synthesis validates."""

    def __init__(self, region: str, required_tags: Mapping[str, str], rules: Sequence[Rule] = RULES) -> None:
        self.region, self.required_tags, self.rules = region, dict(required_tags), tuple(rules)

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, TerraformStack):
            node.node.add_validation(_Checks(node, self.region, self.required_tags, self.rules))


def apply_guardrails(stack: TerraformStack, region: str, required_tags: Mapping[str, str], rules: Sequence[Rule] = RULES) -> None:
    """Check `stack` against `rules` at synth (`RULES` unless a test brings its own)."""
    Aspects.of(stack).add(Guardrails(region, required_tags, rules))
