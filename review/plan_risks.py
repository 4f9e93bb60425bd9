"""The risks a plan review flags: every plan rule (review/plan_rules/), run on each planned change.

Each rule reads one planned change (`resource_changes[]` of `terraform show -json`) and says what
changes and why it is risky. The rules and their ids are listed in docs/delivery.md, rendered
from `RULES` by `make docs`; each carries a change it flags and one it leaves alone, which
tests/review/test_plan_rules.py runs. A new rule is one decorated function in the module of its
kind: nothing else to register.

Rules judge what happens to the object: a move or an import that also updates is an update.
Sensitive values (before_sensitive/after_sensitive) are masked before any rule reads them, so no
risk can quote one. Every value a risk quotes from the plan is in a code span (`code`), so no
value can add Markdown or HTML to the comment.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from review import plan_rules
from review.plan_rules.base import KINDS, SENSITIVE, PlannedChange, PlanRule, Risk


def _collected() -> tuple[PlanRule, ...]:
    """Every rule declared in any module of review/plan_rules/ (a new module needs no listing), by
    kind in the order the review lists the kinds, within a module in the order of its rules."""
    modules = [importlib.import_module(f"{plan_rules.__name__}.{info.name}") for info in pkgutil.iter_modules(plan_rules.__path__)]
    found = {id(v): v for module in modules for v in vars(module).values() if isinstance(v, PlanRule)}
    return tuple(sorted(found.values(), key=lambda plan_rule: KINDS.index(plan_rule.kind)))


RULES: tuple[PlanRule, ...] = _collected()


def base_action(action: str) -> str:
    """What happens to the object, without the move or import that may come with it."""
    return "+".join(part for part in action.split("+") if part not in ("move", "import")) or action


def _masked(value: Any, marks: Any) -> Any:
    """`value` with every sensitive part replaced by "(sensitive)", so no rule can quote it."""
    if marks is True:
        return SENSITIVE
    if isinstance(value, dict) and isinstance(marks, dict):
        return {k: _masked(v, marks.get(k)) for k, v in value.items()}
    if isinstance(value, list) and isinstance(marks, list):
        return [_masked(v, marks[i] if i < len(marks) else None) for i, v in enumerate(value)]
    return value


def _side(value: Any, marks: Any) -> dict[str, Any]:
    """One side of a change, masked; a side sensitive as a whole keeps its keys, every value masked."""
    if not isinstance(value, dict):
        return {}
    return dict.fromkeys(value, SENSITIVE) if marks is True else _masked(value, marks)


def risks_of(change: Mapping[str, Any], action: str) -> list[Risk]:
    body = change["change"]
    before = _side(body.get("before"), body.get("before_sensitive"))
    after = _side(body.get("after"), body.get("after_sensitive"))
    planned = PlannedChange(change["address"], change["type"], base_action(action), before, after, body.get("after_unknown") or {})
    return [risk for plan_rule in RULES for risk in plan_rule.risks(planned)]
