"""Load only the provider modules this app uses, instead of all ~2,200 of them.

`import cdktf_cdktf_provider_aws` runs a package `__init__` that imports every resource module
(~5 s of Python imports) and makes node load the whole 120 MB jsii assembly and all 2,135
JavaScript modules (~600 MB). This module installs the package without running that `__init__`
and loads, once, a trimmed jsii assembly that holds only the submodules the project imports (and
any type they reference), cached under `.build/provider-fastpath/`.

It is exact about the pinned release (cdktf-cdktf-provider-aws 20.1.0, hashicorp/aws 5.100.0)
and fails loudly with `FastPathError` when the installed package differs in version, tarball
digest or layout, or when code imports a provider submodule the trimmed assembly lacks.

Call `install()` before anything imports `cdktf_cdktf_provider_aws`. `CDKTF_PROVIDER_FASTPATH=0`
turns it off (the package is then imported the ordinary way).
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import io
import json
import os
import re
import sys
import tarfile
import types
from collections.abc import Iterable, Sequence
from pathlib import Path

from constructs_lib.atomic_file import write_atomically
from stacks.facts import PROJECT_ROOT, PYTHON_FOLDERS

PACKAGE = "cdktf_cdktf_provider_aws"
DISTRIBUTION = "cdktf-cdktf-provider-aws"
PINNED_VERSION = "20.1.0"
ASSEMBLY = "@cdktf/provider-aws"
TARBALL = f"provider-aws@{PINNED_VERSION}.jsii.tgz"
TARBALL_SHA256 = "9597df60b28214851f296d31821d8f8d73edc0e541ba2ef627b545b0dfbed1bf"
SWITCH = "CDKTF_PROVIDER_FASTPATH"
# Bump when the trimmed tarball's layout changes, so stale caches are rebuilt.
FORMAT_VERSION = "1"

CACHE_DIR = PROJECT_ROOT / ".build" / "provider-fastpath"
SCANNED = ("main.py", *PYTHON_FOLDERS)

_TYPE_REFERENCE = re.compile(r'"fqn":\s*"(' + re.escape(ASSEMBLY) + r"\.[A-Za-z0-9]+)\.")
_JSII_TYPE = re.compile(r'jsii_type="' + re.escape(ASSEMBLY) + r"\.([A-Za-z0-9]+)\.")


class FastPathError(RuntimeError):
    """The installed provider package is not the one the fast path was written for."""


def enabled() -> bool:
    return os.environ.get(SWITCH, "1") != "0"


def discover(root: Path = PROJECT_ROOT, scanned: Sequence[str] = SCANNED) -> list[str]:
    """Provider submodules imported anywhere in the project's Python sources."""
    found: set[str] = set()
    for entry in scanned:
        path = root / entry
        files = [path] if path.is_file() else sorted(path.rglob("*.py")) if path.is_dir() else []
        for file in files:
            for node in ast.walk(ast.parse(file.read_text(), str(file))):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                for name in names:
                    parts = name.split(".")
                    if parts[0] == PACKAGE and len(parts) > 1 and not parts[1].startswith("_"):
                        found.add(parts[1])
    return sorted(found)


def _package_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FastPathError(f"{PACKAGE} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_shape(package_dir: Path) -> Path:
    """The pinned tarball, after checking version, digest and the `_jsii` loader's layout."""
    version = importlib.metadata.version(DISTRIBUTION)
    if version != PINNED_VERSION:
        raise FastPathError(f"{DISTRIBUTION} is {version}, the fast path is written for {PINNED_VERSION}; set {SWITCH}=0")
    tarball = package_dir / "_jsii" / TARBALL
    if not tarball.is_file():
        raise FastPathError(f"{tarball} is missing; set {SWITCH}=0")
    loader = (package_dir / "_jsii" / "__init__.py").read_text()
    if f'JSIIAssembly.load(\n    "{ASSEMBLY}", "{PINNED_VERSION}", __name__[0:-6], "{TARBALL}"\n)' not in loader:
        raise FastPathError(f"{package_dir}/_jsii/__init__.py no longer loads {TARBALL} as expected; set {SWITCH}=0")
    digest = _sha256(tarball)
    if digest != TARBALL_SHA256:
        raise FastPathError(f"{tarball} has sha256 {digest}, expected {TARBALL_SHA256}; set {SWITCH}=0")
    return tarball


def _jsii_submodule(package_dir: Path, python_submodule: str) -> str:
    """The jsii submodule (e.g. s3Bucket) that a Python submodule (e.g. s3_bucket) binds."""
    init = package_dir / python_submodule / "__init__.py"
    if not init.is_file():
        raise FastPathError(f"{PACKAGE}.{python_submodule} does not exist")
    match = _JSII_TYPE.search(init.read_text())
    if not match:
        raise FastPathError(f"{init} declares no {ASSEMBLY} type")
    return match.group(1)


def _submodule_of(fqn: str) -> str:
    return ".".join(fqn.split(".")[:2])


def _deterministic_tarball(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(files[name]), 0o644, 0
            archive.addfile(info, io.BytesIO(files[name]))
    return gzip.compress(raw.getvalue(), mtime=0)


def trim(tarball: Path, jsii_submodules: Iterable[str]) -> bytes:
    """A tarball of the assembly restricted to `jsii_submodules` and the types they reference."""
    with tarfile.open(tarball) as archive:
        members = {m.name: m for m in archive.getmembers() if m.isfile()}
        assembly = json.loads(archive.extractfile(members["package/.jsii"]).read())
        wanted = {f"{ASSEMBLY}.{name}" for name in jsii_submodules}
        pending = set(wanted)
        while pending:
            submodule = pending.pop()
            if submodule not in assembly["submodules"]:
                raise FastPathError(f"{submodule} is not in {TARBALL}")
            body = json.dumps([t for fqn, t in assembly["types"].items() if _submodule_of(fqn) == submodule])
            for referenced in set(_TYPE_REFERENCE.findall(body)) - wanted:
                wanted.add(referenced)
                pending.add(referenced)
        assembly["types"] = {fqn: t for fqn, t in assembly["types"].items() if _submodule_of(fqn) in wanted}
        assembly["submodules"] = {name: s for name, s in assembly["submodules"].items() if name in wanted}
        assembly.pop("readme", None)

        files = {
            "package/.jsii": json.dumps(assembly).encode(),
            "package/package.json": archive.extractfile(members["package/package.json"]).read(),
        }
        exports = []
        for name in sorted(wanted):
            folder = assembly["submodules"][name]["symbolId"].split("/")[1]
            exports.append(f'exports.{name.rsplit(".", 1)[1]} = require("./{folder}");')
            for member in (f"package/lib/{folder}/index.js",):
                files[member] = archive.extractfile(members[member]).read()
        files["package/lib/index.js"] = (
            '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n' + "\n".join(exports) + "\n"
        ).encode()
    return _deterministic_tarball(files)


def trimmed_tarball(tarball: Path, jsii_submodules: Sequence[str], cache_dir: Path = CACHE_DIR) -> Path:
    key = hashlib.sha256("\n".join([FORMAT_VERSION, TARBALL_SHA256, *sorted(jsii_submodules)]).encode()).hexdigest()[:24]
    target = cache_dir / f"provider-aws-{key}.jsii.tgz"
    if not target.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(target, trim(tarball, jsii_submodules))
    return target


class _OnlyTrimmedSubmodules(importlib.abc.MetaPathFinder):
    """Refuses provider submodules the trimmed assembly lacks, naming the way out."""

    def __init__(self, allowed: set[str]) -> None:
        self.allowed = allowed

    def find_spec(self, fullname: str, path=None, target=None):
        parts = fullname.split(".")
        if parts[0] == PACKAGE and len(parts) == 2 and not parts[1].startswith("_") and parts[1] not in self.allowed:
            raise FastPathError(
                f"{fullname} is not in the fast path's trimmed assembly: import it in a scanned file "
                f"({', '.join(SCANNED)}) so the next run includes it, or set {SWITCH}=0"
            )
        return None


def install(submodules: Sequence[str] | None = None) -> bool:
    """Register the provider package the fast way. Returns False when switched off."""
    if not enabled():
        return False
    if PACKAGE in sys.modules:
        if getattr(sys.modules[PACKAGE], "__fastpath__", False):
            return True
        raise FastPathError(f"{PACKAGE} was imported before the fast path was installed")
    package_dir = _package_dir()
    tarball = check_shape(package_dir)
    python_submodules = sorted(submodules if submodules is not None else discover())
    jsii_submodules = [_jsii_submodule(package_dir, name) for name in python_submodules]
    trimmed = trimmed_tarball(tarball, jsii_submodules)

    import cdktf  # noqa: F401  (its assembly, and constructs', must be loaded first)
    import jsii
    from jsii import _reference_map, _runtime

    package = types.ModuleType(PACKAGE, "cdktf-cdktf-provider-aws, loaded by synth.provider_fastpath")
    package.__path__ = [str(package_dir)]
    package.__file__ = str(package_dir / "__init__.py")
    package.__package__ = PACKAGE
    package.__spec__ = importlib.machinery.ModuleSpec(PACKAGE, None, is_package=True)
    package.__spec__.submodule_search_locations = package.__path__
    package.__fastpath__ = True

    loader = types.ModuleType(f"{PACKAGE}._jsii")
    loader.__path__ = [str(package_dir / "_jsii")]
    loader.__package__ = loader.__name__
    _runtime.kernel.load(ASSEMBLY, PINNED_VERSION, str(trimmed))
    _reference_map._assembly_to_module[ASSEMBLY] = PACKAGE
    loader.__jsii_assembly__ = jsii.JSIIAssembly(ASSEMBLY, PINNED_VERSION, PACKAGE, TARBALL)
    loader.__all__ = ["__jsii_assembly__"]

    sys.modules[PACKAGE] = package
    sys.modules[loader.__name__] = loader
    package._jsii = loader
    sys.meta_path.insert(0, _OnlyTrimmedSubmodules(set(python_submodules)))
    return True
