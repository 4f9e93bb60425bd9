"""Exposure: who can now reach what they could not (the firewall's rules: review/plan_rules/waf.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from constructs_lib.api_snapshot import snapshotted
from review.plan_rules.base import Example, PlannedChange, blocks, code, first_block, listing, plan_rule, strings
from review.plan_rules.iam import RESOURCE_POLICY_ATTRIBUTES
from review.plan_rules.policies import ANYONE, changed_allows, principals, statements_of

PUBLIC_ACCESS_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
# Policies whose principals are outside the account's IAM: who they let in is exposure.
PRINCIPAL_POLICIES = {**RESOURCE_POLICY_ATTRIBUTES, "aws_iam_role": "assume_role_policy"}
_BLOCKED = dict.fromkeys(PUBLIC_ACCESS_FLAGS, True)


@plan_rule(
    "E1",
    "exposure",
    "Public access block relaxed",
    "A bucket's public access block switched off flag by flag (or deleted) lets a policy or ACL make it public.",
    types={"aws_s3_bucket_public_access_block"},
    actions={"create", "update", "replace", "delete"},
    flagged=Example("aws_s3_bucket_public_access_block", ("update",), _BLOCKED, {**_BLOCKED, "block_public_policy": False}),
    unflagged=Example("aws_s3_bucket_public_access_block", ("create",), None, _BLOCKED),
)
def public_access_block_relaxed(c: PlannedChange) -> Iterator[str]:
    relaxed = [
        flag for flag in PUBLIC_ACCESS_FLAGS if c.action == "delete" or (c.after.get(flag) is False and c.before.get(flag) is not False)
    ]
    if relaxed:
        yield "public access block relaxed: " + ", ".join(relaxed)


_METHOD = {"http_method": "POST", "api_key_required": True, "authorization": "NONE"}


@plan_rule(
    "E2",
    "exposure",
    "API method open to callers without a key",
    "A method that no longer requires an API key or authorization, or a new one that needs neither, answers anyone.",
    types={"aws_api_gateway_method"},
    flagged=Example("aws_api_gateway_method", ("update",), _METHOD, {**_METHOD, "api_key_required": False}),
    unflagged=Example("aws_api_gateway_method", ("create",), None, _METHOD),
)
def api_method_open(c: PlannedChange) -> Iterator[str]:
    if c.action in ("update", "replace"):
        if c.after.get("api_key_required") is False and c.before.get("api_key_required") is True:
            yield "the method no longer requires an API key"
        if c.after.get("authorization") == "NONE" and c.before.get("authorization") not in (None, "NONE"):
            yield f"the method no longer requires {code(c.before.get('authorization'))} authorization"
    if c.action == "create" and c.after.get("api_key_required") is False and c.after.get("authorization") == "NONE":
        yield f"a new {code(c.after.get('http_method'))} method that needs neither an API key nor authorization"


def _behavior(policy: str) -> dict[str, Any]:
    return {"default_cache_behavior": [{"viewer_protocol_policy": policy}]}


@plan_rule(
    "E3",
    "exposure",
    "Viewers allowed on http",
    "A cache behavior with `allow-all` serves viewers over plain http.",
    types={"aws_cloudfront_distribution"},
    flagged=Example("aws_cloudfront_distribution", ("update",), _behavior("redirect-to-https"), _behavior("allow-all")),
    unflagged=Example("aws_cloudfront_distribution", ("create",), None, _behavior("redirect-to-https")),
)
def distribution_http(c: PlannedChange) -> Iterator[str]:
    behaviors = blocks(c.after.get("default_cache_behavior")) + blocks(c.after.get("ordered_cache_behavior"))
    if any(b.get("viewer_protocol_policy") == "allow-all" for b in behaviors):
        yield "a cache behavior lets viewers use http (allow-all)"


def _geo(kind: str, locations: list[str] | None) -> dict[str, Any]:
    return {"restrictions": [{"geo_restriction": [{"restriction_type": kind, "locations": locations}]}]}


@plan_rule(
    "E4",
    "exposure",
    "Distribution refuses fewer countries",
    "Countries the distribution's geo restriction stops refusing (the same list the API's firewall blocks).",
    types={"aws_cloudfront_distribution"},
    actions={"update", "replace"},
    flagged=Example("aws_cloudfront_distribution", ("update",), _geo("blacklist", ["CU", "KP"]), _geo("none", None)),
    unflagged=Example("aws_cloudfront_distribution", ("update",), _geo("blacklist", ["CU"]), _geo("blacklist", ["CU", "KP"])),
)
def distribution_geo(c: PlannedChange) -> Iterator[str]:
    def refused(side: Mapping[str, Any]) -> set[str]:
        geo = first_block(first_block(side, "restrictions"), "geo_restriction")
        return set(strings(geo.get("locations"))) if geo.get("restriction_type") == "blacklist" else set()

    allowed_again = refused(c.before) - refused(c.after)
    if allowed_again:
        yield "the distribution no longer refuses viewers from " + listing(sorted(allowed_again))


@plan_rule(
    "E5",
    "exposure",
    "Part of the REST API deleted, still served",
    "The apply deploys the API before it deletes what was removed from it (create_before_destroy), so the stage's "
    'new snapshot still holds the removed method, route or response (docs/security.md, "Changes that reach the live API").',
    actions={"delete"},
    flagged=Example("aws_api_gateway_gateway_response", ("delete",), {"rest_api_id": "abc123", "response_type": "BAD_REQUEST_BODY"}, None),
    unflagged=Example("aws_api_gateway_stage", ("delete",), {"rest_api_id": "abc123", "stage_name": "v1"}, None),
)
def api_part_deleted(c: PlannedChange) -> Iterator[str]:
    if c.before.get("rest_api_id") and snapshotted(c.type):
        yield (
            "removed from the API, but the live stage keeps serving it until a deployment made after this apply "
            '(docs/security.md, "Changes that reach the live API")'
        )


def _topic_policy(principal: Any) -> dict[str, str]:
    statement = {"Sid": "Publish", "Effect": "Allow", "Principal": principal, "Action": "sns:Publish", "Resource": "*"}
    return {"policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})}


@plan_rule(
    "E6",
    "exposure",
    "Policy allows anyone",
    "A new or changed Allow to principal `*` in a resource or trust policy: anyone on the internet, bar its conditions.",
    types=set(PRINCIPAL_POLICIES),
    flagged=Example("aws_sns_topic_policy", ("update",), _topic_policy({"Service": "cloudwatch.amazonaws.com"}), _topic_policy("*")),
    unflagged=Example("aws_sns_topic_policy", ("create",), None, _topic_policy({"Service": "cloudwatch.amazonaws.com"})),
)
def open_to_anyone(c: PlannedChange) -> Iterator[str]:
    attribute = PRINCIPAL_POLICIES[c.type]
    old, new = statements_of(c.before.get(attribute)) or [], statements_of(c.after.get(attribute)) or []
    opened = [name for name, statement, _ in changed_allows(old, new) if ANYONE & principals(statement.get("Principal"))]
    if opened:
        yield f"the {attribute} allows principal `*` (anyone): " + listing(opened)


_PERMISSION = {"principal": "apigateway.amazonaws.com", "source_arn": "arn:aws:execute-api:us-east-1:123456789012:abc/*/POST/process"}


@plan_rule(
    "E7",
    "exposure",
    "Function invocable from anywhere",
    "A Lambda permission without a source ARN lets the service invoke the function for anyone's resource; one for "
    "`*` or an account lets that account invoke it.",
    types={"aws_lambda_permission"},
    flagged=Example("aws_lambda_permission", ("create",), None, {**_PERMISSION, "source_arn": None}),
    unflagged=Example("aws_lambda_permission", ("create",), None, _PERMISSION),
)
def lambda_permission_open(c: PlannedChange) -> Iterator[str]:
    principal = c.after.get("principal")
    if not c.after.get("source_arn") and not c.unknown_at("source_arn"):
        yield f"lets {code(principal)} invoke the function from any source (no `source_arn`)"
    # A service principal is AWS's; "*" or an account (an ID or an ARN) is someone's.
    if isinstance(principal, str) and not principal.endswith(".amazonaws.com") and principal != c.before.get("principal"):
        yield f"lets {'anyone' if principal == '*' else 'account'} {code(principal)} invoke the function"
