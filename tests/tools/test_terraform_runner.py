"""The Terraform runner's shared provider process (ProviderServer) is a speed-up of the tests
only: a plan made through it is the plan a freshly started provider makes."""

from __future__ import annotations

from tests.conftest import VALID_INPUTS
from tools.terraform_runner import Terraform


def _changes(plan):
    return {c["address"]: (c["change"]["actions"], c["change"]["after"], c["change"]["after_unknown"]) for c in plan["resource_changes"]}


def test_a_plan_through_the_shared_provider_is_a_fresh_providers_plan(terraform, valid_plan):
    fresh = Terraform(terraform.workdir, terraform.env)  # no provider process to attach to
    assert fresh._env().get("TF_REATTACH_PROVIDERS") is None and terraform._env()["TF_REATTACH_PROVIDERS"]
    result = fresh.plan(VALID_INPUTS, plan_file="fresh.plan")
    assert result.returncode == 0, result.errors
    assert _changes(result.plan) == _changes(valid_plan)
    assert len(valid_plan["resource_changes"]) > 50
