"""The generated parts of the docs, rendered from the code (terraform-docs style).

    python -m dev_tools.docs                 rewrite every generated block in README.md and docs/ (`make docs`)
    python -m dev_tools.docs --check         exit 1 and list the stale files and blocks; write nothing
    python -m dev_tools.docs --stack-dir D   use an existing synth (D holds cdk.tf.json) instead of synthesizing

A generated block is the Markdown between two hand-placed markers:

    <!-- BEGIN GENERATED: settings -->
    ... rewritten by this tool: edit the source it names, not this ...
    <!-- END GENERATED: settings -->

Each block name has one renderer (`renderers()`) and one source of truth:

| block | rendered from |
|---|---|
| `architecture` | the synthesized stack: resources grouped by construct, with their references (Mermaid) |
| `inputs` | the synthesized stack's `variable` blocks (type, default, description, validation messages) |
| `outputs` | the synthesized stack's `output` blocks |
| `settings` | `stacks.settings.SETTINGS` |
| `checkov-skips` | `.checkov.yaml` (which checks) and `docs/checkov-skips.yaml` (why) |
| `guardrails` | `constructs_lib.guardrails.RULES` (id, name, severity, explanation) |

The synthesized stack comes from `python main.py` with the local backend, no AWS credentials
and every synth-time setting at its default, so the docs describe the default synth.
`tests/test_docs.py` renders the same blocks from the test session's synth and fails when a
committed block differs: change a default, run `make docs`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dev_tools import app
from stacks.facts import PROJECT_ROOT, STACK_NAME

CHECKOV_CONFIG = PROJECT_ROOT / ".checkov.yaml"
CHECKOV_REASONS = PROJECT_ROOT / "docs" / "checkov-skips.yaml"

BLOCK = re.compile(
    r"(?P<begin><!-- BEGIN GENERATED: (?P<name>[a-z][a-z0-9-]*) -->\n)(?P<body>.*?)(?P<end><!-- END GENERATED: (?P=name) -->)",
    flags=re.DOTALL,
)
_MARKER = re.compile(r"<!-- (?:BEGIN|END) GENERATED: ([^ ]*) -->")


class DocsError(Exception):
    """The docs or their sources are inconsistent in a way rendering cannot fix."""


def doc_files(root: Path = PROJECT_ROOT) -> list[Path]:
    """Every Markdown file that may hold generated blocks: the README and everything under docs/."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


# ---- Markdown helpers --------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """A Markdown table cell: one line, pipes escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _code(value: Any) -> str:
    text = str(value)
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _note(source: str) -> str:
    return f"<!-- Rendered from {source} by `make docs` (python -m dev_tools.docs): edit the source, not this block. -->"


# ---- settings ----------------------------------------------------------------------------------


def render_settings() -> str:
    """The synth-time settings table, from `stacks.settings.SETTINGS`."""
    from stacks.settings import SETTINGS

    rows = [
        (
            setting.description,
            _code(setting.env),
            _code(setting.context) if setting.context else "— (environment only)",
            _code(setting.default) if setting.default != "" else "unset",
        )
        for setting in SETTINGS
    ]
    return "\n".join([_note("`stacks/settings.py` (`SETTINGS`)"), _table(["setting", "environment", "context key", "default"], rows)])


# ---- inputs and outputs ------------------------------------------------------------------------


def render_inputs(stack: Mapping[str, Any]) -> str:
    """The Terraform variables: type, default, description and the validations' messages."""
    rows = []
    for name, variable in sorted(stack.get("variable", {}).items()):
        if "default" not in variable:
            default = "— (required)"
        else:
            # A null default: unset, the variable's description says what stands in for it.
            default = "unset" if variable["default"] is None else _code(json.dumps(variable["default"]))
        messages = [v["error_message"] for v in variable.get("validation", [])]
        rows.append(
            (
                _code(name),
                _code(variable.get("type", "any")),
                default,
                variable.get("description", ""),
                "<br>".join(_cell(m) for m in messages) or "—",
            )
        )
    return "\n".join(
        [
            _note("the synthesized stack's `variable` blocks"),
            _table(["input", "type", "default", "description", "refused at plan with"], rows),
        ]
    )


def render_outputs(stack: Mapping[str, Any]) -> str:
    """The Terraform outputs: description, and whether Terraform hides the value."""
    rows = [
        (_code(name), output.get("description", ""), "yes: `terraform output -raw " + name + "`" if output.get("sensitive") else "no")
        for name, output in sorted(stack.get("output", {}).items())
    ]
    return "\n".join([_note("the synthesized stack's `output` blocks"), _table(["output", "description", "sensitive"], rows)])


# ---- checkov skips -----------------------------------------------------------------------------


def checkov_skips(config: Path = CHECKOV_CONFIG, reasons: Path = CHECKOV_REASONS) -> list[tuple[str, str, str]]:
    """(check, what it wants, why it is skipped) in .checkov.yaml's order.

    .checkov.yaml says which checks are skipped; docs/checkov-skips.yaml says why. A check
    skipped without a reason, or explained but not skipped, is an error.
    """
    skipped = yaml.safe_load(config.read_text())["skip-check"]
    explained = yaml.safe_load(reasons.read_text()) or {}
    duplicates = sorted({c for c in skipped if skipped.count(c) > 1})
    unexplained = [c for c in skipped if c not in explained]
    not_skipped = sorted(set(explained) - set(skipped))
    problems = []
    if duplicates:
        problems.append(f"skipped twice in {config.name}: {', '.join(duplicates)}")
    if unexplained:
        problems.append(f"skipped in {config.name} without a reason in {reasons.name}: {', '.join(unexplained)}")
    if not_skipped:
        problems.append(f"explained in {reasons.name} but not skipped in {config.name}: {', '.join(not_skipped)}")
    incomplete = sorted(c for c in skipped if c in explained and not {"wants", "reason"} <= set(explained[c] or {}))
    if incomplete:
        problems.append(f"{reasons.name} entries without `wants` and `reason`: {', '.join(incomplete)}")
    if problems:
        raise DocsError("; ".join(problems))
    return [(check, explained[check]["wants"], explained[check]["reason"]) for check in skipped]


def render_checkov_skips() -> str:
    rows = [(_code(check), wants, reason) for check, wants, reason in checkov_skips()]
    return "\n".join(
        [
            _note("`.checkov.yaml` (the checks) and `docs/checkov-skips.yaml` (the reasons)"),
            _table(["check", "what it wants", "why it is skipped"], rows),
        ]
    )


# ---- guardrails --------------------------------------------------------------------------------


def guardrail_rules() -> Any:
    """`constructs_lib.guardrails.RULES`, or None while the guardrails do not expose it."""
    from constructs_lib import guardrails

    return getattr(guardrails, "RULES", None)


def render_guardrails() -> str:
    """The guardrail rules: id, name, severity and explanation, from the rule records."""
    rules = guardrail_rules()
    if rules is None:
        raise DocsError("constructs_lib.guardrails has no RULES to render the guardrails table from")
    rules = rules.values() if isinstance(rules, Mapping) else rules
    rows = [(_code(rule.id), _code(rule.name), rule.severity, rule.explanation) for rule in rules]
    return "\n".join([_note("`constructs_lib/guardrails.py` (`RULES`)"), _table(["rule", "name", "severity", "explanation"], rows)])


# ---- plan rules --------------------------------------------------------------------------------


def render_plan_rules() -> str:
    """The plan review's rules: id, kind, title and explanation, from the rule records."""
    from review.plan_risks import RULES

    rows = [(_code(r.id), r.kind, r.title, r.explanation) for r in RULES]
    return "\n".join(
        [_note("`review/plan_rules/` (collected in `review/plan_risks.py`, `RULES`)"), _table(["rule", "kind", "flags", "why"], rows)]
    )


# ---- layout ------------------------------------------------------------------------------------


def render_layout() -> str:
    """The top-level folders, lowest first: what each holds and what it may import."""
    from stacks.facts import FOLDERS

    rows = [(_code(f"{folder.name}/"), folder.holds, ", ".join(_code(name) for name in folder.imports) or "—") for folder in FOLDERS]
    return "\n".join([_note("`stacks/facts.py` (`FOLDERS`)"), _table(["folder", "what it holds", "imports from"], rows)])


# ---- architecture diagram ----------------------------------------------------------------------

# An address in an expression: `aws_x.name` or `data.aws_x.name` (cdktf names may hold hyphens).
_ADDRESS = re.compile(r"(?<![\w.-])((?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z_][\w-]*)")


@dataclass
class _Block:
    address: str  # type.name, or data.type.name
    type: str
    path: str  # construct path below the stack, e.g. "data/bucket"
    references: set[str] = field(default_factory=set)
    depends_on: set[str] = field(default_factory=set)

    @property
    def construct(self) -> str | None:
        """The top-level construct (the path's first segment), None for the stack's own."""
        return self.path.split("/", 1)[0] if "/" in self.path else None

    @property
    def local(self) -> str:
        return self.path.split("/", 1)[1] if "/" in self.path else self.path


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _blocks(stack: Mapping[str, Any]) -> dict[str, _Block]:
    blocks: dict[str, _Block] = {}
    for kind, prefix in (("resource", ""), ("data", "data.")):
        for resource_type, named in stack.get(kind, {}).items():
            for name, config in named.items():
                path = config.get("//", {}).get("metadata", {}).get("path", f"{STACK_NAME}/{name}")
                address = f"{prefix}{resource_type}.{name}"
                blocks[address] = _Block(address, resource_type, path.split("/", 1)[1] if "/" in path else path)
    for kind, prefix in (("resource", ""), ("data", "data.")):
        for resource_type, named in stack.get(kind, {}).items():
            for name, config in named.items():
                block = blocks[f"{prefix}{resource_type}.{name}"]
                body = {k: v for k, v in config.items() if k not in ("//", "depends_on")}
                for text in _strings(body):
                    if "${" in text:
                        block.references |= {a for a in _ADDRESS.findall(text) if a in blocks}
                block.depends_on |= {a for a in config.get("depends_on", []) if a in blocks}
                block.references.discard(block.address)
    return blocks


def _resolve(blocks: Mapping[str, _Block], address: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """The resources an address stands for: a resource itself; a data source, the resources it
    references (so a policy document's references become its consumer's)."""
    if not address.startswith("data."):
        return {address}
    if address in seen:
        return set()
    return {r for a in sorted(blocks[address].references) for r in _resolve(blocks, a, seen | {address})}


def _reachable(edges: set[tuple[str, str]], source: str, target: str) -> bool:
    seen, frontier = {source}, [source]
    while frontier:
        node = frontier.pop()
        for s, t in edges:
            if s == node and t not in seen:
                if t == target:
                    return True
                seen.add(t)
                frontier.append(t)
    return False


def _node_id(path: str) -> str:
    return "r_" + re.sub(r"[^A-Za-z0-9_]", "_", path.replace("/", "__"))


def _label(*lines: str) -> str:
    return '["' + "<br/>".join(line.replace('"', "#quot;") for line in lines) + '"]'


Edges = dict[tuple[str, str], str]  # (from, to) -> "ref" or "depends"


def _edges(blocks: Mapping[str, _Block], resources: Mapping[str, _Block]) -> Edges:
    """Resource-to-resource arrows; a reference wins over a depends_on between the same pair."""
    edges: Edges = {}
    for kind, attribute in (("ref", "references"), ("depends", "depends_on")):
        for address, block in resources.items():
            for target in sorted(t for a in getattr(block, attribute) for t in _resolve(blocks, a)):
                if target != address:
                    edges.setdefault((address, target), kind)
    return edges


def _satellites(resources: Mapping[str, _Block], edges: Edges) -> dict[str, str]:
    """Satellite -> the resource it configures. A satellite is referenced by nothing and waited
    for by no other construct, and references exactly one resource of its own construct (a
    depends_on for ordering inside the construct does not count)."""
    construct_of = {a: b.construct for a, b in resources.items()}
    pointed_at = {t for (s, t), kind in edges.items() if kind == "ref" or construct_of[s] != construct_of[t]}
    host: dict[str, str] = {}
    for address, block in sorted(resources.items()):
        if address in pointed_at or block.construct is None:
            continue
        own = {t for (s, t), kind in edges.items() if s == address and kind == "ref" and construct_of[t] == block.construct}
        if len(own) == 1:
            host[address] = own.pop()
    return host


def _collapse(edges: Edges, node_of: Mapping[str, str]) -> Edges:
    """The arrows between the nodes the resources are drawn in; no arrow from a node to itself."""
    collapsed: Edges = {}
    for (source, target), kind in sorted(edges.items()):
        pair = (node_of.get(source, source), node_of.get(target, target))
        if pair[0] != pair[1] and collapsed.get(pair) != "ref":
            collapsed[pair] = kind
    return collapsed


def _twins(resources: Mapping[str, _Block], nodes: Iterable[str], edges: Edges, folded: Mapping[str, list[str]]) -> dict[str, str]:
    """Node -> the first of its twins: same construct, type, arrows in and out, and folded resources."""
    groups: dict[tuple, list[str]] = defaultdict(list)
    for node in sorted(nodes):
        outgoing = frozenset((t, k) for (s, t), k in edges.items() if s == node)
        incoming = frozenset((s, k) for (s, t), k in edges.items() if t == node)
        block = resources[node]
        groups[(block.construct or "", block.type, outgoing, incoming, tuple(sorted(folded.get(node, []))))].append(node)
    return {node: members[0] for members in groups.values() for node in members}


def _reduce_inside_constructs(edges: Edges, construct_of: Mapping[str, str | None]) -> Edges:
    """Inside a construct, an arrow that a longer path of arrows inside it implies is left out (a
    transitive reduction, in sorted order); arrows between constructs are all kept."""
    kept = dict(edges)
    for pair in sorted(edges):
        source, target = pair
        construct = construct_of[source]
        if construct is None or construct_of[target] != construct:
            continue
        inside = {(s, t) for (s, t) in kept if (s, t) != pair and construct_of[s] == construct == construct_of[t]}
        if _reachable(inside, source, target):
            del kept[pair]
    return kept


def render_architecture(stack: Mapping[str, Any]) -> str:
    """A Mermaid flowchart of the stack's resources, grouped by top-level construct.

    An arrow runs from a resource to one it references (`${type.name.attr}`); a dotted arrow is
    an explicit `depends_on` without a reference. Data sources are not drawn: what a policy
    document references is drawn from the resource using the document; account, partition and
    managed-policy lookups, variables and providers are left out. To keep the picture readable,
    a resource that only configures one resource of its construct (a bucket's versioning, a
    key's alias, a topic's subscription: see `_satellites`) is drawn inside that resource's
    node, resources of one type and construct with the same arrows share a node, and inside a
    construct an arrow implied by a longer path is left out. Sorted throughout, so the same
    stack renders the same text.
    """
    blocks = _blocks(stack)
    resources = {a: b for a, b in blocks.items() if not a.startswith("data.")}
    construct_of = {a: b.construct for a, b in resources.items()}
    edges = _edges(blocks, resources)

    host = _satellites(resources, edges)
    folded: dict[str, list[str]] = defaultdict(list)
    for satellite, anchor in host.items():
        folded[anchor].append(resources[satellite].local)
    node_edges = _collapse(edges, host)

    twin_of = _twins(resources, {host.get(a, a) for a in resources}, node_edges, folded)
    members: dict[str, list[str]] = defaultdict(list)
    for node, first in twin_of.items():
        members[first].append(node)
    drawn = _reduce_inside_constructs(_collapse(node_edges, twin_of), construct_of)
    return "\n".join([_note("the synthesized stack (`cdk.tf.json`)"), *_mermaid(resources, members, folded, drawn)])


# ---- service diagram ---------------------------------------------------------------------------

# The README's picture: a node per AWS service, holding the stack's top-level constructs of that
# service; an arrow per thing that flows, drawn only while the synthesized stack holds a reference
# between the two nodes' constructs (either way round), so the picture cannot outlive the stack.
SERVICE_NODES = (
    ("api", "API Gateway + WAF", ("api", "api-waf", "api-logging")),
    ("function", "Lambda", ("processor",)),
    ("table", "DynamoDB", ("items",)),
    ("bucket", "S3: results, access logs", ("data", "logs")),
    ("cdn", "CloudFront + WAF", ("cdn", "cdn-waf")),
    ("alarms", "CloudWatch alarms, dashboard", ("alarms", "dashboard")),
    ("topic", "SNS topic", ("alerts",)),
    ("key", "KMS key", ("key",)),
)
OUTSIDE = {"client": "Client", "email": "Operators' email"}
NOT_A_SERVICE = {"deployment": "the deployment guard's record"}
# (from, to, label, style): "-->" flows, "-.->" watches; arrows from outside are not checked.
SERVICE_ARROWS = (
    ("client", "api", "POST /process with the API key", "-->"),
    ("api", "function", "proxy integration", "-->"),
    ("function", "table", "GetItem", "-->"),
    ("function", "bucket", "PutObject", "-->"),
    ("client", "cdn", "GET the result, HTTPS", "-->"),
    ("cdn", "bucket", "origin access control", "-->"),
    ("alarms", "cdn", "dashboard", "-.->"),
    ("alarms", "api", "5XX", "-.->"),
    ("alarms", "function", "errors, throttles", "-.->"),
    ("alarms", "table", "read throttles", "-.->"),
    ("alarms", "topic", "alarm", "-->"),
    ("topic", "email", "notify", "-->"),
    ("key", "topic", "encrypts", "-.->"),
    ("key", "function", "encrypts environment, logs", "-.->"),
)


def render_services(stack: Mapping[str, Any]) -> str:
    """The service-level Mermaid flowchart, each arrow checked against the synthesized references."""
    blocks = _blocks(stack)
    resources = {a: b for a, b in blocks.items() if not a.startswith("data.")}
    node_of = {construct: node for node, _, constructs in SERVICE_NODES for construct in constructs}
    unplaced = sorted({b.construct for b in resources.values() if b.construct} - set(node_of) - set(NOT_A_SERVICE))
    if unplaced:
        raise DocsError(f"place the constructs {unplaced} in a node of SERVICE_NODES (dev_tools/docs.py) or in NOT_A_SERVICE")
    linked = {
        frozenset((node_of.get(resources[s].construct or ""), node_of.get(resources[t].construct or "")))
        for s, t in _edges(blocks, resources)
    }
    lines = [_note("the synthesized stack (`cdk.tf.json`) and `SERVICE_NODES` in `dev_tools/docs.py`"), "```mermaid", "flowchart LR"]
    lines += [f"  {node}([{label}])" for node, label in OUTSIDE.items()]
    lines += [f'  {node}["{label}"]' for node, label, _ in SERVICE_NODES]
    for source, target, label, style in SERVICE_ARROWS:
        if source not in OUTSIDE and target not in OUTSIDE and frozenset((source, target)) not in linked:
            raise DocsError(f"the service diagram's arrow {source} -> {target} ({label}) has no reference behind it in the stack")
        lines.append(f'  {source} {style}|"{label}"| {target}')
    return "\n".join([*lines, "```"])


# ---- alarms and the function's permissions -------------------------------------------------------

_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")


def _readable(stack: Mapping[str, Any], value: Any) -> str:
    """A synthesized value as a reader takes it: the prefix variable as `<prefix>`, a reference as
    the construct path of what it names and the attribute (`items/table name`)."""
    blocks = _blocks(stack)

    def one(match: re.Match) -> str:
        expression = match.group(1)
        if expression == "var.ResourcePrefix":
            return "<prefix>"
        address, _, attribute = expression.rpartition(".")
        block = blocks.get(address)
        return f"{block.path} {attribute}" if block else match.group(0)

    if isinstance(value, list):
        return ", ".join(_readable(stack, v) for v in value)
    return _INTERPOLATION.sub(one, str(value))


COMPARISONS = {
    "GreaterThanOrEqualToThreshold": "≥",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "≤",
}


def _expression(value: str) -> str:
    """A computed threshold as a reader takes it: `${(var.DynamoDbReadCapacity * 240)}` reads
    `DynamoDbReadCapacity × 240`."""
    inner = value.removeprefix("${").removesuffix("}").strip("()")
    return inner.replace("var.", "").replace(" * ", " × ")


def render_alarms(stack: Mapping[str, Any]) -> str:
    """Every alarm of the synthesized stack: what it watches, when it fires, and why."""
    rows = []
    for alarm in sorted(stack.get("resource", {}).get("aws_cloudwatch_metric_alarm", {}).values(), key=lambda a: a["alarm_name"]):
        dimensions = ", ".join(f"{k}: {_readable(stack, v)}" for k, v in sorted((alarm.get("dimensions") or {}).items()))
        metric = f"{_readable(stack, alarm['namespace'])} `{alarm['metric_name']}`" if alarm.get("metric_name") else "a metric query"
        watches = metric + (f" ({dimensions})" if dimensions else "")
        window = (alarm.get("period") or 60) * alarm.get("evaluation_periods", 1)
        threshold = alarm["threshold"]
        shown = f"{threshold:g}" if isinstance(threshold, (int, float)) else _expression(threshold)
        operator = COMPARISONS.get(alarm.get("comparison_operator", ""), alarm.get("comparison_operator", "?"))
        fires = f"{alarm.get('statistic') or alarm.get('extended_statistic') or 'a metric query'} {operator} {shown} in {window // 60} min"
        rows.append((_code(_readable(stack, alarm["alarm_name"])), watches, fires, alarm.get("alarm_description", "")))
    return "\n".join([_note("the synthesized stack (`cdk.tf.json`)"), _table(["alarm", "watches", "fires at", "why"], rows)])


def _referenced(value: Any, kind: str) -> str | None:
    """The name of the `kind` resource (or data source) an expression like `${kind.NAME.attr}` names."""
    match = re.fullmatch(rf"\$\{{{re.escape(kind)}\.([A-Za-z0-9_-]+)\.[a-z_]+\}}", value) if isinstance(value, str) else None
    return match.group(1) if match else None


def render_function_permissions(stack: Mapping[str, Any]) -> str:
    """What the function's role is allowed, as synthesized: the statements of every policy attached
    to it (a customer-managed policy by its document; an AWS-managed one by its ARN)."""
    resources, data = stack.get("resource", {}), stack.get("data", {})
    function = next(
        f for f in resources.get("aws_lambda_function", {}).values() if f["//"]["metadata"]["path"] == f"{STACK_NAME}/processor/function"
    )
    role = _referenced(function["role"], "aws_iam_role")
    attached = [
        a["policy_arn"]
        for a in resources.get("aws_iam_role_policy_attachment", {}).values()
        if _referenced(a["role"], "aws_iam_role") == role
    ]
    rows = []
    for arn in attached:
        policy = resources.get("aws_iam_policy", {}).get(_referenced(arn, "aws_iam_policy") or "")
        document = (
            data.get("aws_iam_policy_document", {}).get(_referenced(policy["policy"], "data.aws_iam_policy_document") or "")
            if policy
            else None
        )
        if document is None:
            rows.append(("—", "Allow", f"all of the attached policy {_code(_readable(stack, arn))}", "—"))
            continue
        for statement in document.get("statement", []):
            actions = ", ".join(_code(a) for a in statement.get("actions", [])) or "every action but " + ", ".join(
                _code(a) for a in statement.get("not_actions", [])
            )
            on = _readable(stack, statement.get("resources") or statement.get("not_resources") or [])
            rows.append((_code(statement.get("sid", "")), statement.get("effect", "Allow"), actions, on))
    return "\n".join([_note("the synthesized stack (`cdk.tf.json`)"), _table(["statement", "effect", "actions", "on"], rows)])


def _mermaid(resources: Mapping[str, _Block], members: Mapping[str, list[str]], folded: Mapping[str, list[str]], drawn: Edges) -> list[str]:
    ids: dict[str, str] = {}
    for node in sorted(members, key=lambda a: resources[a].path):
        candidate = _node_id(resources[node].path)
        while candidate in ids.values():
            candidate += "_"
        ids[node] = candidate

    def node_line(node: str) -> str:
        lines = [", ".join(sorted(resources[m].local for m in members[node])), resources[node].type]
        if folded.get(node):
            lines.append("+ " + ", ".join(sorted(folded[node])))
        return f"{ids[node]}{_label(*lines)}"

    by_construct: dict[str, list[str]] = defaultdict(list)
    for node in members:
        by_construct[resources[node].construct or ""].append(node)
    out = ["```mermaid", "flowchart TB"]
    for construct in sorted(by_construct):
        nodes = sorted(by_construct[construct], key=lambda a: resources[a].path)
        if construct == "":
            out += [f"  {node_line(n)}" for n in nodes]
            continue
        out.append(f'  subgraph c_{re.sub(r"[^A-Za-z0-9_]", "_", construct)}["{construct}"]')
        out += [f"    {node_line(n)}" for n in nodes]
        out.append("  end")
    for (source, target), kind in sorted(drawn.items(), key=lambda e: (ids[e[0][0]], ids[e[0][1]])):
        out.append(f"  {ids[source]} {'-->' if kind == 'ref' else '-.->'} {ids[target]}")
    out.append("```")
    return out


# ---- blocks, files, check ----------------------------------------------------------------------


def renderers(stack: Mapping[str, Any]) -> dict[str, Callable[[], str]]:
    """Every block name this tool renders, with its renderer (the guardrails once RULES exists)."""
    blocks: dict[str, Callable[[], str]] = {
        "architecture": lambda: render_architecture(stack),
        "services": lambda: render_services(stack),
        "alarms": lambda: render_alarms(stack),
        "function-permissions": lambda: render_function_permissions(stack),
        "inputs": lambda: render_inputs(stack),
        "outputs": lambda: render_outputs(stack),
        "settings": render_settings,
        "checkov-skips": render_checkov_skips,
        "layout": render_layout,
        "plan-rules": render_plan_rules,
    }
    if guardrail_rules() is not None:
        blocks["guardrails"] = render_guardrails
    return blocks


def rewrite(text: str, rendered: Mapping[str, str], where: str = "") -> tuple[str, list[str]]:
    """`text` with every generated block replaced by its rendering, and the names of the blocks
    that changed. Unknown names and unpaired markers are errors."""
    names = [m.group("name") for m in BLOCK.finditer(text)]
    markers = _MARKER.findall(text)
    if len(markers) != 2 * len(names):
        raise DocsError(f"{where}: unpaired or malformed GENERATED markers")
    unknown = sorted(set(names) - set(rendered))
    if unknown:
        raise DocsError(f"{where}: no renderer for generated block(s) {', '.join(unknown)}")
    changed: list[str] = []

    def replace(match: re.Match[str]) -> str:
        body = rendered[match.group("name")].rstrip("\n") + "\n"
        if body != match.group("body"):
            changed.append(match.group("name"))
        return match.group("begin") + body + match.group("end")

    return BLOCK.sub(replace, text), changed


@dataclass(frozen=True)
class Stale:
    path: Path
    blocks: list[str]

    def __str__(self) -> str:
        try:
            shown = self.path.relative_to(PROJECT_ROOT)
        except ValueError:
            shown = self.path
        return f"{shown}: {', '.join(self.blocks)}"


def render_all(stack: Mapping[str, Any]) -> dict[str, str]:
    return {name: render() for name, render in renderers(stack).items()}


def check(stack: Mapping[str, Any], files: Iterable[Path] | None = None, write: bool = False) -> list[Stale]:
    """The files whose generated blocks differ from what the code renders (rewritten when
    `write`, and only when every file renders). Without `files`, README.md and docs/: there a
    renderer whose block appears in no file is an error, so deleting the markers cannot
    silently drop a table."""
    rendered = render_all(stack)
    paths = list(files) if files is not None else doc_files()
    stale: list[Stale] = []
    updates: dict[Path, str] = {}
    placed: set[str] = set()
    for path in paths:
        text = path.read_text()
        placed |= {m.group("name") for m in BLOCK.finditer(text)}
        new, changed = rewrite(text, rendered, str(path))
        if changed:
            stale.append(Stale(path, changed))
            updates[path] = new
    if files is None and (missing := sorted(set(rendered) - placed)):
        raise DocsError(f"generated block(s) placed in no doc: {', '.join(missing)}")
    if write:
        for path, text in updates.items():
            path.write_text(text)
    return stale


def synthesize(outdir: Path) -> dict[str, Any]:
    """The default synth (dev_tools.app: local backend, no AWS credentials, every setting at its
    default, so a shell's STATE_BUCKET or LAMBDA_RUNTIME cannot leak into the docs)."""
    return json.loads((app.synthesize(outdir, quiet=True) / "cdk.tf.json").read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev_tools.docs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a generated block is stale; write nothing")
    parser.add_argument("--stack-dir", type=Path, help="a synthesized stack folder holding cdk.tf.json (default: synthesize)")
    args = parser.parse_args(argv)
    try:
        if args.stack_dir:
            stack = json.loads((args.stack_dir / "cdk.tf.json").read_text())
        else:
            with tempfile.TemporaryDirectory(prefix="docs-synth-") as outdir:
                stack = synthesize(Path(outdir))
        stale = check(stack, write=not args.check)
    except DocsError as error:
        print(f"dev_tools.docs: {error}", file=sys.stderr)
        return 2
    if args.check:
        for entry in stale:
            print(f"stale: {entry}")
        print("run `make docs` to regenerate them" if stale else "docs up to date")
        return 1 if stale else 0
    for entry in stale:
        print(f"rewrote {entry}")
    if not stale:
        print("docs up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
