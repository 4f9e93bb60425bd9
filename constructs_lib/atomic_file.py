"""Files written whole or not at all: parallel synths and test workers share the build caches and
the Terraform CLI config, and must never read half a file."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: bytes | str) -> None:
    """Write beside `path`, then rename over it (a rename within a folder is atomic)."""
    partial = path.with_suffix(f"{path.suffix}.{os.getpid()}.partial")
    if isinstance(data, str):
        partial.write_text(data)
    else:
        partial.write_bytes(data)
    partial.replace(path)
