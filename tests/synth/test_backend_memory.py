"""A folder synthesized for another deployment starts on that deployment's own state at its next
`terraform init`, with nothing copied (synth/backend_memory.py, called by main.py)."""

from __future__ import annotations

import json

from runners.terraform_runner import Terraform
from synth.backend_memory import forget_other_backend


def _config(path: str) -> str:
    return json.dumps(
        {
            "terraform": {"backend": {"local": {"path": path}}},
            "resource": {"terraform_data": {"owner": {"input": path}}},
        }
    )


def test_a_folder_given_another_state_inits_on_it_without_copying_the_previous_one(tmp_path):
    terraform = Terraform(tmp_path, {})
    (tmp_path / "cdk.tf.json").write_text(_config("team-a.tfstate"))
    terraform.init()
    terraform.apply({})
    first = (tmp_path / "team-a.tfstate").read_text()
    assert forget_other_backend(tmp_path) is False  # the same state: init is left alone

    (tmp_path / "cdk.tf.json").write_text(_config("team-b.tfstate"))
    # Without forgetting, Terraform asks to migrate team-a's state into team-b's.
    refused = terraform.run("init", "-input=false", "-no-color", check=False)
    assert refused.returncode == 1 and "Backend configuration changed" in refused.stderr, refused.stderr
    assert forget_other_backend(tmp_path) is True
    terraform.init()
    assert not (tmp_path / "team-b.tfstate").exists()  # nothing copied: team-b's state starts empty
    assert terraform.state_resources() == [] and (tmp_path / "team-a.tfstate").read_text() == first


def test_a_folder_never_initialised_is_left_alone(tmp_path):
    (tmp_path / "cdk.tf.json").write_text(_config("team-a.tfstate"))
    assert forget_other_backend(tmp_path) is False
