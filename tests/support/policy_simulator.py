"""Decisions of AWS's policy evaluation logic for concrete requests, by an independent evaluator.

moto does not evaluate principals or most conditions, so "only this distribution may read" or
"the function may call nothing else" cannot be proven by asking the emulator. Instead the
policies the emulator holds (read back through the AWS API after apply) are evaluated for
concrete requests by @cloud-copilot/iam-simulate (npm, pinned in package.json; a test-only
dependency, AGPL-3.0, never deployed) through tests/support/iam_simulate.js.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stacks.facts import PROJECT_ROOT

SCRIPT = Path(__file__).with_name("iam_simulate.js")
ACCOUNT = "123456789012"  # moto's account
ALLOWED, IMPLICIT_DENY, EXPLICIT_DENY = "Allowed", "ImplicitlyDenied", "ExplicitlyDenied"
# What another account grants its own principal in the worst case: everything. Only the
# resource's policy can then refuse a cross-account request; without it, the request would be
# refused for want of the caller's own permission, whatever the resource policy says.
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass(frozen=True)
class Request:
    principal: str  # an ARN, a service principal such as "cloudfront.amazonaws.com", or "anonymous"
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)
    account: str = ACCOUNT  # the resource's account
    # The caller's identity policies, when not those given to decide() (e.g. [ALLOW_ALL]).
    identity: tuple[Any, ...] | None = None


def foreign(principal_account: str, action: str, resource: str, context: dict[str, Any] | None = None) -> Request:
    """A request from another account's root, whose own policies allow everything."""
    return Request(f"arn:aws:iam::{principal_account}:root", action, resource, context or {}, identity=(ALLOW_ALL,))


def decide(requests: Sequence[Request], resource_policy: Any = None, identity_policies: Sequence[Any] = ()) -> list[str]:
    """One decision per request, under the given resource policy and identity policies."""
    simulations = []
    for request in requests:
        fields = asdict(request)
        identity = fields.pop("identity")
        simulations.append(
            {**fields, "resourcePolicy": resource_policy, "identityPolicies": list(identity if identity is not None else identity_policies)}
        )
    result = subprocess.run(
        ["node", str(SCRIPT)], cwd=PROJECT_ROOT, input=json.dumps(simulations), capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def assert_decisions(
    expected: Mapping[str, tuple[Request, str]], resource_policy: Any = None, identity_policies: Sequence[Any] = ()
) -> None:
    """Each named request gets its expected decision (compared all at once, so a failure names every miss)."""
    decisions = decide([request for request, _ in expected.values()], resource_policy, identity_policies)
    assert dict(zip(expected, decisions, strict=True)) == {name: decision for name, (_, decision) in expected.items()}
