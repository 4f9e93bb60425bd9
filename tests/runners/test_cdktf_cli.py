"""Issue 7: `cdktf synth` through the pinned CLI gives exactly what `python main.py` gives."""

from __future__ import annotations

import filecmp
import os
import subprocess

import pytest

from stacks.facts import PROJECT_ROOT


def _files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


@pytest.mark.slow
def test_cdktf_cli_synth_equals_python_main(synth, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STATE_"))}
    env.update(STATE_BACKEND="local", CI="true", CHECKPOINT_DISABLE="1")
    cli = PROJECT_ROOT / "node_modules" / ".bin" / "cdktf"
    subprocess.run([str(cli), "synth", "--output", str(tmp_path)], cwd=PROJECT_ROOT, env=env, check=True, capture_output=True)
    ours, theirs = synth.outdir / "stacks", tmp_path / "stacks"
    assert _files(ours) == _files(theirs)
    for relative in _files(ours):
        assert filecmp.cmp(ours / relative, theirs / relative, shallow=False), relative


def test_the_cli_is_pinned_to_the_last_cdktf_release():
    import json

    manifest = json.loads((PROJECT_ROOT / "package.json").read_text())
    assert manifest["devDependencies"]["cdktf-cli"] == "0.21.0"
    lock = json.loads((PROJECT_ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/cdktf-cli"]["version"] == "0.21.0"
