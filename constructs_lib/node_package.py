"""The Node.js runtimes the function may use, and its deterministic deployment package.

The package holds only the files the handler's package.json lists under "files" (no
node_modules, no tests), zipped with fixed timestamps, modes and order, so an unchanged handler
always gives the same hash and plans don't churn.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path

from constructs_lib.atomic_file import write_atomically

# Runtimes hashicorp/aws 5.100.0 accepts for Node.js; AWS refuses to create the older ones.
NODE_RUNTIMES = ("nodejs14.x", "nodejs16.x", "nodejs18.x", "nodejs20.x", "nodejs22.x")
DEFAULT_RUNTIME = "nodejs22.x"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def build_package(source_dir: Path, build_dir: Path) -> tuple[Path, str]:
    """Zip the handler's declared files deterministically; returns (zip path, base64 SHA-256)."""
    manifest = json.loads((source_dir / "package.json").read_text())
    files: list[Path] = []
    for entry in manifest["files"]:
        path = source_dir / entry
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(set(files)):
            info = zipfile.ZipInfo(path.relative_to(source_dir).as_posix(), _ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    data = buffer.getvalue()
    digest = hashlib.sha256(data).digest()
    build_dir.mkdir(parents=True, exist_ok=True)
    target = build_dir / f"handler-{digest.hex()[:16]}.zip"
    if not target.exists():
        write_atomically(target, data)
    return target, base64.b64encode(digest).decode()
