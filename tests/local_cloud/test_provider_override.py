"""The local cloud aims the synthesized provider at the emulator with an override file beside
cdk.tf.json: Terraform merges it, so local and AWS deployments apply the same synthesized JSON."""

from __future__ import annotations

import json
import os

from local_cloud.provider_override import EMULATED_SERVICES, OVERRIDE_FILE, aim_at_emulator
from runners.terraform_runner import Terraform
from stacks.facts import REGION
from tests.conftest import run_main


def test_the_override_aims_every_service_at_the_emulator_with_fake_credentials(tmp_path):
    path = aim_at_emulator(tmp_path / "stack", "http://127.0.0.1:4566")
    assert path.name == OVERRIDE_FILE and path.name.endswith("_override.tf.json")
    (provider,) = json.loads(path.read_text())["provider"]["aws"]
    (endpoints,) = provider["endpoints"]
    assert endpoints == dict.fromkeys(EMULATED_SERVICES, "http://127.0.0.1:4566")
    assert (provider["access_key"], provider["s3_use_path_style"], provider["skip_credentials_validation"]) == ("testing", True, True)


def test_terraform_merges_the_override_into_a_provider_that_names_no_emulator(emulator, tmp_path, monkeypatch):
    """A configuration whose provider names only the region, as the synthesized one does, applied
    with no AWS variables in the environment: the caller it reads is the emulator's account, so the
    endpoint and credentials came from the override alone."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    (tmp_path / "cdk.tf.json").write_text(
        json.dumps(
            {
                "provider": {"aws": [{"region": REGION}]},
                "data": {"aws_caller_identity": {"caller": {}}},
                "output": {"account": {"value": "${data.aws_caller_identity.caller.account_id}"}},
            }
        )
    )
    aim_at_emulator(tmp_path, emulator.endpoint)
    terraform = Terraform(tmp_path, {})
    terraform.init()
    terraform.apply({})
    assert terraform.outputs()["account"] == emulator.client("sts").get_caller_identity()["Account"]


def test_an_aliased_provider_is_aimed_at_the_emulator_too(tmp_path):
    """The state bucket's provider in another region (STATE_REGION) is an alias: Terraform merges
    an override into the provider of the same alias only, so each gets its own entry."""
    stack = run_main(tmp_path / "out", STATE_BACKEND="s3", STATE_BUCKET="acme-state", RESOURCE_PREFIX="team-a", STATE_REGION="eu-west-1")
    providers = json.loads(aim_at_emulator(stack, "http://127.0.0.1:4566").read_text())["provider"]["aws"]
    assert [p.get("alias") for p in providers] == [None, "state"]
    assert all(p["endpoints"] == [dict.fromkeys(EMULATED_SERVICES, "http://127.0.0.1:4566")] for p in providers)
