"""A stored state this stack never wrote is refused before Terraform plans (review/state_owner.py)."""

from __future__ import annotations

import json

import pytest

from review.state_owner import FOREIGN, UNREADABLE, UNREADABLE_CONFIG, main


def _state(*addresses: str) -> str:
    """A state holding these addresses (`module.NAME.` in front: inside that module)."""
    resources = []
    for address in addresses:
        *module, kind, name = address.split(".")
        resource = {"mode": "managed", "type": kind, "name": name, "instances": []}
        resources.append({**resource, "module": ".".join(module)} if module else resource)
    return json.dumps({"version": 4, "serial": 1, "lineage": "l", "resources": resources})


def test_a_state_of_another_stack_is_refused_and_this_stacks_or_none_is_not(synth, tmp_path, capsys):
    config = synth.stack_dir / "cdk.tf.json"
    stored = tmp_path / "stored-state.json"
    stored.write_text(_state("aws_instance.web", "aws_db_instance.orders"))
    assert main([str(config), str(stored)]) == FOREIGN
    assert "holds 2 resources, none of them this stack's (`aws_db_instance.orders`, `aws_instance.web`)" in capsys.readouterr().err
    # A state from before per-deployment keys holds this stack's resources (no record yet): accepted.
    stored.write_text(_state(synth.address_at("items/table"), "aws_instance.web"))
    assert main([str(config), str(stored)]) == 0
    for nothing in ("", _state()):  # no state yet (`terraform state pull` prints nothing), or an empty one
        stored.write_text(nothing)
        assert main([str(config), str(stored)]) == 0


def test_a_state_of_another_stacks_modules_is_refused(synth, tmp_path, capsys):
    """The stack declares no modules: a resource inside one is never its own, whatever its name."""
    config = synth.stack_dir / "cdk.tf.json"
    stored = tmp_path / "stored-state.json"
    stored.write_text(_state("module.app.terraform_data.orders", f"module.app.{synth.address_at('items/table')}"))
    assert main([str(config), str(stored)]) == FOREIGN
    assert "`module.app.terraform_data.orders`" in capsys.readouterr().err


@pytest.mark.parametrize(
    "stored_text", ["null", "[]", '{"resources": null}', '{"resources": [1]}', '{"resources": [{"type": 1, "name": "x"}]}', "not json"]
)
def test_an_object_that_is_no_state_is_refused_with_a_message(synth, tmp_path, capsys, stored_text):
    stored = tmp_path / "stored-state.json"
    stored.write_text(stored_text)
    assert main([str(synth.stack_dir / "cdk.tf.json"), str(stored)]) == UNREADABLE
    assert "Nothing was planned" in capsys.readouterr().err


def test_the_state_of_a_sibling_stack_sharing_only_the_guard_record_is_refused(synth, tmp_path):
    """Every stack of the project has the guard's record at one address: it proves no ownership."""
    record = synth.address_at("deployment/owner")
    stored = tmp_path / "stored-state.json"
    stored.write_text(_state(record, "aws_s3_bucket.state_bucket_1"))
    assert main([str(synth.stack_dir / "cdk.tf.json"), str(stored)]) == FOREIGN


def test_an_unreadable_state_or_configuration_is_refused_with_its_own_code(synth, tmp_path):
    stored = tmp_path / "stored-state.json"
    stored.write_bytes(b'{"resources": ["\xff"]}')
    assert main([str(synth.stack_dir / "cdk.tf.json"), str(stored)]) == UNREADABLE
    assert main([str(tmp_path / "missing.json"), str(stored)]) == UNREADABLE_CONFIG
