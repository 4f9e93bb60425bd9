"""The stack's fixed monthly cost before and after a plan, from the pricing table in review/pricing.

Only what costs money by merely existing is summed: web ACLs and their rules, KMS keys, alarms
(by the metrics they read and their resolution), the custom metrics log metric filters publish,
and provisioned DynamoDB capacity. Everything else is priced by use; the review lists those unit
prices beside the sum, each with the AWS pricing page it comes from.

A key with automatic rotation costs more as it ages: each of its first two rotations keeps old key
material at $1 a month. The review sums that too, as the cost once every key has rotated twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from review.plan_rules.waf import DEFAULT_INSPECTION_KB, inspection_limits
from stacks.facts import REGION

# Prices of the one region the stack deploys in.
PRICING_FILE = Path(__file__).resolve().parent / "pricing" / f"{REGION}.json"
PRICING = json.loads(PRICING_FILE.read_text())


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


def _alarm(config: Mapping[str, Any]) -> float:
    """AWS bills an alarm per metric it reads: each metric of a metric-math alarm, and for an anomaly
    detection alarm the band's two bounds too (3 for one metric); at the high-resolution price when
    any of them is read more often than once a minute."""
    metrics = [m for query in config.get("metric_query") or [] for m in query.get("metric") or []]
    count = max(len(metrics), 1) + (2 if config.get("threshold_metric_id") else 0)
    periods = [config.get("period"), *(m.get("period") for m in metrics)]
    high_resolution = any(isinstance(p, int) and 0 < p < 60 for p in periods)
    return count * _price("cloudwatch_alarm_high_resolution" if high_resolution else "cloudwatch_alarm")


def _rotated_key_material(config: Mapping[str, Any]) -> float:
    """What a key's automatic rotations add once it has rotated twice (AWS charges only the first two)."""
    return 2 * _price("kms_key_rotation") if config.get("enable_key_rotation") else 0.0


# Resource type -> its fixed monthly price, from its planned (or prior) configuration.
MONTHLY: dict[str, Callable[[Mapping[str, Any]], float]] = {
    "aws_wafv2_web_acl": _web_acl,
    "aws_kms_key": lambda config: _price("kms_key"),
    "aws_cloudwatch_metric_alarm": _alarm,
    "aws_cloudwatch_dashboard": lambda config: _price("cloudwatch_dashboard"),
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
    # Settings after the plan that make use cost more, each a sentence with its price.
    usage_notes: tuple[str, ...] = ()

    @property
    def delta(self) -> float:
        return self.after - self.before


def _usage_price(service: str) -> Mapping[str, Any]:
    (price,) = [u for u in PRICING["usage"] if u["service"] == service]
    return price


def _inspection_note(change: Mapping[str, Any]) -> list[str]:
    """A web ACL that inspects more of request bodies than the default pays per large request."""
    after = change["change"].get("after") or {}
    raised = {resource: kb for resource, kb in inspection_limits(after).items() if kb > DEFAULT_INSPECTION_KB}
    price = _usage_price("WAF body inspection beyond 16 KB")
    return [
        f"`{after.get('name', change['address'])}` inspects {resource} request bodies up to {kb} KB: each request whose body "
        f"exceeds {DEFAULT_INSPECTION_KB} KB costs ${price['usd']:g} per million more for each further {DEFAULT_INSPECTION_KB} KB "
        f"inspected (up to ${price['usd'] * (kb - DEFAULT_INSPECTION_KB) / DEFAULT_INSPECTION_KB:g} per million requests)."
        for resource, kb in sorted(raised.items())
    ]


def fixed_monthly_cost(changes: Iterable[Mapping[str, Any]]) -> Cost:
    """Sums over every managed resource in the plan: `before` is what exists, `after` what will."""
    by_type: dict[str, list[float]] = {}
    later = [0.0, 0.0]
    notes: list[str] = []
    for change in changes:
        if change["type"] == "aws_wafv2_web_acl":
            notes += _inspection_note(change)
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
        usage_notes=tuple(notes),
    )


def as_json(cost: Cost) -> dict[str, Any]:
    return {
        "monthly_before": round(cost.before, 2),
        "monthly_after": round(cost.after, 2),
        # Once every KMS key has rotated twice: each rotation keeps key material at $1 a month.
        "monthly_before_aged": round(cost.before + cost.later_before, 2),
        "monthly_after_aged": round(cost.after + cost.later_after, 2),
        "by_type": {t: {"monthly_before": round(b, 2), "monthly_after": round(a, 2)} for t, (b, a) in cost.by_type.items()},
        "usage_notes": list(cost.usage_notes),
        "unit_prices": {"fixed": PRICING["fixed"], "usage": PRICING["usage"], "checked": PRICING["checked"]},
    }


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
        f"### Cost ({REGION}, list prices)",
        "",
        f"Fixed monthly cost: **${cost.before:,.2f} → ${cost.after:,.2f}** ({sign}${abs(cost.delta):,.2f} a month)",
        "",
        *aged,
        *[line for note in cost.usage_notes for line in (note, "")],
        "<details>",
        "<summary>By resource type, and the unit prices with their AWS pricing pages</summary>",
        "",
        "| resource type | before | after |",
        "|---|---|---|",
        *[f"| {t} | ${b:,.2f} | ${a:,.2f} |" for t, (b, a) in cost.by_type.items()],
        "",
        "| priced by existence | USD | per | source |",
        "|---|---|---|---|",
        *[f"| {name} | {p['usd']:g} | {p['per']} | <{p['source']}> |" for name, p in PRICING["fixed"].items()],
        "",
        "| priced by use | USD | per | source |",
        "|---|---|---|---|",
        *[f"| {u['service']} | {u['usd']:g} | {u['per']} | <{u['source']}> |" for u in PRICING["usage"]],
        "",
        f"Prices from the AWS pricing pages linked above, checked {PRICING['checked']} (`review/pricing/{PRICING_FILE.name}`).",
        "",
        "</details>",
        "",
    ]
    return lines
