"""Policy documents as the plan rules read them: statements by name, and how one version of a
document grants more than another (the actions, resources, principals and conditions an Allow
adds, the Denies removed or loosened)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from review.plan_rules.base import SENSITIVE, code, listing

ANYONE = {"*", "AWS:*"}


def parse_policy(document: Any) -> dict[str, Any] | None:
    """A JSON policy document as an object; None when unknown, sensitive or not a JSON object."""
    if not isinstance(document, str) or document == SENSITIVE:
        return None
    try:
        parsed = json.loads(document)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def statement_list(policy: Mapping[str, Any]) -> list[Any]:
    """A parsed policy's statements as a list (IAM allows a single statement object too)."""
    statements = policy.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def statement_sid(statement: Any) -> str | None:
    """A statement's Sid when it is a usable name (a malformed policy may hold a list there)."""
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    return sid if isinstance(sid, str) and sid else None


def statements_of(document: Any) -> list[dict[str, Any]] | None:
    """A policy's statements; None when unknown, sensitive or not a policy document."""
    policy = parse_policy(document)
    if policy is None:
        return None
    return [statement for statement in statement_list(policy) if isinstance(statement, dict)]


def _as_set(value: Any) -> set[str]:
    if value is None:
        return set()
    return {json.dumps(v, sort_keys=True) if not isinstance(v, str) else v for v in (value if isinstance(value, list) else [value])}


def principals(value: Any) -> set[str]:
    """A Principal as `type:id` strings; a bare "*" is anyone, as `AWS:*` is."""
    if isinstance(value, dict):
        return {f"{kind}:{identity}" for kind, identities in value.items() for identity in _as_set(identities)}
    return _as_set(value)


def _values(statement: Mapping[str, Any], key: str) -> set[str]:
    return principals(statement.get(key)) if key.endswith("Principal") else _as_set(statement.get(key))


def _covered(value: str, patterns: set[str], key: str) -> bool:
    """Whether one of `patterns` (IAM wildcards * and ?) already grants `value`; actions ignore case."""
    fold = str.lower if key == "Action" else str
    return any(re.fullmatch(re.escape(fold(p)).replace(r"\*", ".*").replace(r"\?", "."), fold(value)) for p in patterns)


def _canonical(statement: Mapping[str, Any]) -> str:
    return json.dumps(
        {k: sorted(_as_set(v)) if isinstance(v, (list, str)) else v for k, v in statement.items() if k != "Sid"}, sort_keys=True
    )


def _effect(statement: Mapping[str, Any]) -> Any:
    return statement.get("Effect", "Allow")


# Keys an Allow grants by, in the order a risk names them; the Not- keys grant what they leave out.
GRANT_KEYS = (
    ("Action", "added"),
    ("NotAction", "every action but"),
    ("Resource", "on"),
    ("NotResource", "on everything but"),
    ("Principal", "to"),
    ("NotPrincipal", "to everyone but"),
)


def _allow_change(name: str, statement: Mapping[str, Any], before: Mapping[str, Any]) -> str:
    """What a new or changed Allow grants beyond its counterpart `before`; when it grants nothing
    more, how it was narrowed (worded as such: a narrowing can break callers, not let anyone in)."""
    grants, narrowed = [], []
    for key, label in GRANT_KEYS:
        new, old = _values(statement, key), _values(before, key)
        if key.startswith("Not"):
            if new != old:
                grants.append(f"{label} {listing(sorted(new))}")
            continue
        wider = sorted(v for v in new if not _covered(v, old, key))
        if wider:
            grants.append(f"{label} {listing(wider)}" + (" (anyone)" if key == "Principal" and ANYONE & set(wider) else ""))
        elif new != old:
            narrowed.append(f"{key} now {listing(sorted(new))}")
    old_condition, new_condition = before.get("Condition") or None, statement.get("Condition") or None
    if old_condition and old_condition != new_condition:
        grants.append("conditions " + ("removed" if not new_condition else "changed"))
    elif new_condition and not old_condition and before:
        narrowed.append("conditions added")
    if grants:
        return f"allow {code(name)}: " + "; ".join(grants)
    return f"allow {code(name)} narrowed: " + "; ".join(narrowed) if narrowed else f"allow {code(name)}: changed"


def _keyed(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Statements by name: a statement's counterpart has its Sid, or its position when it has none."""
    return {statement_sid(s) or f"#{i}": s for i, s in enumerate(statements)}


def changed_allows(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Each Allow of `new` that `old` does not hold as it is: its name, itself and its counterpart."""
    old_set, old_by_key = {_canonical(s) for s in old}, _keyed(old)
    for index, statement in enumerate(new):
        if _effect(statement) == "Allow" and _canonical(statement) not in old_set:
            name = statement_sid(statement) or f"#{index}"
            yield name, statement, old_by_key.get(name) or {}


def _deny_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> Iterator[str]:
    """Denies gone or changed (narrowed or made conditional: either may let through what they stopped)."""
    new_set, new_by_key = {_canonical(s) for s in new}, _keyed(new)
    for index, statement in enumerate(old):
        if _effect(statement) != "Deny" or _canonical(statement) in new_set:
            continue
        name = statement_sid(statement) or f"#{index}"
        counterpart = new_by_key.get(name)
        if counterpart is None or _effect(counterpart) != "Deny":
            yield f"deny {code(name)} removed"
        else:
            keys = sorted(
                k for k in statement.keys() | counterpart.keys() if k != "Sid" and _as_set(statement.get(k)) != _as_set(counterpart.get(k))
            )
            yield f"deny {code(name)} changed ({', '.join(keys)})"


def policy_widening(old_document: Any, new_document: Any) -> list[str]:
    """How a policy changed, in the terms that matter: every Allow that is new or wider, with what
    it grants (actions added, NotAction, resources, principals, conditions), or how it narrowed;
    Denies removed or changed; actions no longer allowed."""
    old, new = statements_of(old_document) or [], statements_of(new_document) or []
    parts = [_allow_change(name, statement, before) for name, statement, before in changed_allows(old, new)]
    parts += _deny_changes(old, new)
    allowed = lambda statements: set().union(*(_as_set(s.get("Action")) for s in statements if _effect(s) == "Allow"))  # noqa: E731
    removed = allowed(old) - allowed(new)
    if removed:
        parts.append("removed " + listing(sorted(removed)))
    return parts
