"""A stored state this stack never wrote is refused before Terraform plans (review/state_owner.py)."""

from __future__ import annotations

import json

from review.state_owner import FOREIGN, main


def _state(*addresses: str) -> str:
    resources = [{"mode": "managed", "type": a.split(".")[0], "name": a.split(".")[1], "instances": []} for a in addresses]
    return json.dumps({"version": 4, "serial": 1, "lineage": "l", "resources": resources})


def test_a_state_of_another_stack_is_refused_and_this_stacks_or_none_is_not(synth, tmp_path, capsys):
    config = synth.stack_dir / "cdk.tf.json"
    stored = tmp_path / "stored-state.json"
    stored.write_text(_state("aws_instance.web", "aws_db_instance.orders"))
    assert main([str(config), str(stored)]) == FOREIGN
    assert "holds 2 resources, none of them this stack's (`aws_db_instance.orders`, `aws_instance.web`)" in capsys.readouterr().err
    # A state from before per-deployment keys holds this stack's resources (no record yet): accepted.
    stored.write_text(_state(synth.address_of("aws_dynamodb_table"), "aws_instance.web"))
    assert main([str(config), str(stored)]) == 0
    for nothing in ("", _state()):  # no state yet (`terraform state pull` prints nothing), or an empty one
        stored.write_text(nothing)
        assert main([str(config), str(stored)]) == 0
