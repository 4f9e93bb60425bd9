"""Review a Terraform plan for a pull-request comment: what changes, why it is risky, what drifted.

    terraform show -json plan.bin > plan.json
    python -m review.plan_review plan.json [--fail-on-risk] [--format markdown|json]

Reads `terraform show -json` alone. The Markdown comment puts the risks and the summary first
and the fixed monthly cost before and after (always visible), then what drifted outside
Terraform since the last apply, then each change
with its attributes as `before → after` in a collapsed block: nested blocks by path, JSON policy
documents by statement, sensitive values masked, unknown ones "(known after apply)";
replacements name the attributes that force them and Terraform's reason; moves, imports and
forgets are shown as such, not as delete + create. The comment stays under GitHub's 65,536
characters: details are truncated, with a note, before the risks or the summary would be, and
when even the risks do not fit, fewer are listed (the count of each kind stays).
With --fail-on-risk the exit code is 2 when any risk is flagged; with --fail-on-drift, 3 when
anything drifted (`--format drift` prints only that section, for the drift-detection workflow).

A plan Terraform could not complete never reads as "no changes": when the plan errored
(`errored`), is incomplete (`complete: false`: `-target`, or changes deferred), is marked not
applyable although it changes something, or is missing or unreadable (the plan command failed
before writing one), the review says so first, quotes Terraform's errors from `--log` (the plan
command's output), lists what was planned before it stopped as such, and exits 4.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from review import plan_cost
from review.plan_risks import risks_of
from review.plan_rules.base import KINDS, SENSITIVE, Risk, code
from review.plan_rules.policies import parse_policy, statement_list, statement_sid
from review.plan_rules.waf import readdressed
from runners.terraform_runner import error_blocks

GITHUB_COMMENT_LIMIT = 65_536
UNKNOWN = "(known after apply)"
# Attributes whose string value is a JSON policy document: diffed statement by statement.
POLICY_ATTRIBUTES = {"policy", "assume_role_policy"}
VALUE_WIDTH = 120
EMPTY = (None, {}, [])
# Replacements that no attribute forces.
REPLACE_REASONS = {
    "replace_by_request": "replaced because it was asked for (`-replace`)",
    "replace_because_tainted": "replaced because it is tainted (a failed or interrupted create)",
    "replace_by_triggers": "replaced because a `replace_triggered_by` reference changed",
}
# Risks listed in the headline before the rest is counted; fewer when the comment would not fit.
MAX_LISTED_RISKS = 200
CODE_SPAN = re.compile(r"(`[^`\n]*`)")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Terraform's errors quoted in a failed plan's review, at most.
MAX_ERROR_LINES = 60
# The exit code for a failed plan (a crash of this tool exits 1).
FAILED = 4
# Markdown that free text could start: links and images, emphasis, strikethrough, code.
MARKDOWN_PUNCTUATION = re.compile(r"([\\\[\]*_~`!])")


@dataclass(frozen=True)
class AttributeChange:
    path: str
    before: str
    after: str


@dataclass(frozen=True)
class ResourceChange:
    address: str
    type: str
    action: str  # create, update, replace, delete, move, import, forget, ...
    attributes: list[AttributeChange] = field(default_factory=list)
    note: str = ""  # why a replacement, where a move came from
    construct: str = ""  # the construct path, where the synthesized stack names it (cdktf's `//` metadata)


def action_of(change: Mapping[str, Any]) -> str:
    body = change["change"]
    actions = body["actions"]
    if change.get("deposed"):
        return "delete-deposed"
    if actions in (["delete", "create"], ["create", "delete"]):
        action = "replace"
    elif actions == ["no-op"] and change.get("previous_address"):
        return "move"
    elif actions == ["no-op"] and body.get("importing"):
        return "import"
    else:
        action = actions[0] if len(actions) == 1 else "+".join(actions)
    # An import or a move that also updates counts as both.
    if body.get("importing") and action == "update":
        return "import+update"
    if change.get("previous_address") and action == "update":
        return "move+update"
    return action


def _marked(marks: Any, path: Sequence[Any]) -> bool:
    """Whether a before/after_sensitive or after_unknown structure marks `path` (or a parent)."""
    for step in path:
        if marks is True:
            return True
        if isinstance(marks, dict):
            marks = marks.get(step)
        elif isinstance(marks, list) and isinstance(step, int) and step < len(marks):
            marks = marks[step]
        else:
            return False
    return marks is True


def _leaves(value: Any, path: tuple, *stops: Any) -> Iterator[tuple[tuple, Any]]:
    """Leaf paths and values; a path that any of `stops` (sensitivity marks) marks is one leaf,
    so the keys of a sensitive map are not shown either."""
    if any(_marked(marks, path) for marks in stops):
        yield path, value
    elif isinstance(value, dict) and value:
        for key in value:
            yield from _leaves(value[key], (*path, key), *stops)
    elif isinstance(value, list) and value:
        for index, element in enumerate(value):
            yield from _leaves(element, (*path, index), *stops)
    else:
        yield path, value


def _marked_paths(marks: Any, path: tuple) -> Iterator[tuple]:
    """The paths an after_unknown structure marks True (Terraform leaves unknown keys out of `after`)."""
    if marks is True:
        yield path
    elif isinstance(marks, dict):
        for key, inner in marks.items():
            yield from _marked_paths(inner, (*path, key))
    elif isinstance(marks, list):
        for index, inner in enumerate(marks):
            yield from _marked_paths(inner, (*path, index))


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def _shown_pair(was: Any, now: Any) -> tuple[str, str]:
    """Both values, cut to VALUE_WIDTH around their first difference, so a cut never hides it."""
    old, new = _text(was), _text(now)
    if len(old) <= VALUE_WIDTH and len(new) <= VALUE_WIDTH:
        return old, new
    first = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
    start = max(0, first - VALUE_WIDTH // 3)

    def cut(text: str) -> str:
        window = text[start : start + VALUE_WIDTH]
        return f"{'…' if start else ''}{window}{'…' if start + VALUE_WIDTH < len(text) else ''}"

    return cut(old), cut(new)


def _statements_by_name(document: Any) -> dict[str, Any] | None:
    """A policy's statements by Sid (or position); None when it is not a policy document."""
    if document is None:
        return {}
    parsed = parse_policy(document)
    if parsed is None:
        return None
    keyed: dict[str, Any] = {}
    for index, statement in enumerate(statement_list(parsed)):
        sid = statement_sid(statement)
        key = sid if sid and sid not in keyed else f"#{index}"
        keyed[key] = statement
    for field_name in ("Version", "Id"):
        if field_name in parsed:
            keyed[field_name] = parsed[field_name]
    return keyed


def _policy_changes(name: str, before: Any, after: Any) -> list[AttributeChange] | None:
    old, new = _statements_by_name(before), _statements_by_name(after)
    if old is None or new is None:
        return None
    changes = []
    for key in sorted(old.keys() | new.keys()):
        if old.get(key) == new.get(key):
            continue
        label = key if key in ("Version", "Id") else f"statement {key}"
        shown_old, shown_new = _shown_pair(old.get(key), new.get(key))
        changes.append(AttributeChange(f"{name} {label}", shown_old if key in old else "(none)", shown_new if key in new else "(none)"))
    return changes


def _inner(marks: Any, key: str) -> Any:
    """The marks for one attribute (after_unknown or *_sensitive may be True for the whole object)."""
    return marks if marks is True else marks.get(key) if isinstance(marks, dict) else None


def _path_order(path: tuple) -> list[tuple[int, Any]]:
    return [(0, step) if isinstance(step, int) else (1, str(step)) for step in path]


def attribute_changes(change: Mapping[str, Any]) -> list[AttributeChange]:
    """Each changed leaf attribute as before → after, masked and unknown values rendered as such."""
    body = change["change"]
    before, after = body.get("before") or {}, body.get("after") or {}
    unknown, before_sensitive, after_sensitive = (body.get(k) or {} for k in ("after_unknown", "before_sensitive", "after_sensitive"))
    changes: list[AttributeChange] = []
    unknown_names = {k for k, v in unknown.items() if v} if isinstance(unknown, dict) else set()
    for name in sorted(set(before) | set(after) | unknown_names):
        if name == "tags_all" and before.get(name) == after.get(name):
            continue
        old, new = before.get(name), after.get(name)
        marked = [_marked(marks, (name,)) for marks in (unknown, before_sensitive, after_sensitive)]
        if name in POLICY_ATTRIBUTES and not any(marked):
            policy = _policy_changes(name, old, new)
            if policy is not None:
                changes += policy
                continue
        old_leaves = dict(_leaves(old, (name,), before_sensitive))
        new_leaves = dict(_leaves(new, (name,), after_sensitive, unknown))
        new_leaves.update({path: None for path in _marked_paths(_inner(unknown, name), (name,)) if path not in new_leaves})
        for path in sorted(old_leaves.keys() | new_leaves.keys(), key=_path_order):
            was, now = old_leaves.get(path), new_leaves.get(path)
            is_unknown = _marked(unknown, path)
            # null, {} and [] are one "nothing": refreshes turn one into another without a change.
            if (was == now or (was in EMPTY and now in EMPTY)) and not is_unknown:
                continue
            shown_before, shown_after = _shown_pair(was, now)
            if _marked(before_sensitive, path):
                shown_before = SENSITIVE
            if is_unknown:
                shown_after = UNKNOWN
            elif _marked(after_sensitive, path):
                shown_after = f"{SENSITIVE}, changed" if shown_before == SENSITIVE else SENSITIVE
            if shown_before != shown_after:
                changes.append(AttributeChange(".".join(map(str, path)), shown_before, shown_after))
    return changes


def construct_paths(config: Mapping[str, Any] | None) -> dict[str, str]:
    """Each resource's construct path by its address, from the synthesized cdk.tf.json (cdktf
    records it in every block's `//` metadata): what a cdktf user knows a resource by."""
    return {
        f"{kind}.{name}": block["//"]["metadata"]["path"]
        for kind, named in ((config or {}).get("resource") or {}).items()
        for name, block in named.items()
        if isinstance(block, dict) and isinstance(block.get("//", {}).get("metadata", {}).get("path"), str)
    }


def _construct_of(address: str, paths: Mapping[str, str]) -> str:
    """The construct path of an address; an instance (`x[0]`, `x["a"]`) is its resource's."""
    return paths.get(address.split("[", 1)[0], "")


def _resource_change(change: Mapping[str, Any], paths: Mapping[str, str] = {}) -> ResourceChange:  # noqa: B006 (read only)
    action = action_of(change)
    notes = []
    if change.get("previous_address"):
        notes.append(f"moved from {code(change['previous_address'])}")
    importing = change["change"].get("importing")
    if importing:
        notes.append(f"imported (id {code(importing.get('id', '?'))})")
    reason = change.get("action_reason", "")
    if action == "replace":
        forced = [".".join(map(str, path)) for path in change["change"].get("replace_paths") or []]
        if reason in REPLACE_REASONS:
            notes.append(REPLACE_REASONS[reason])
        elif forced:
            notes.append("replaced because " + ", ".join(code(p) for p in forced) + " cannot change in place")
        if reason:
            notes.append(f"reason: {code(reason)}")
    elif reason:
        notes.append(f"reason: {code(reason)}")
    if action == "delete-deposed":
        notes.append(
            f"an older object (deposed {code(change['deposed'])}) left by an interrupted replacement is deleted; the current one stays"
        )
    if action == "forget":
        notes.append("removed from state only: the real resource stays")
    attributes = [] if action in ("delete", "forget") else attribute_changes(change)
    return ResourceChange(change["address"], change["type"], action, attributes, "; ".join(notes), _construct_of(change["address"], paths))


@dataclass(frozen=True)
class Review:
    risks: list[Risk]
    counts: Counter
    changes: list[ResourceChange]
    drift: list[ResourceChange]
    cost: plan_cost.Cost
    # Why this plan is not a whole, applyable change (None: it is); Terraform's errors from its log.
    failure: str | None = None
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "failure": self.failure,
            "errors": self.errors,
            "risks": [asdict(r) for r in self.risks],
            "counts": dict(self.counts),
            "changes": [asdict(c) for c in self.changes],
            "drift": [asdict(c) for c in self.drift],
            "cost": plan_cost.as_json(self.cost),
        }

    def failure_lines(self) -> list[str]:
        """What failed and Terraform's own words, in a fence no quoted line can close."""
        lines = [f"### :x: The plan failed: {self.failure}", ""]
        if self.errors:
            quoted = self.errors[:MAX_ERROR_LINES]
            fence = "`" * max(3, 1 + max((len(run) for line in quoted for run in re.findall(r"`+", line)), default=0))
            lines += ["Terraform said:", "", fence + "text", *quoted, fence, ""]
            if len(self.errors) > MAX_ERROR_LINES:
                lines += [f"_{len(self.errors) - MAX_ERROR_LINES} more lines: see the plan in the job log._", ""]
        else:
            lines += ["Terraform's errors are in the plan step of the job log.", ""]
        return lines

    def headline(self, listed: int = MAX_LISTED_RISKS) -> list[str]:
        """The risks (the first `listed` of them), the summary and the cost; for a failed plan, the
        failure first, and what was planned before it stopped as no more than that."""
        lines = ["## Terraform plan review", ""]
        if self.failure:
            lines += self.failure_lines()
            if self.risks:
                lines += [f"### :warning: {len(self.risks)} risk(s) in what was planned before it stopped", ""]
                lines += [_risk_line(r) for r in self.risks[:listed]]
                if len(self.risks) > listed:
                    lines += [f"- …and {len(self.risks) - listed} more, not listed to fit the comment (`--format json` lists them all)"]
                lines += [""]
            planned = ", ".join(f"{number} to {_inline(action)}" for action, number in sorted(self.counts.items()))
            return lines + [f"Planned before it stopped (not the whole change): {planned or 'nothing'}.", ""]
        if self.risks:
            by_kind = Counter(r.kind for r in self.risks)
            lines += [f"### :warning: {len(self.risks)} risk(s): " + ", ".join(f"{by_kind[k]} {k}" for k in KINDS if by_kind[k]), ""]
            lines += [_risk_line(r) for r in self.risks[:listed]]
            if len(self.risks) > listed:
                lines += [f"- …and {len(self.risks) - listed} more, not listed to fit the comment (`--format json` lists them all)"]
        else:
            lines += ["### No risks flagged"]
        counted = Counter()
        for action, number in self.counts.items():
            for part in action.split("+"):  # import+update counts as an import and an update
                counted["delete" if part == "delete-deposed" else part] += number
        shown = ["create", "update", "replace", "delete"] + sorted(a for a in counted if a not in ("create", "update", "replace", "delete"))
        lines += ["", "### Changes", "", "**" + ", ".join(f"{counted.get(a, 0)} to {_inline(a)}" for a in shown) + "**", ""]
        if self.drift:
            lines += [f"**{len(self.drift)} resource(s) changed outside Terraform** since the last apply (see Drift)", ""]
        return lines + plan_cost.markdown(self.cost)

    def _fitting_headline(self, room: int) -> str:
        """The headline listing as many risks as fit in `room` characters."""
        listed = min(len(self.risks), MAX_LISTED_RISKS)
        head = "\n".join(self.headline(listed)) + "\n"
        while len(head) > room and listed:
            listed -= 1
            head = "\n".join(self.headline(listed)) + "\n"
        return head

    def markdown(self, limit: int = GITHUB_COMMENT_LIMIT) -> str:
        sections = []
        if self.drift:
            sections.append("### Drift (changed outside Terraform)\n")
            sections += [_details(c) for c in self.drift]
        if self.changes:
            sections.append("### Details\n" if not self.failure else "### Planned before it stopped\n")
            sections += [_details(c) for c in self.changes]
        elif not self.failure:
            sections.append("No changes.\n")
        body, note = "", "\n_The remaining details are left out to fit GitHub's comment limit: see the plan in the job log._\n"
        head = self._fitting_headline(limit - len(note))
        for section in sections:
            if len(head) + len(body) + len(section) + len(note) > limit:
                return head + body + note
            body += section
        return head + body

    def drift_markdown(self, limit: int = GITHUB_COMMENT_LIMIT) -> str:
        if self.failure:
            return "\n".join(["Drift could not be judged.", "", *self.failure_lines()])
        if not self.drift:
            return "No drift: every resource matches the last apply.\n"
        text, note = (
            "### Drift (changed outside Terraform)\n\n",
            "\n_The rest is left out to fit GitHub's limit: see the plan in the job log._\n",
        )
        for section in map(_details, self.drift):
            if len(text) + len(section) + len(note) > limit:
                return text + note
            text += section
        return text


def _details(change: ResourceChange) -> str:
    where = f"<code>{html.escape(change.address)}</code>"
    if change.construct:
        where = f"<code>{html.escape(change.construct)}</code> ({where})"
    summary = f"<code>{html.escape(change.action)}</code> {where}"
    lines = ["<details>", f"<summary>{summary}</summary>", ""]
    if change.note:
        lines += [_inline(change.note), ""]
    if change.attributes:
        lines += ["| attribute | before | after |", "|---|---|---|"]
        lines += [f"| `{_cell(a.path)}` | `{_cell(a.before)}` | `{_cell(a.after)}` |" for a in change.attributes]
    elif not change.note:
        lines += ["No attribute changes shown."]
    return "\n".join([*lines, "", "</details>", ""]) + "\n"


def _cell(text: str) -> str:
    """Text inside a code span in a table cell: no pipe, backtick or line break can end it."""
    return " ".join(text.split("\n")).replace("|", "\\|").replace("`", "'")


def _risk_line(risk: Risk) -> str:
    """A flagged risk as a list item: its kind, the rule that raised it (docs/delivery.md), where, what."""
    where = f"{code(risk.construct)} ({code(risk.address)})" if risk.construct else code(risk.address)
    return f"- **{risk.kind}** ({risk.rule}) {where}: {_inline(risk.detail)}"


def _inline(text: str) -> str:
    """Free text (risk details, notes): one line; its code spans (`plan_rules.base.code`, which hold every
    value from the plan) kept as they are, and no HTML, Markdown or @mention in the rest."""
    parts = CODE_SPAN.split(" ".join(text.splitlines()))
    return "".join(
        part if index % 2 else MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(part)).replace("@", "&#64;")
        for index, part in enumerate(parts)
    )


def plan_failure(plan: Mapping[str, Any] | None, acting: Sequence[Mapping[str, Any]] = ()) -> str | None:
    """Why a plan is not a whole change Terraform could apply, or None."""
    if plan is None:
        return "Terraform wrote no plan (the plan command failed before it could)"
    if plan.get("errored"):
        return "Terraform stopped with errors, so what it planned is not the whole change"
    if plan.get("complete") is False:
        return "the plan is incomplete (`-target`, or changes deferred): applying it would not bring everything up to date"
    changes_outputs = any(o.get("actions") != ["no-op"] for o in (plan.get("output_changes") or {}).values())
    if plan.get("applyable") is False and (acting or changes_outputs):
        return "Terraform marked the plan as not applyable"
    return None


def read_plan(path: Path) -> Mapping[str, Any] | None:
    """`terraform show -json` output of a plan, or None when there is none or it is not a plan (a
    state shown instead has `values`, never `planned_values`)."""
    try:
        plan = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return plan if isinstance(plan, dict) and "format_version" in plan and "planned_values" in plan else None


def read_errors(log: Path | None) -> list[str]:
    """Terraform's error blocks from a plan command's output, colours stripped."""
    if not log or not log.exists():
        return []
    lines = [ANSI.sub("", line) for line in log.read_text(errors="replace").splitlines()]
    return error_blocks(lines, limit=10 * MAX_ERROR_LINES)


def review(
    plan: Mapping[str, Any] | None, errors: Sequence[str] = (), plan_exit_code: int = 0, config: Mapping[str, Any] | None = None
) -> Review:
    """`plan_exit_code`: the plan command's; a failed command is a failed plan, whatever it left.
    `config`: the synthesized cdk.tf.json, which names each resource's construct path."""
    plan = plan or {}
    paths = construct_paths(config)
    changes = [c for c in plan.get("resource_changes", []) if c.get("mode") == "managed"]
    acting = [c for c in changes if action_of(c) not in ("no-op", "read")]
    drift = [_resource_change(c, paths) for c in plan.get("resource_drift", []) if c.get("mode") == "managed"]
    risks = [risk for change in acting for risk in risks_of(change, action_of(change))]
    risks += [risk for change in readdressed(acting) for risk in risks_of(change, "update")]
    return Review(
        risks=[replace(risk, construct=_construct_of(risk.address, paths)) for risk in risks],
        counts=Counter(action_of(c) for c in acting),
        changes=[_resource_change(c, paths) for c in acting],
        drift=[c for c in drift if c.attributes or c.action in ("delete", "forget")],
        cost=plan_cost.fixed_monthly_cost(changes),
        failure=plan_failure(plan or None, acting) or (f"`terraform plan` exited with {plan_exit_code}" if plan_exit_code else None),
        errors=list(errors),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Review of a `terraform show -json` plan")
    parser.add_argument("plan_json", type=Path, help="terraform show -json output; missing or empty: the plan failed")
    parser.add_argument("--log", type=Path, help="the plan command's output, quoted when the plan failed")
    parser.add_argument(
        "--config", type=Path, help="the synthesized cdk.tf.json, for construct paths (default: the one beside the plan, if any)"
    )
    parser.add_argument("--plan-exit-code", type=int, default=0, help="the plan command's exit code (not 0: the plan failed)")
    parser.add_argument("--fail-on-risk", action="store_true", help="exit 2 when any risk is flagged")
    parser.add_argument("--fail-on-drift", action="store_true", help="exit 3 when something changed outside Terraform")
    parser.add_argument("--format", choices=("markdown", "json", "drift"), default="markdown", help="drift: only the drift section")
    parser.add_argument(
        "--limit", type=int, default=GITHUB_COMMENT_LIMIT, help="characters the Markdown may use (less what the caller adds)"
    )
    args = parser.parse_args(argv)
    config_path = args.config or args.plan_json.with_name("cdk.tf.json")
    config = json.loads(config_path.read_text()) if config_path.is_file() else None
    result = review(read_plan(args.plan_json), read_errors(args.log), args.plan_exit_code, config)
    if args.format == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    elif args.format == "drift":
        sys.stdout.write(result.drift_markdown(args.limit))
    else:
        sys.stdout.write(result.markdown(args.limit))
    if result.failure:
        return FAILED
    if args.fail_on_risk and result.risks:
        return 2
    return 3 if args.fail_on_drift and result.drift else 0


if __name__ == "__main__":
    sys.exit(main())
