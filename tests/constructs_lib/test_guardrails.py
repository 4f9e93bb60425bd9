"""Synth-time guardrails (cdktf Aspect): each rule fires, naming the resource, on a broken stack;
acknowledgements silence one rule under one construct, and only with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cdktf import Fn, TerraformIterator, TerraformStack, TerraformVariable, Testing
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument, DataAwsIamPolicyDocumentStatement
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole, IamRoleInlinePolicy
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from constructs import Construct

from constructs_lib import guardrails
from constructs_lib.guardrails import RULES, Rule, SynthesizedStack, acknowledge, apply_guardrails
from constructs_lib.iam import Statement, policy_document, policy_json

TAGS = {"Environment": "Production"}
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}],
    }
)
REASON = "The exporter reads every object it is handed; names are unknown at deploy"


def _stack(region: str = "us-east-1", rules: tuple[Rule, ...] = RULES) -> TerraformStack:
    stack = TerraformStack(Testing.app(), "broken")
    AwsProvider(stack, "aws", region=region, default_tags=[AwsProviderDefaultTags(tags=TAGS)])
    apply_guardrails(stack, region="us-east-1", required_tags=TAGS, rules=rules)
    return stack


def _private_bucket(stack: Construct, id_: str, flags: bool = True, encrypted: bool = True, **bucket_args) -> S3Bucket:
    bucket = S3Bucket(stack, id_, bucket=id_, **bucket_args)
    S3BucketPublicAccessBlock(
        stack,
        f"{id_}-pab",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=flags,
    )
    if encrypted:
        S3BucketServerSideEncryptionConfigurationA(
            stack,
            f"{id_}-sse",
            bucket=bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="AES256"
                    )
                )
            ],
        )
    return bucket


def _wide_policy(scope: Construct, id_: str) -> IamPolicy:
    return IamPolicy(scope, id_, name=id_, policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))


def _refused(stack: TerraformStack, *fragments: str) -> str:
    with pytest.raises(Exception) as failure:
        Testing.synth(stack, True)
    message = str(failure.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def _full_synth(stack: TerraformStack) -> tuple[dict, dict]:
    """The stack's cdk.tf.json and manifest.json, written the way `cdktf synth` writes them."""
    outdir = Path(Testing.full_synth(stack))
    manifest = json.loads((outdir / "manifest.json").read_text())
    stack_dir = outdir / manifest["stacks"][stack.node.id]["workingDirectory"]
    return json.loads((stack_dir / "cdk.tf.json").read_text()), manifest


def test_rules_are_records_and_the_docstring_table_matches_them():
    assert [rule.id for rule in RULES] == ["GR1", "GR2", "GR3", "GR4", "GR5"]
    assert {rule.severity for rule in RULES} == {"error"}
    assert all(rule.name and rule.explanation for rule in RULES)
    rows = [line for line in guardrails.__doc__.splitlines() if line.startswith("| GR")]
    assert rows == [f"| {rule.id} | {rule.name} | {rule.severity} |" for rule in RULES]


def test_a_compliant_stack_synthesizes():
    stack = _stack()
    _private_bucket(stack, "fine-bucket")
    IamRole(stack, "role", name="role", assume_role_policy=TRUST)
    assert json.loads(Testing.synth(stack, True))["resource"]["aws_s3_bucket"]


def test_each_finding_is_followed_by_its_rules_explanation():
    stack = _stack()
    S3Bucket(stack, "bare", bucket="bare")
    role = IamRole(stack, "role", name="role", assume_role_policy=TRUST)
    IamRolePolicy(stack, "inline", role=role.name, policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
    lines = _refused(stack).splitlines()
    explained = [(lines[i + 1].strip(), rule) for i, line in enumerate(lines) for rule in RULES if f"guardrail [{rule.id} " in line]
    assert [rule.id for _, rule in explained] == ["GR1", "GR3", "GR3"], lines
    for why, rule in explained:
        assert why == f"why: {rule.explanation}"


def test_an_inline_role_policy_is_refused():
    stack = _stack()
    role = IamRole(stack, "role", name="role", assume_role_policy=TRUST)
    IamRolePolicy(stack, "inline", role=role.name, policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
    _refused(stack, "[GR1 no-inline-policies] aws_iam_role_policy.inline (broken/inline)", "aws_iam_role_policy_attachment")


def test_a_role_with_inline_policy_or_managed_policy_arns_is_refused():
    stack = _stack()
    IamRole(stack, "inline-role", name="a", assume_role_policy=TRUST, inline_policy=[IamRoleInlinePolicy(name="x", policy="{}")])
    IamRole(stack, "exclusive-role", name="b", assume_role_policy=TRUST, managed_policy_arns=["arn:aws:iam::aws:policy/ReadOnlyAccess"])
    _refused(
        stack,
        "[GR1 no-inline-policies] aws_iam_role.inline-role (broken/inline-role): sets inline_policy",
        "[GR1 no-inline-policies] aws_iam_role.exclusive-role (broken/exclusive-role): sets managed_policy_arns",
    )


def test_a_wildcard_action_is_refused_however_the_policy_is_written():
    stack = _stack()
    bucket = _private_bucket(stack, "bucket")
    document = policy_document(stack, "document", [Statement(sid="All", actions=["s3:*"], resources=["*"])])
    IamPolicy(stack, "wide", name="wide", policy=document.json)
    IamPolicy(stack, "minified", name="minified", policy=document.minified_json)
    IamPolicy(stack, "literal", name="literal", policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    # Function calls, bare and interpolated, hold commas and quotes that are not the policy's own
    # and come before the wildcard statement: misread, they would hide it.
    calls = [Fn.join(",", [bucket.arn, "x"]), f"{Fn.join('-', ['a', bucket.bucket])}/*"]
    encoded = policy_json(
        [
            Statement(sid="Read", actions=["s3:GetObject"], resources=calls),
            Statement(sid="Wide", actions=["s3:Get*"], resources=[bucket.arn]),
        ]
    )
    IamPolicy(stack, "encoded", name="encoded", policy=encoded)
    # Written by hand: a bare key, newline-separated items, `:`, an escaped quote, braces in an
    # interpolation and in a function call, and IAM's other wildcard; each misread hides the wildcard.
    by_hand = (
        "${jsonencode({\n"
        "  Statement = [{\n"
        '    "Sid" = "Say \\"hi\\" to ${replace("a}b", "}", "")}"\n'
        '    "Condition" = merge({"Bool" = {"aws:SecureTransport" = "true"}}, {})\n'
        '    "Effect": "Allow"\n'
        '    "Action" = "s3:Get?bject"\n'
        "  }]\n"
        "})}"
    )
    IamPolicy(stack, "by-hand", name="by-hand", policy=by_hand)
    _refused(
        stack,
        "[GR2 no-wildcard-actions] aws_iam_policy.wide (broken/wide): allows wildcard action(s) s3:*",
        "[GR2 no-wildcard-actions] aws_iam_policy.minified (broken/minified): allows wildcard action(s) s3:*",
        "[GR2 no-wildcard-actions] aws_iam_policy.literal (broken/literal): allows wildcard action(s) *",
        "[GR2 no-wildcard-actions] aws_iam_policy.encoded (broken/encoded): allows wildcard action(s) s3:Get*",
        "[GR2 no-wildcard-actions] aws_iam_policy.by-hand (broken/by-hand): allows wildcard action(s) s3:Get?bject",
    )


def test_an_allow_with_not_actions_is_refused():
    stack = _stack()
    document = DataAwsIamPolicyDocument(
        stack, "document", statement=[DataAwsIamPolicyDocumentStatement(not_actions=["iam:PassRole"], resources=["*"])]
    )
    IamPolicy(stack, "all-but", name="all-but", policy=document.json)
    IamPolicy(
        stack,
        "literal",
        name="literal",
        policy=json.dumps({"Statement": [{"Effect": "Allow", "NotAction": ["s3:DeleteBucket"], "Resource": "*"}]}),
    )
    _refused(
        stack,
        "[GR2 no-wildcard-actions] aws_iam_policy.all-but (broken/all-but): allows every action but iam:PassRole (NotAction)",
        "[GR2 no-wildcard-actions] aws_iam_policy.literal (broken/literal): allows every action but s3:DeleteBucket (NotAction)",
    )


def test_statements_merged_from_source_and_override_documents_are_read():
    stack = _stack()
    narrow = [Statement(sid="Read", actions=["s3:GetObject"], resources=["*"])]
    wide = policy_document(stack, "wide", [Statement(sid="All", actions=["s3:*"], resources=["*"])])
    widest = policy_document(stack, "widest", [Statement(sid="Read", actions=["*"], resources=["*"])])
    sourced = DataAwsIamPolicyDocument(stack, "sourced", statement=[s.render() for s in narrow], source_policy_documents=[wide.json])
    overridden = DataAwsIamPolicyDocument(
        stack, "overridden", statement=[s.render() for s in narrow], override_policy_documents=[widest.json]
    )
    IamPolicy(stack, "sourced-policy", name="a", policy=sourced.json)
    IamPolicy(stack, "overridden-policy", name="b", policy=overridden.json)
    _refused(
        stack,
        "aws_iam_policy.sourced-policy (broken/sourced-policy): allows wildcard action(s) s3:*",
        "aws_iam_policy.overridden-policy (broken/overridden-policy): allows wildcard action(s) *",
    )


def test_every_policy_resource_with_a_policy_is_checked_not_only_aws_iam_policy():
    stack = _stack()
    bucket = _private_bucket(stack, "bucket")
    role = IamRole(stack, "role", name="role", assume_role_policy=TRUST)
    wide = json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Principal": "*"}]})
    IamRolePolicy(stack, "inline", role=role.name, policy=wide)
    S3BucketPolicy(stack, "bucket-policy", bucket=bucket.id, policy=wide)
    _refused(
        stack,
        "[GR2 no-wildcard-actions] aws_iam_role_policy.inline (broken/inline): allows wildcard action(s) s3:*",
        "[GR2 no-wildcard-actions] aws_s3_bucket_policy.bucket-policy (broken/bucket-policy): allows wildcard action(s) s3:*",
    )


def test_a_policy_whose_actions_cannot_be_read_is_refused():
    stack = _stack()
    actions = TerraformVariable(stack, "actions", type="list(string)")
    verb = TerraformVariable(stack, "verb", type="string")
    policy = TerraformVariable(stack, "policy", type="string")
    policies = TerraformVariable(stack, "policies", type="list(string)")
    each = TerraformIterator.from_list(actions.list_value)
    computed = DataAwsIamPolicyDocument(
        stack, "computed", statement=[DataAwsIamPolicyDocumentStatement(actions=actions.list_value, resources=["*"])]
    )
    dynamic = DataAwsIamPolicyDocument(stack, "dynamic", statement=each.dynamic({"actions": [each.value], "resources": ["*"]}))
    sourced = DataAwsIamPolicyDocument(stack, "sourced", source_policy_documents=policies.list_value)
    unreadable = {
        "missing": ("${data.aws_iam_policy_document.missing.json}", "data.aws_iam_policy_document.missing is not in this stack"),
        "variable": (policy.string_value, "it is neither JSON, a jsonencode(...) nor a policy document reference (${var.policy})"),
        "garbage": ("not a policy", "it is neither JSON"),
        "computed-document": (computed.json, "the value of actions is only known to Terraform (${var.actions})"),
        "dynamic-document": (dynamic.json, "data.aws_iam_policy_document.dynamic makes statements in a dynamic block"),
        "sourced-document": (sourced.json, "data.aws_iam_policy_document.sourced's source_policy_documents are only known to Terraform"),
        "no-statement": (json.dumps({"Version": "2012-10-17"}), "its Statement is not a list of literal statements"),
        "computed-encoded": (
            Fn.jsonencode({"Statement": [{"Effect": "Allow", "Action": actions.list_value, "Resource": "*"}]}),
            "the value of Action is only known to Terraform (var.actions)",
        ),
        "interpolated-literal": (
            json.dumps({"Statement": [{"Effect": "Allow", "Action": f"s3:{verb.string_value}", "Resource": "*"}]}),
            "the value of Action is only known to Terraform (s3:${var.verb})",
        ),
        "broken-encoded": ('${jsonencode({"Statement" = [})}', "its jsonencode(...) argument is unreadable"),
    }
    for id_, (text, _) in unreadable.items():
        IamPolicy(stack, id_, name=id_, policy=text)
    IamPolicy(stack, "object", name="object", policy="{}").add_override("policy", {"Statement": []})
    unreadable["object"] = (None, "it is not a string ({'Statement': []})")
    _refused(
        stack,
        *(
            f"[GR2 no-wildcard-actions] aws_iam_policy.{id_} (broken/{id_}): cannot prove no wildcard action: {reason}"
            for id_, (_, reason) in unreadable.items()
        ),
    )


def test_readable_policies_without_wildcards_synthesize():
    stack = _stack()
    bucket = _private_bucket(stack, "bucket")
    # Function calls, bare and interpolated, hold commas and quotes that are not the policy's.
    resources = [f"{bucket.arn}/*", Fn.join(",", [bucket.arn, "x"]), f"{Fn.join('-', ['a', bucket.bucket])}/*"]
    read = [Statement(sid="Read", actions=["s3:GetObject"], resources=resources)]
    document = policy_document(stack, "document", read)
    merged = DataAwsIamPolicyDocument(stack, "merged", statement=[s.render() for s in read], source_policy_documents=[document.json])
    IamPolicy(stack, "from-document", name="a", policy=merged.json)
    IamPolicy(stack, "encoded", name="b", policy=policy_json(read))
    IamPolicy(stack, "literal", name="c", policy=json.dumps({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}))
    S3BucketPolicy(stack, "bucket-policy", bucket=bucket.id, policy=document.json)
    Testing.synth(stack, True)


def test_a_wildcard_or_not_actions_in_a_deny_is_allowed():
    stack = _stack()
    document = policy_document(stack, "document", [Statement(sid="NoDeletes", effect="Deny", actions=["s3:Delete*"], resources=["*"])])
    IamPolicy(stack, "deny", name="deny", policy=document.json)
    everything_but = json.dumps({"Statement": [{"Effect": "Deny", "NotAction": ["s3:GetObject"], "Resource": "*"}]})
    IamPolicy(stack, "deny-all-but", name="deny-all-but", policy=everything_but)
    Testing.synth(stack, True)


def test_a_bucket_without_a_full_public_access_block_or_encryption_is_refused():
    stack = _stack()
    S3Bucket(stack, "bare", bucket="bare")
    _private_bucket(stack, "half-blocked", flags=False)
    _private_bucket(stack, "unencrypted", encrypted=False)
    _refused(
        stack,
        "[GR3 private-encrypted-buckets] aws_s3_bucket.bare (broken/bare): no aws_s3_bucket_public_access_block",
        "[GR3 private-encrypted-buckets] aws_s3_bucket.bare (broken/bare): no aws_s3_bucket_server_side_encryption_configuration",
        "[GR3 private-encrypted-buckets] aws_s3_bucket.half-blocked",
        "[GR3 private-encrypted-buckets] aws_s3_bucket.unencrypted (broken/unencrypted): "
        "no aws_s3_bucket_server_side_encryption_configuration",
    )


def test_a_resource_default_tags_cannot_reach_needs_the_tag_itself():
    stack = _stack()
    untagged = AwsProvider(stack, "untagged", region="us-east-1", alias="untagged")
    _private_bucket(stack, "orphan", provider=untagged)
    _private_bucket(stack, "self-tagged", provider=untagged, tags=TAGS)
    message = _refused(stack, "[GR4 environment-tag] aws_s3_bucket.orphan (broken/orphan)", "lacks Environment=Production")
    assert "self-tagged" not in message


def test_a_provider_outside_us_east_1_is_refused_naming_its_construct():
    stack = _stack(region="eu-west-1")
    AwsProvider(stack, "elsewhere", region="eu-west-2", alias="elsewhere")
    _refused(
        stack,
        "[GR5 region] provider.aws.default (broken/aws)",
        "[GR5 region] provider.aws.elsewhere (broken/elsewhere)",
        "everything runs in us-east-1",
    )


def test_an_acknowledgement_silences_its_rule_only_for_resources_at_or_under_its_construct():
    stack = _stack()
    team = Construct(stack, "team")
    acknowledge(team, "GR2", REASON)
    _wide_policy(team, "wide")
    acknowledge(_wide_policy(stack, "solo"), "GR2", REASON)
    _wide_policy(stack, "solo-twin")  # a sibling whose path merely starts with "solo"
    role = IamRole(stack, "role", name="role", assume_role_policy=TRUST)
    inline = IamRolePolicy(stack, "inline", role=role.name, policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*"}]}))
    acknowledge(inline, "GR2", REASON)
    message = _refused(
        stack,
        "[GR2 no-wildcard-actions] aws_iam_policy.solo-twin (broken/solo-twin): allows wildcard action(s) s3:*",
        "[GR1 no-inline-policies] aws_iam_role_policy.inline (broken/inline)",
    )
    assert "broken/team/wide" not in message
    assert "(broken/solo)" not in message
    assert "[GR2 no-wildcard-actions] aws_iam_role_policy.inline" not in message


def test_acknowledged_findings_are_listed_with_their_reason_in_the_resources_synthesized_metadata():
    stack = _stack()
    team = Construct(stack, "team")
    acknowledge(team, "GR2", REASON)
    wide = _wide_policy(team, "wide")
    _private_bucket(stack, "bucket")
    terraform, _ = _full_synth(stack)
    resources = terraform["resource"]
    assert resources["aws_iam_policy"][wide.friendly_unique_id]["//"]["guardrails_acknowledged"] == [
        {
            "rule": "GR2 no-wildcard-actions",
            "finding": "allows wildcard action(s) s3:*; name the actions the workload calls",
            "reason": REASON,
            "acknowledged_at": "broken/team",
        }
    ]
    assert "guardrails_acknowledged" not in resources["aws_s3_bucket"]["bucket"]["//"]


@pytest.mark.parametrize("reason", ["", "   ", "\n\t", "too short", "  nine ch  "], ids=["empty", "spaces", "blank", "nine", "padded-nine"])
def test_an_acknowledgement_whose_reason_is_under_ten_characters_fails_synthesis(reason):
    stack = _stack()
    acknowledge(_wide_policy(stack, "wide"), "GR2", reason)
    _refused(
        stack,
        "guardrail acknowledgement of GR2 on broken/wide needs a reason of at least 10 characters "
        f"saying why the finding is acceptable, got {reason!r}",
        "[GR2 no-wildcard-actions] aws_iam_policy.wide (broken/wide)",  # an invalid acknowledgement silences nothing
    )


def test_a_reason_of_ten_characters_is_enough():
    stack = _stack()
    acknowledge(_wide_policy(stack, "wide"), "GR2", "  ten chars.  ")
    Testing.synth(stack, True)


def test_acknowledging_an_unknown_rule_fails_synthesis():
    stack = _stack()
    acknowledge(_wide_policy(stack, "wide"), "GR42", REASON)
    _refused(stack, "guardrail acknowledgement on broken/wide: 'GR42' is no rule (rules: GR1, GR2, GR3, GR4, GR5)")


def test_an_acknowledgement_that_silences_nothing_fails_synthesis():
    stack = _stack()
    acknowledge(_private_bucket(stack, "fine-bucket"), "GR3", REASON)
    _refused(stack, "guardrail acknowledgement of GR3 on broken/fine-bucket silences no finding")


def test_a_warning_rule_is_reported_but_does_not_fail_synthesis(capsys):
    def every_bucket(synthesized: SynthesizedStack):
        for address, config in synthesized.resources("aws_s3_bucket"):
            yield synthesized.violation(address, config, "is a bucket")

    advice = Rule("GR9", "bucket-advice", "warning", "Buckets deserve a second look.", every_bucket)
    stack = _stack(rules=(*RULES, advice))
    _private_bucket(stack, "fine-bucket")
    _, manifest = _full_synth(stack)
    line = (
        "guardrail [GR9 bucket-advice] aws_s3_bucket.fine-bucket (broken/fine-bucket): is a bucket\n    why: Buckets deserve a second look."
    )
    assert f"warning: {line}" in capsys.readouterr().err
    annotations = manifest["stacks"]["broken"]["annotations"]
    assert {"constructPath": "broken/fine-bucket", "level": "@cdktf/warn", "message": line} in [
        {k: a[k] for k in ("constructPath", "level", "message")} for a in annotations
    ]


def test_a_rule_cannot_be_acknowledged_for_a_whole_stack_or_app():
    stack = _stack()
    with pytest.raises(ValueError, match="not on the whole"):
        acknowledge(stack, "GR2", "every policy in this stack may use wildcards")
    with pytest.raises(ValueError, match="not on the whole"):
        acknowledge(stack.node.scope, "GR2", "every policy in this app may use wildcards")
