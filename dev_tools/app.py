"""The app's real entry point, run as a user's shell would run it: `python main.py` with the local
backend, no AWS credentials and every setting at its default unless named, so a caller's
STATE_BUCKET or LAMBDA_RUNTIME cannot leak in. Used by the tests and by the docs generator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from stacks.facts import PROJECT_ROOT, stack_dir
from stacks.settings import SETTINGS


def environment(outdir: Path, **settings: str) -> dict[str, str]:
    """The environment `python main.py` runs with to synthesize into `outdir`."""
    named = {setting.env for setting in SETTINGS}
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in named}
    env.update({"STATE_BACKEND": "local", "CDKTF_OUTDIR": str(outdir), **settings})
    return env


def synthesize(outdir: Path, quiet: bool = False, **settings: str) -> Path:
    """Synthesize into `outdir`; the service stack's folder."""
    env = environment(outdir, **settings)
    subprocess.run([sys.executable, "main.py"], cwd=PROJECT_ROOT, env=env, check=True, stdout=subprocess.DEVNULL if quiet else None)
    return stack_dir(outdir)
