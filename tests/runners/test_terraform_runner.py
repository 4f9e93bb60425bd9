"""The Terraform runner's shared provider process (ProviderServer) is a speed-up of the tests
only: a plan made through it is the plan a freshly started provider makes."""

from __future__ import annotations

import pytest

from runners.terraform_runner import ProviderServer, Terraform
from tests.conftest import VALID_INPUTS


def _changes(plan):
    return {c["address"]: (c["change"]["actions"], c["change"]["after"], c["change"]["after_unknown"]) for c in plan["resource_changes"]}


def test_a_plan_through_the_shared_provider_is_a_fresh_providers_plan(terraform, valid_plan):
    fresh = Terraform(terraform.workdir, terraform.env)  # no provider process to attach to
    assert fresh._env().get("TF_REATTACH_PROVIDERS") is None and terraform._env()["TF_REATTACH_PROVIDERS"]
    result = fresh.plan(VALID_INPUTS, plan_file="fresh.plan")
    assert result.returncode == 0, result.errors
    assert _changes(result.plan) == _changes(valid_plan)
    assert len(valid_plan["resource_changes"]) > 50


def test_the_shared_provider_is_the_version_the_stack_requires(terraform, synth):
    version = synth.json["terraform"]["required_providers"]["aws"]["version"]
    assert f"/{version}/" in terraform.provider.process.args[0]


@pytest.mark.slow
def test_a_shared_provider_that_died_is_named_with_its_log(tmp_path, synth):
    version = synth.json["terraform"]["required_providers"]["aws"]["version"]
    with ProviderServer({}, version, tmp_path / "provider.log") as provider:
        provider.process.kill()
        provider.process.wait()
        with pytest.raises(RuntimeError, match=f"exited with -9; its log: {tmp_path / 'provider.log'}"):
            Terraform(tmp_path, {}, provider).run("plan")
