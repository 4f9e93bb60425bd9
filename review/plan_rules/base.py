"""What every plan rule is built on: the rule record, one planned change as the rules read it, and
the quoting that keeps plan values from adding Markdown to the comment.

A rule (cdk-nag's shape) has an id, the kind of risk it flags, a title and an explanation (both
rendered into docs/delivery.md), the resource types and actions it judges, a check that yields
each finding as a sentence, and two examples beside it: a change it flags and one it leaves
alone (tests/review/test_plan_rules.py runs both for every rule).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("stateful", "iam", "exposure", "protection", "alerting", "tags")
# What a masked value reads as: no rule can quote a sensitive value.
SENSITIVE = "(sensitive)"
# A risk lists this many values, or policy changes, and counts the rest: the comment must fit.
LISTED = 10
CODE_WIDTH = 200
# The actions a rule judges unless it names its own (a move or an import is no risk by itself).
CHANGING = frozenset({"create", "update", "replace"})


@dataclass(frozen=True)
class Risk:
    kind: str
    address: str
    detail: str
    rule: str = ""  # the id of the rule that flagged it
    construct: str = ""  # the construct path of the resource, where the synthesized stack names it


def code(value: Any) -> str:
    """A value from the plan as a Markdown code span: nothing in it can end the span, break the
    line or render as Markdown or HTML (GitHub shows a code span's text as it is)."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = " ".join(text.split()).replace("`", "'")
    return f"`{text[:CODE_WIDTH]}{'…' if len(text) > CODE_WIDTH else ''}`"


def listing(values: list[Any]) -> str:
    """The first values as code spans, the rest counted."""
    shown = ", ".join(code(v) for v in values[:LISTED])
    return shown + (f" and {len(values) - LISTED} more" if len(values) > LISTED else "")


def blocks(value: Any) -> list[dict[str, Any]]:
    """A block list's elements; none when it is absent, masked or unknown."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def first_of(block: Any) -> dict[str, Any]:
    """A block's first element; empty when there is none (an absent block is [] in plan JSON)."""
    return (blocks(block) or [{}])[0]


def first_block(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A nested block's first element."""
    return first_of(config.get(name))


@dataclass(frozen=True)
class PlannedChange:
    address: str
    type: str
    action: str  # create, update, replace, delete or delete-deposed: a move or import is not a risk
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    unknown: Any  # after_unknown: True when the whole object is unknown

    def first(self, side: Any, *path: Any) -> Any:
        """A nested value; a block (a list in plan JSON) stands for its first element."""
        value: Any = side
        for step in path:
            if isinstance(value, list):
                value = value[0] if value else None
            value = value.get(step) if isinstance(value, dict) else None
        return value

    def unknown_at(self, *path: Any) -> bool:
        """Whether after_unknown marks the value at `path` or a block around it."""
        marks = self.unknown
        for step in path:
            if isinstance(marks, list):
                marks = marks[0] if marks else None
            if marks is True:
                return True
            marks = marks.get(step) if isinstance(marks, dict) else None
        return marks is True

    def switched_off(self, *path: Any) -> bool:
        return self.first(self.before, *path) is True and self.first(self.after, *path) is False

    def switched_on(self, *path: Any) -> bool:
        return self.first(self.before, *path) is False and self.first(self.after, *path) is True

    def replaced_value(self, *path: Any) -> tuple[Any, Any] | None:
        """Before and after of a value set before that changes, when after is known."""
        old, new = self.first(self.before, *path), self.first(self.after, *path)
        return None if not old or old == new or self.unknown_at(*path) else (old, new)


@dataclass(frozen=True)
class Example:
    """A planned change as `terraform show -json` writes one, for a rule's flagged and unflagged cases."""

    type: str
    actions: tuple[str, ...]
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    after_unknown: Mapping[str, Any] = field(default_factory=dict)

    def change(self) -> dict[str, Any]:
        body = {"actions": list(self.actions), "before": self.before, "after": self.after, "after_unknown": dict(self.after_unknown)}
        return {"address": f"{self.type}.example", "type": self.type, "mode": "managed", "change": body}


Check = Callable[[PlannedChange], Iterator[str]]


@dataclass(frozen=True)
class PlanRule:
    id: str
    kind: str
    title: str
    explanation: str
    check: Check
    flagged: Example
    unflagged: Example
    types: frozenset[str] | None = None  # None: every resource type
    actions: frozenset[str] = CHANGING

    def applies_to(self, change: PlannedChange) -> bool:
        return (self.types is None or change.type in self.types) and change.action in self.actions

    def risks(self, change: PlannedChange) -> Iterator[Risk]:
        if self.applies_to(change):
            for detail in self.check(change):
                yield Risk(self.kind, change.address, detail, self.id)


def plan_rule(
    id_: str,
    kind: str,
    title: str,
    explanation: str,
    *,
    flagged: Example,
    unflagged: Example,
    types: set[str] | frozenset[str] | None = None,
    actions: set[str] | frozenset[str] = CHANGING,
) -> Callable[[Check], PlanRule]:
    """Declare the function below as a plan rule (it yields each finding's sentence)."""
    if kind not in KINDS:
        raise ValueError(f"rule {id_}: kind {kind!r} is not one of {KINDS}")

    def declare(check: Check) -> PlanRule:
        return PlanRule(id_, kind, title, explanation, check, flagged, unflagged, frozenset(types) if types else None, frozenset(actions))

    return declare
