"""IAM: what a change lets principals do."""

from __future__ import annotations

import json
from collections.abc import Iterator

from review.plan_rules.base import LISTED, SENSITIVE, Example, PlannedChange, code, plan_rule, strings
from review.plan_rules.policies import policy_widening, statements_of

IAM_POLICY_ATTRIBUTES = {
    "aws_iam_policy": "policy",
    "aws_iam_role_policy": "policy",
    "aws_iam_user_policy": "policy",
    "aws_iam_group_policy": "policy",
    "aws_iam_role": "assume_role_policy",
}
# Resources that are one resource policy: deleting one takes its Denies with it.
POLICY_RESOURCES = {"aws_s3_bucket_policy", "aws_sns_topic_policy", "aws_sqs_queue_policy"}
# Resources with a policy AWS supplies when none is set: an unknown one there grants nothing new.
COMPUTED_POLICIES = {"aws_kms_key", "aws_sns_topic", "aws_sqs_queue"}
RESOURCE_POLICY_ATTRIBUTES = dict.fromkeys(sorted(POLICY_RESOURCES | COMPUTED_POLICIES), "policy")
POLICY_ATTRIBUTES = {**IAM_POLICY_ATTRIBUTES, **RESOURCE_POLICY_ATTRIBUTES}
ATTACHMENTS = {
    "aws_iam_role_policy_attachment",
    "aws_iam_user_policy_attachment",
    "aws_iam_group_policy_attachment",
    "aws_iam_policy_attachment",
}


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


_READ = {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}


@plan_rule(
    "I1",
    "iam",
    "Policy grants more, or cannot be read",
    "Every Allow of an IAM or resource policy that is new or wider (actions, NotAction, resources, principals, "
    "conditions removed or changed), an Allow only narrowed worded as such, Denies removed or loosened, actions no "
    "longer allowed; a policy known only after apply (unless AWS supplies the default), sensitive or unreadable; a "
    "bucket, topic or queue policy deleted with its Denies.",
    types=set(POLICY_ATTRIBUTES),
    actions={"create", "update", "replace", "delete"},
    flagged=Example("aws_iam_policy", ("update",), {"policy": _policy(_READ)}, {"policy": _policy({**_READ, "Action": "s3:*"})}),
    unflagged=Example("aws_iam_policy", ("update",), {"policy": _policy(_READ)}, {"policy": _policy(_READ), "description": "read"}),
)
def policy_changed(c: PlannedChange) -> Iterator[str]:
    if c.action == "delete" and c.type not in POLICY_RESOURCES:
        return
    attribute = POLICY_ATTRIBUTES[c.type]
    new = c.after.get(attribute)
    if c.unknown_at(attribute):
        if c.type not in COMPUTED_POLICIES:
            yield f"{c.action}: the {attribute} is known only after apply"
    elif new == SENSITIVE or c.before.get(attribute) == SENSITIVE:
        yield f"{c.action}: the {attribute} is sensitive, so its change is not shown"
    elif statements_of(new) is None and new is not None:
        yield f"{c.action}: the {attribute} is not a readable policy document"
    else:
        parts = policy_widening(c.before.get(attribute), new)
        if len(parts) > LISTED:
            parts = parts[:LISTED] + [f"and {len(parts) - LISTED} more changes"]
        if parts:
            yield f"{c.action}: " + "; ".join(parts)


@plan_rule(
    "I2",
    "iam",
    "Role policies outside attachments",
    "Inline policies or `managed_policy_arns` on a role bypass the policy attachments and their review.",
    types={"aws_iam_role"},
    flagged=Example(
        "aws_iam_role", ("update",), {"name": "r"}, {"name": "r", "managed_policy_arns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}
    ),
    unflagged=Example("aws_iam_role", ("update",), {"name": "r"}, {"name": "r", "description": "the function's role"}),
)
def role_policies(c: PlannedChange) -> Iterator[str]:
    if c.after.get("inline_policy") not in (None, [], c.before.get("inline_policy")):
        yield "inline policies changed (they bypass policy attachments and their review)"
    if set(strings(c.after.get("managed_policy_arns"))) - set(strings(c.before.get("managed_policy_arns"))):
        yield "managed policies attached through `managed_policy_arns`"


@plan_rule(
    "I3",
    "iam",
    "Policy attachment added or removed",
    "Attaching a policy grants all of it at once; removing one can break a caller or take a Deny away.",
    types=ATTACHMENTS,
    actions={"create", "delete", "replace"},
    flagged=Example(
        "aws_iam_role_policy_attachment", ("create",), None, {"role": "r", "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
    ),
    unflagged=Example("aws_iam_role_policy_attachment", ("no-op",), {"role": "r"}, {"role": "r"}),
)
def attachment_changed(c: PlannedChange) -> Iterator[str]:
    arn = c.after.get("policy_arn") or c.before.get("policy_arn") or "(known after apply)"
    yield f"{c.action} of a policy attachment ({code(arn)})"
