"""Reading `terraform show -json` plans."""

from __future__ import annotations

from typing import Any


def planned(plan: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """The `after` values of every planned managed resource of a type."""
    return [
        change["change"]["after"] for change in plan["resource_changes"] if change["type"] == resource_type and change["mode"] == "managed"
    ]


def planned_one(plan: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (after,) = planned(plan, resource_type)
    return after
