"""Issue 3: the provider fast path gives the same synth, and fails loudly when the package changes."""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys

import pytest

from dev_tools import app
from stacks.facts import PROJECT_ROOT
from synth import provider_fastpath


def _tree(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


@pytest.mark.slow
def test_synth_is_byte_identical_with_and_without_the_fast_path(synth, tmp_path):
    if not provider_fastpath.enabled():
        pytest.skip(f"{provider_fastpath.SWITCH}=0: the session synth did not use the fast path")
    # The session synth ran main.py with the fast path (the default); this one runs it switched off,
    # with Python's import log, which shows that the switch really chose the ordinary import (its
    # package __init__ imports every resource module, ~2,200; the fast path a few dozen).
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "main.py"],
        cwd=PROJECT_ROOT,
        env=app.environment(tmp_path, **{provider_fastpath.SWITCH: "0"}),
        capture_output=True,
        text=True,
        check=True,
    )
    imported = re.findall(r"\|\s+(cdktf_cdktf_provider_aws\.[a-z0-9_]+)$", result.stderr, re.MULTILINE)
    assert len(set(imported)) > 2000
    fast, slow = synth.outdir, tmp_path
    assert _tree(fast) == _tree(slow)
    for relative in _tree(slow):
        assert filecmp.cmp(fast / relative, slow / relative, shallow=False), relative


def test_discover_finds_the_provider_modules_the_app_imports():
    found = provider_fastpath.discover()
    assert {"s3_bucket", "lambda_function", "api_gateway_stage", "provider"} <= set(found)
    assert not any(name.startswith("_") for name in found)


def test_a_different_package_version_is_refused(monkeypatch):
    monkeypatch.setattr(provider_fastpath.importlib.metadata, "version", lambda _name: "20.2.0")
    with pytest.raises(provider_fastpath.FastPathError, match="20.2.0"):
        provider_fastpath.check_shape(provider_fastpath._package_dir())


def _copy_loader(tmp_path):
    source = provider_fastpath._package_dir() / "_jsii"
    target = tmp_path / "_jsii"
    target.mkdir()
    shutil.copy(source / "__init__.py", target / "__init__.py")
    return target


def test_a_tarball_with_another_digest_is_refused(tmp_path):
    loader = _copy_loader(tmp_path)
    (loader / provider_fastpath.TARBALL).write_bytes(b"not the pinned assembly")
    with pytest.raises(provider_fastpath.FastPathError, match="sha256"):
        provider_fastpath.check_shape(tmp_path)


def test_a_changed_loader_layout_is_refused(tmp_path):
    loader = _copy_loader(tmp_path)
    (loader / provider_fastpath.TARBALL).write_bytes(b"")
    (loader / "__init__.py").write_text("import jsii\n")
    with pytest.raises(provider_fastpath.FastPathError, match="no longer loads"):
        provider_fastpath.check_shape(tmp_path)


def test_importing_a_module_outside_the_trimmed_assembly_fails_loudly():
    script = (
        "from synth import provider_fastpath\n"
        "provider_fastpath.install(['s3_bucket'])\n"
        "import cdktf_cdktf_provider_aws.s3_bucket\n"
        "import cdktf_cdktf_provider_aws.sqs_queue\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode != 0
    assert "FastPathError: cdktf_cdktf_provider_aws.sqs_queue is not in the fast path's trimmed assembly" in result.stderr


def _python_with_switch(script: str, switch: str) -> str:
    """What `python -c script` prints in the project with the fast-path switch set."""
    env = {**os.environ, provider_fastpath.SWITCH: switch}
    return subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True).stdout


def test_the_switch_on_registers_only_the_trimmed_submodules():
    script = (
        "import sys\n"
        "from synth import provider_fastpath\n"
        "installed = provider_fastpath.install()\n"
        "import cdktf_cdktf_provider_aws.s3_bucket\n"
        "loaded = [m for m in sys.modules if m.startswith('cdktf_cdktf_provider_aws.')]\n"
        "print(installed, getattr(sys.modules['cdktf_cdktf_provider_aws'], '__fastpath__', False), len(loaded))\n"
    )
    installed, marked, loaded = _python_with_switch(script, "1").split()
    assert (installed, marked) == ("True", "True")
    assert int(loaded) < 100


def test_the_switch_off_leaves_the_package_to_its_ordinary_import():
    # What the ordinary import then loads is proven by the byte-identical synth above.
    script = "import sys\nfrom synth import provider_fastpath as f\nprint(f.install(), 'cdktf_cdktf_provider_aws' in sys.modules)"
    assert _python_with_switch(script, "0").split() == ["False", "False"]
