"""The policy evaluator the e2e test relies on decides for the right reasons (tests/support)."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.policy_simulator import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, Request, decide, foreign

OBJECT = "arn:aws:s3:::bucket-123456789012/results/a.json"


def _policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_a_foreign_request_is_decided_by_the_resource_policy_alone():
    grant_all = _policy({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": OBJECT})
    request = foreign("210987654321", "s3:GetObject", OBJECT, {"aws:SecureTransport": "true"})
    assert decide([request], resource_policy=grant_all) == [ALLOWED]
    assert decide(
        [request],
        resource_policy=_policy(
            {"Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject", "Resource": OBJECT}
        ),
    ) == [IMPLICIT_DENY]


def test_conditions_decide():
    tls_only = _policy(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": OBJECT},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": OBJECT, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    )
    decisions = decide([Request("anonymous", "s3:GetObject", OBJECT, {"aws:SecureTransport": tls}) for tls in ("true", "false")], tls_only)
    assert decisions == [ALLOWED, EXPLICIT_DENY]


def test_a_context_key_the_evaluator_ignores_is_an_error_not_a_decision():
    key_policy = _policy(
        {"Effect": "Allow", "Principal": {"Service": "logs.us-east-1.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*"}
    )
    context = {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:log-group:x"}
    with pytest.raises(subprocess.CalledProcessError):
        decide([Request("logs.us-east-1.amazonaws.com", "kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/k", context)], key_policy)
