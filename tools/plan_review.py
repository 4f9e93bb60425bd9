"""Review a Terraform plan for a pull-request comment: what changes, why it is risky, what drifted.

    terraform show -json plan.bin > plan.json
    python -m tools.plan_review plan.json [--fail-on-risk] [--format markdown|json]

Reads `terraform show -json` alone. The Markdown comment puts the risks and the summary first
and the fixed monthly cost before and after (always visible), then what drifted outside
Terraform since the last apply, then each change
with its attributes as `before → after` in a collapsed block: nested blocks by path, JSON policy
documents by statement, sensitive values masked, unknown ones "(known after apply)";
replacements name the attributes that force them and Terraform's reason; moves, imports and
forgets are shown as such, not as delete + create. The comment stays under GitHub's 65,536
characters: details are truncated, with a note, before the risks or the summary would be.
With --fail-on-risk the exit code is 2 when any risk is flagged; with --fail-on-drift, 3 when
anything drifted (`--format drift` prints only that section, for the drift-detection workflow).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from tools import plan_cost
from tools.plan_risks import Risk, risks_of

GITHUB_COMMENT_LIMIT = 65_536
UNKNOWN = "(known after apply)"
SENSITIVE = "(sensitive)"
# Attributes whose string value is a JSON policy document: diffed statement by statement.
POLICY_ATTRIBUTES = {"policy", "assume_role_policy"}
VALUE_WIDTH = 120
EMPTY = (None, {}, [])


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


def action_of(change: Mapping[str, Any]) -> str:
    actions = change["change"]["actions"]
    if actions in (["delete", "create"], ["create", "delete"]):
        return "replace"
    if actions == ["no-op"] and change.get("previous_address"):
        return "move"
    if actions == ["no-op"] and change["change"].get("importing"):
        return "import"
    return actions[0] if len(actions) == 1 else "+".join(actions)


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


def _leaves(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if isinstance(value, dict) and value:
        for key in value:
            yield from _leaves(value[key], (*path, key))
    elif isinstance(value, list) and value:
        for index, element in enumerate(value):
            yield from _leaves(element, (*path, index))
    else:
        yield path, value


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":")) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= VALUE_WIDTH else f"{text[: VALUE_WIDTH - 1]}…"


def _statements(document: str) -> dict[str, Any] | None:
    try:
        statements = json.loads(document).get("Statement", [])
    except (TypeError, ValueError, AttributeError):
        return None
    statements = statements if isinstance(statements, list) else [statements]
    return {statement.get("Sid") or f"#{index}": statement for index, statement in enumerate(statements)}


def _policy_changes(name: str, before: Any, after: Any) -> list[AttributeChange] | None:
    old = _statements(before) if isinstance(before, str) else {}
    new = _statements(after) if isinstance(after, str) else {}
    if old is None or new is None:
        return None
    changes = []
    for sid in sorted(old.keys() | new.keys()):
        if old.get(sid) == new.get(sid):
            continue
        shown = lambda statement: _show(statement) if statement is not None else "(none)"  # noqa: E731
        changes.append(AttributeChange(f"{name} statement {sid}", shown(old.get(sid)), shown(new.get(sid))))
    return changes


def attribute_changes(change: Mapping[str, Any]) -> list[AttributeChange]:
    """Each changed leaf attribute as before → after, masked and unknown values rendered as such."""
    body = change["change"]
    before, after = body.get("before") or {}, body.get("after") or {}
    unknown, before_sensitive, after_sensitive = (body.get(k) or {} for k in ("after_unknown", "before_sensitive", "after_sensitive"))
    changes: list[AttributeChange] = []
    for name in sorted(set(before) | set(after) | {k for k, v in unknown.items() if v}):
        if name == "tags_all" and before.get(name) == after.get(name):
            continue
        old, new = before.get(name), after.get(name)
        if name in POLICY_ATTRIBUTES and not _marked(unknown, (name,)) and not _marked(after_sensitive, (name,)):
            policy = _policy_changes(name, old, new)
            if policy is not None:
                changes += policy
                continue
        old_leaves, new_leaves = dict(_leaves(old, (name,))), dict(_leaves(new, (name,)))
        for path in sorted(old_leaves.keys() | new_leaves.keys(), key=lambda p: [str(s) for s in p]):
            was, now = old_leaves.get(path), new_leaves.get(path)
            is_unknown = _marked(unknown, path)
            # null, {} and [] are one "nothing": refreshes turn one into another without a change.
            if (was == now or (was in EMPTY and now in EMPTY)) and not is_unknown:
                continue
            shown_before = SENSITIVE if _marked(before_sensitive, path) else _show(was)
            shown_after = UNKNOWN if is_unknown else SENSITIVE if _marked(after_sensitive, path) else _show(now)
            if shown_before == shown_after == SENSITIVE:
                shown_after = f"{SENSITIVE}, changed"
            if shown_before != shown_after:
                changes.append(AttributeChange(".".join(map(str, path)), shown_before, shown_after))
    return changes


def _resource_change(change: Mapping[str, Any]) -> ResourceChange:
    action = action_of(change)
    notes = []
    if change.get("previous_address"):
        notes.append(f"moved from `{change['previous_address']}`")
    importing = change["change"].get("importing")
    if importing:
        notes.append(f"imported (id `{importing.get('id', '?')}`)")
    if action == "replace":
        forced = [".".join(map(str, path)) for path in change["change"].get("replace_paths") or []]
        reason = change.get("action_reason", "")
        notes.append("replaced because " + (", ".join(f"`{p}`" for p in forced) or "(no attribute named)") + " cannot change in place")
        if reason:
            notes.append(f"reason: {reason}")
    if action == "forget":
        notes.append("removed from state only: the real resource stays")
    attributes = [] if action in ("delete", "forget") else attribute_changes(change)
    return ResourceChange(change["address"], change["type"], action, attributes, "; ".join(notes))


@dataclass(frozen=True)
class Review:
    risks: list[Risk]
    counts: Counter
    changes: list[ResourceChange]
    drift: list[ResourceChange]
    cost: plan_cost.Cost

    def to_json(self) -> dict[str, Any]:
        return {
            "risks": [asdict(r) for r in self.risks],
            "counts": dict(self.counts),
            "changes": [asdict(c) for c in self.changes],
            "drift": [asdict(c) for c in self.drift],
            "cost": {"monthly_before": round(self.cost.before, 2), "monthly_after": round(self.cost.after, 2)},
        }

    def headline(self) -> list[str]:
        lines = ["## Terraform plan review", ""]
        if self.risks:
            lines += [f"### :warning: {len(self.risks)} risk(s)", ""]
            lines += [f"- **{r.kind}** `{r.address}`: {r.detail}" for r in self.risks]
        else:
            lines += ["### No risks flagged"]
        shown = ["create", "update", "replace", "delete"] + [a for a in ("move", "import", "forget") if self.counts.get(a)]
        lines += ["", "### Changes", "", "**" + ", ".join(f"{self.counts.get(a, 0)} to {a}" for a in shown) + "**", ""]
        if self.drift:
            lines += [f"**{len(self.drift)} resource(s) changed outside Terraform** since the last apply (see Drift)", ""]
        return lines + plan_cost.markdown(self.cost)

    def markdown(self, limit: int = GITHUB_COMMENT_LIMIT) -> str:
        head = "\n".join(self.headline()) + "\n"
        sections = []
        if self.drift:
            sections.append("### Drift (changed outside Terraform)\n")
            sections += [_details(c) for c in self.drift]
        if self.changes:
            sections.append("### Details\n")
            sections += [_details(c) for c in self.changes]
        else:
            sections.append("No changes.\n")
        body, note = "", "\n_The remaining details are left out to fit GitHub's comment limit: see the plan in the job log._\n"
        for section in sections:
            if len(head) + len(body) + len(section) + len(note) > limit:
                return head + body + note
            body += section
        return head + body

    def drift_markdown(self) -> str:
        if not self.drift:
            return "No drift: every resource matches the last apply.\n"
        return "### Drift (changed outside Terraform)\n\n" + "".join(_details(c) for c in self.drift)


def _details(change: ResourceChange) -> str:
    summary = f"<code>{change.action}</code> <code>{change.address}</code>"
    lines = ["<details>", f"<summary>{summary}</summary>", ""]
    if change.note:
        lines += [change.note, ""]
    if change.attributes:
        lines += ["| attribute | before | after |", "|---|---|---|"]
        lines += [f"| `{a.path}` | `{_cell(a.before)}` | `{_cell(a.after)}` |" for a in change.attributes]
    elif not change.note:
        lines += ["No attribute changes shown."]
    return "\n".join([*lines, "", "</details>", ""]) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")


def review(plan: Mapping[str, Any]) -> Review:
    changes = [c for c in plan.get("resource_changes", []) if c.get("mode") == "managed"]
    acting = [c for c in changes if action_of(c) not in ("no-op", "read")]
    drift = [_resource_change(c) for c in plan.get("resource_drift", []) if c.get("mode") == "managed"]
    return Review(
        risks=[risk for change in acting for risk in risks_of(change, action_of(change))],
        counts=Counter(action_of(c) for c in acting),
        changes=[_resource_change(c) for c in acting],
        drift=[c for c in drift if c.attributes or c.action in ("delete", "forget")],
        cost=plan_cost.fixed_monthly_cost(changes),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Review of a `terraform show -json` plan")
    parser.add_argument("plan_json", type=Path)
    parser.add_argument("--fail-on-risk", action="store_true", help="exit 2 when any risk is flagged")
    parser.add_argument("--fail-on-drift", action="store_true", help="exit 3 when something changed outside Terraform")
    parser.add_argument("--format", choices=("markdown", "json", "drift"), default="markdown", help="drift: only the drift section")
    args = parser.parse_args(argv)
    result = review(json.loads(args.plan_json.read_text()))
    if args.format == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    elif args.format == "drift":
        sys.stdout.write(result.drift_markdown())
    else:
        sys.stdout.write(result.markdown())
    if args.fail_on_risk and result.risks:
        return 2
    return 3 if args.fail_on_drift and result.drift else 0


if __name__ == "__main__":
    sys.exit(main())
