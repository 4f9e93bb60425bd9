"""The local API invokes what the integration names as Lambda would: an alias runs its version,
and with a routing config, each additional version by its weight (local_cloud/api.py)."""

from __future__ import annotations

import random
from types import SimpleNamespace

from local_cloud.api import _invoker, alias_targets

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:dataproc-processor"


class _Lambda:
    def __init__(self, version: str, extra: dict[str, float] | None = None) -> None:
        self.alias = {"FunctionVersion": version, "RoutingConfig": {"AdditionalVersionWeights": extra} if extra else None}
        self.asked: list[tuple[str, str]] = []

    def get_alias(self, FunctionName: str, Name: str):  # noqa: N803 (boto3's names)
        self.asked.append((FunctionName, Name))
        return {k: v for k, v in self.alias.items() if v is not None}


def test_an_alias_runs_its_version_and_its_routing_weights():
    lambda_client = _Lambda("3", {"4": 0.1})
    assert alias_targets(lambda_client, f"{FUNCTION}:live") == [(f"{FUNCTION}:3", 0.9), (f"{FUNCTION}:4", 0.1)]
    assert lambda_client.asked == [("dataproc-processor", "live")]
    assert alias_targets(_Lambda("7"), f"{FUNCTION}:live") == [(f"{FUNCTION}:7", 1.0)]


def test_a_version_or_an_unqualified_function_is_itself():
    lambda_client = _Lambda("3")
    for arn in (FUNCTION, f"{FUNCTION}:5", f"{FUNCTION}:$LATEST"):
        assert alias_targets(lambda_client, arn) == [(arn, 1.0)]
    assert lambda_client.asked == []


def test_each_invocation_runs_one_version_chosen_by_its_weight():
    runs: list[str] = []

    def pool(version: str):
        def invoke(event, timeout_ms):
            runs.append(version)
            return SimpleNamespace(caller_timed_out=False, error=None, response={"statusCode": 200})

        return SimpleNamespace(invoke=invoke)

    targets = {f"{FUNCTION}:live": [(f"{FUNCTION}:3", 0.9), (f"{FUNCTION}:4", 0.1)]}
    pools = {f"{FUNCTION}:3": pool("3"), f"{FUNCTION}:4": pool("4")}
    invoke = _invoker(targets, pools, choose=random.Random(7).choices)
    for _ in range(2000):
        assert invoke(f"{FUNCTION}:live", {}, 1000) == ({"statusCode": 200}, None)
    assert 0.06 < runs.count("4") / len(runs) < 0.14
