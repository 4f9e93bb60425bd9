"""The stack's fixed monthly cost before and after a plan, from the pricing table in tools/pricing.

Only what costs money by merely existing is summed: web ACLs and their rules, KMS keys, alarms,
the custom metrics log metric filters publish, and provisioned DynamoDB capacity. Everything else
is priced by use; the review lists those unit prices beside the sum.

A key with automatic rotation costs more as it ages: each of its first two rotations keeps old key
material at $1 a month. The review sums that too, as the cost once every key has rotated twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

PRICING = json.loads((Path(__file__).resolve().parent / "pricing" / "us-east-1.json").read_text())


def _price(name: str) -> float:
    return PRICING["fixed"][name]["usd"]


def _web_acl(config: Mapping[str, Any]) -> float:
    return _price("wafv2_web_acl") + _price("wafv2_rule") * len(config.get("rule") or [])


def _table(config: Mapping[str, Any]) -> float:
    """Provisioned capacity of the table and its global secondary indexes."""
    if config.get("billing_mode", "PROVISIONED") != "PROVISIONED":
        return 0.0
    parts = [config, *(config.get("global_secondary_index") or [])]
    reads = sum(part.get("read_capacity") or 0 for part in parts)
    writes = sum(part.get("write_capacity") or 0 for part in parts)
    return PRICING["hours_per_month"] * (reads * _price("dynamodb_rcu_hour") + writes * _price("dynamodb_wcu_hour"))


def _rotated_key_material(config: Mapping[str, Any]) -> float:
    """What a key's automatic rotations add once it has rotated twice (AWS charges only the first two)."""
    return 2 * _price("kms_key_rotation") if config.get("enable_key_rotation") else 0.0


# Resource type -> its fixed monthly price, from its planned (or prior) configuration.
MONTHLY: dict[str, Callable[[Mapping[str, Any]], float]] = {
    "aws_wafv2_web_acl": _web_acl,
    "aws_kms_key": lambda config: _price("kms_key"),
    "aws_cloudwatch_metric_alarm": lambda config: _price("cloudwatch_alarm"),
    "aws_cloudwatch_log_metric_filter": lambda config: _price("cloudwatch_custom_metric") * len(config.get("metric_transformation") or [1]),
    "aws_dynamodb_table": _table,
}
# Resource type -> what it adds to the monthly price later, as it ages.
LATER: dict[str, Callable[[Mapping[str, Any]], float]] = {"aws_kms_key": _rotated_key_material}


@dataclass(frozen=True)
class Cost:
    before: float
    after: float
    by_type: dict[str, tuple[float, float]]  # resource type -> (before, after)
    later_before: float = 0.0  # what the prices above grow by as resources age (key rotations)
    later_after: float = 0.0

    @property
    def delta(self) -> float:
        return self.after - self.before


def fixed_monthly_cost(changes: Iterable[Mapping[str, Any]]) -> Cost:
    """Sums over every managed resource in the plan: `before` is what exists, `after` what will."""
    by_type: dict[str, list[float]] = {}
    later = [0.0, 0.0]
    for change in changes:
        price = MONTHLY.get(change["type"])
        if price is None:
            continue
        aged = LATER.get(change["type"], lambda config: 0.0)
        body = change["change"]
        totals = by_type.setdefault(change["type"], [0.0, 0.0])
        # A forgotten resource leaves Terraform, not the bill.
        after = body.get("before") if "forget" in body["actions"] else body.get("after")
        for side, config in enumerate((body.get("before"), after)):
            if config is not None:
                totals[side] += price(config)
                later[side] += aged(config)
    return Cost(
        before=sum(b for b, _ in by_type.values()),
        after=sum(a for _, a in by_type.values()),
        by_type={t: (b, a) for t, (b, a) in sorted(by_type.items())},
        later_before=later[0],
        later_after=later[1],
    )


def markdown(cost: Cost) -> list[str]:
    sign = "+" if cost.delta >= 0 else "-"
    aged = []
    if cost.later_before or cost.later_after:
        aged = [
            f"Once its KMS keys have rotated twice (two rotation periods, a year each by default): "
            f"**${cost.before + cost.later_before:,.2f} → ${cost.after + cost.later_after:,.2f}** a month.",
            "",
        ]
    lines = [
        "### Cost (us-east-1, list prices)",
        "",
        f"Fixed monthly cost: **${cost.before:,.2f} → ${cost.after:,.2f}** ({sign}${abs(cost.delta):,.2f} a month)",
        "",
        *aged,
        "<details>",
        "<summary>By resource type, and the usage-priced parts</summary>",
        "",
        "| resource type | before | after |",
        "|---|---|---|",
        *[f"| {t} | ${b:,.2f} | ${a:,.2f} |" for t, (b, a) in cost.by_type.items()],
        "",
        "| priced by use | USD | per |",
        "|---|---|---|",
        *[f"| {u['service']} | {u['usd']:g} | {u['per']} |" for u in PRICING["usage"]],
        "",
        f"Prices from AWS's pricing pages, checked {PRICING['checked']} (`tools/pricing/us-east-1.json`).",
        "",
        "</details>",
        "",
    ]
    return lines
