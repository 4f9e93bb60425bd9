"""SPEC "Delivery": `python main.py` synthesizes cdk.tf.json with no AWS credentials or network."""

from __future__ import annotations

import json

from dev_tools.app import synthesize


def test_main_py_writes_the_stack_json_without_credentials(synth):
    # The session synth ran `python main.py` with every AWS_* variable removed.
    assert (synth.stack_dir / "cdk.tf.json").is_file()
    document = json.loads(synth.text)
    assert document["resource"] and document["variable"]


def test_main_py_makes_a_folder_synthesized_for_another_deployment_forget_its_last_backend(tmp_path):
    """synth/backend_memory.py, called by main.py: the remembered backend (what `terraform init`
    writes in .terraform) survives a synth for the same state and goes with a synth for another."""
    outdir = tmp_path / "cdktf.out"
    team_a, team_b = str(tmp_path / "team-a.tfstate"), str(tmp_path / "team-b.tfstate")
    stack = synthesize(outdir, quiet=True, STATE_LOCAL_PATH=team_a)
    memory = stack / ".terraform" / "terraform.tfstate"
    memory.parent.mkdir()
    memory.write_text(json.dumps({"version": 3, "backend": {"type": "local", "config": {"path": team_a}}}))
    synthesize(outdir, quiet=True, STATE_LOCAL_PATH=team_a)
    assert memory.exists()
    synthesize(outdir, quiet=True, STATE_LOCAL_PATH=team_b)
    assert not memory.exists()
