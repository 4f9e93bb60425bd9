"""Tags: every taggable resource carries the required tags (stacks/facts.py)."""

from __future__ import annotations

from collections.abc import Iterator

from review.plan_rules.base import Example, PlannedChange, listing, plan_rule
from stacks.facts import REQUIRED_TAGS


@plan_rule(
    "T1",
    "tags",
    "Required tags missing or drifting",
    "A resource created or changed without the required tags, or with other values for them.",
    flagged=Example("aws_sns_topic", ("create",), None, {"tags_all": {}}),
    unflagged=Example("aws_sns_topic", ("create",), None, {"tags_all": dict(REQUIRED_TAGS)}),
)
def required_tags(c: PlannedChange) -> Iterator[str]:
    tags = c.after.get("tags_all")
    if isinstance(tags, dict):
        drift = {k: tags.get(k) for k, v in REQUIRED_TAGS.items() if tags.get(k) != v}
        missing = [k for k, v in drift.items() if v is None]
        if missing:
            yield "lacks " + ", ".join(f"{k}={REQUIRED_TAGS[k]}" for k in missing)
        if len(missing) < len(drift):
            yield "tags drift: " + listing([f"{k}={v}" for k, v in drift.items() if v is not None])
