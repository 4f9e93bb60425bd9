"""SPEC "Delivery": `python main.py` synthesizes cdk.tf.json with no AWS credentials or network."""

from __future__ import annotations

import json


def test_main_py_writes_the_stack_json_without_credentials(synth):
    # The session synth ran `python main.py` with every AWS_* variable removed.
    assert (synth.stack_dir / "cdk.tf.json").is_file()
    document = json.loads(synth.text)
    assert document["resource"] and document["variable"]
