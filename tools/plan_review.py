"""Review a Terraform plan for a pull-request comment: risks first, then counts and changes.

    terraform show -json plan.bin > plan.json
    python -m tools.plan_review plan.json [--fail-on-risk]

Prints Markdown. Risk flags: deletion or replacement of stateful resources (DynamoDB tables, S3
buckets, KMS keys, log groups); IAM changes, with the actions added and removed; changes that
widen exposure (a public access block relaxed, a bucket policy allowing principal "*", an API
method no longer requiring a key, a viewer protocol allowing http); tags drifting from
Environment=Production. With --fail-on-risk the exit code is 2 when any risk is flagged.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

STATEFUL = {"aws_dynamodb_table", "aws_s3_bucket", "aws_kms_key", "aws_cloudwatch_log_group"}
IAM_POLICY_ATTRIBUTES = {
    "aws_iam_policy": "policy",
    "aws_iam_role_policy": "policy",
    "aws_iam_role": "assume_role_policy",
}
PUBLIC_ACCESS_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
REQUIRED_TAGS = {"Environment": "Production"}


@dataclass(frozen=True)
class Risk:
    kind: str
    address: str
    detail: str


def action_of(change: Mapping[str, Any]) -> str:
    actions = change["change"]["actions"]
    if actions in (["delete", "create"], ["create", "delete"]):
        return "replace"
    return actions[0] if len(actions) == 1 else "+".join(actions)


def _policy_actions(document: Any) -> set[str] | None:
    """Allowed actions of a policy JSON string; None when unknown (computed at apply)."""
    if not isinstance(document, str):
        return None
    statements = json.loads(document).get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    actions: set[str] = set()
    for statement in statements:
        if statement.get("Effect", "Allow") == "Allow":
            listed = statement.get("Action", [])
            actions |= {listed} if isinstance(listed, str) else set(listed)
    return actions


def _principal_is_anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        values = principal.get("AWS", [])
        return values == "*" or (isinstance(values, list) and "*" in values)
    return False


def _risks(change: Mapping[str, Any]) -> Iterator[Risk]:
    address, resource_type = change["address"], change["type"]
    action = action_of(change)
    before = change["change"].get("before") or {}
    after = change["change"].get("after") or {}
    unknown = change["change"].get("after_unknown") or {}

    if resource_type in STATEFUL and action in ("delete", "replace"):
        yield Risk("stateful", address, f"{action} of a stateful {resource_type}: its data goes with it")

    if resource_type in IAM_POLICY_ATTRIBUTES and action != "no-op":
        attribute = IAM_POLICY_ATTRIBUTES[resource_type]
        old = _policy_actions(before.get(attribute)) or set()
        new = _policy_actions(after.get(attribute))
        if new is None and unknown.get(attribute):
            yield Risk("iam", address, f"{action}: the {attribute} is known only after apply")
        elif new is not None and (new - old or old - new):
            parts = []
            if new - old:
                parts.append("added " + ", ".join(f"`{a}`" for a in sorted(new - old)))
            if old - new:
                parts.append("removed " + ", ".join(f"`{a}`" for a in sorted(old - new)))
            yield Risk("iam", address, f"{action}: " + "; ".join(parts))
    if resource_type == "aws_iam_role_policy_attachment" and action in ("create", "delete", "replace"):
        arn = after.get("policy_arn") or before.get("policy_arn") or "(known after apply)"
        yield Risk("iam", address, f"{action} of a policy attachment ({arn})")

    if resource_type == "aws_s3_bucket_public_access_block":
        relaxed = [flag for flag in PUBLIC_ACCESS_FLAGS if action == "delete" or after.get(flag) is False]
        if relaxed:
            yield Risk("exposure", address, "public access block relaxed: " + ", ".join(relaxed))
    if resource_type == "aws_s3_bucket_policy" and isinstance(after.get("policy"), str):
        statements = json.loads(after["policy"]).get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Effect") == "Allow" and _principal_is_anyone(statement.get("Principal")):
                yield Risk("exposure", address, f"bucket policy allows principal \"*\" ({statement.get('Sid', 'statement')})")
    if resource_type == "aws_api_gateway_method" and after.get("api_key_required") is False and before.get("api_key_required") is not False:
        yield Risk("exposure", address, "the method no longer requires an API key")
    if resource_type == "aws_cloudfront_distribution":
        behaviors = (after.get("default_cache_behavior") or []) + (after.get("ordered_cache_behavior") or [])
        if any(b.get("viewer_protocol_policy") == "allow-all" for b in behaviors):
            yield Risk("exposure", address, "a cache behavior lets viewers use http (allow-all)")

    tags = after.get("tags_all")
    if action in ("create", "update", "replace") and isinstance(tags, dict):
        drift = {k: tags.get(k) for k, v in REQUIRED_TAGS.items() if tags.get(k) != v}
        if drift:
            yield Risk("tags", address, "tags drift: " + ", ".join(f"{k}={v!r}" for k, v in drift.items()))


@dataclass(frozen=True)
class Review:
    risks: list[Risk]
    counts: Counter
    changes: list[tuple[str, str, str]]  # (action, address, type)

    def markdown(self) -> str:
        lines = ["## Terraform plan review", ""]
        if self.risks:
            lines += [f"### :warning: {len(self.risks)} risk(s)", ""]
            lines += [f"- **{r.kind}** `{r.address}`: {r.detail}" for r in self.risks]
        else:
            lines += ["### No risks flagged"]
        lines += ["", "### Changes", ""]
        order = ("create", "update", "replace", "delete")
        summary = ", ".join(f"{self.counts.get(a, 0)} to {a}" for a in order)
        lines += [f"**{summary}**", ""]
        if self.changes:
            lines += ["| action | resource | type |", "|---|---|---|"]
            lines += [f"| {action} | `{address}` | {resource_type} |" for action, address, resource_type in self.changes]
        else:
            lines += ["No changes."]
        return "\n".join(lines) + "\n"


def review(plan: Mapping[str, Any]) -> Review:
    changes = [c for c in plan.get("resource_changes", []) if c.get("mode") == "managed"]
    acting = [c for c in changes if action_of(c) not in ("no-op", "read")]
    return Review(
        risks=[risk for change in acting for risk in _risks(change)],
        counts=Counter(action_of(c) for c in acting),
        changes=[(action_of(c), c["address"], c["type"]) for c in acting],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Markdown review of a `terraform show -json` plan")
    parser.add_argument("plan_json", type=Path)
    parser.add_argument("--fail-on-risk", action="store_true", help="exit 2 when any risk is flagged")
    args = parser.parse_args(argv)
    result = review(json.loads(args.plan_json.read_text()))
    sys.stdout.write(result.markdown())
    return 2 if args.fail_on_risk and result.risks else 0


if __name__ == "__main__":
    sys.exit(main())
