"""Synth-time settings, from the environment, then cdktf context, then documented defaults.

| setting | environment | cdktf.json context | default |
|---|---|---|---|
| state backend | STATE_BACKEND (s3, local) | stateBackend | s3 |
| state bucket (required by the s3 backend) | STATE_BUCKET | stateBucket | none: S3 names are global |
| state key | STATE_KEY | stateKey | data-processing/terraform.tfstate |
| state region | STATE_REGION | stateRegion | us-east-1 |
| state locking with an S3 lock file | STATE_LOCKFILE (true, false) | stateLockfile | true |
| local state file | STATE_LOCAL_PATH | stateLocalPath | terraform.tfstate (in the stack's folder) |
| Lambda runtime | LAMBDA_RUNTIME | lambdaRuntime | nodejs22.x |
| protect stateful resources | PROTECT_STATEFUL (true, false) | protectStateful | true |
| Object Lock default retention (days, 0 = none) | OBJECT_LOCK_DAYS | objectLockDays | 1 |
| Lambda reserved concurrency | RESERVED_CONCURRENCY | reservedConcurrency | none (unreserved) |
| local emulator endpoint | EMULATOR_ENDPOINT | (environment only) | none: real AWS |
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from constructs_lib.naming import S3_RESERVED_PREFIXES
from constructs_lib.node_package import DEFAULT_RUNTIME
from constructs_lib.state_backend import BACKEND_KINDS, StateBackendProps

PROJECT_ROOT = Path(__file__).resolve().parent.parent

MISSING_STATE_BUCKET = (
    "The S3 state backend needs a bucket of your own: S3 bucket names are global, so there is no "
    "default. Set STATE_BUCKET (or \"stateBucket\" in cdktf.json's context) to a name only you "
    "would choose, e.g. acme-dataproc-tfstate-<account id>, and create it once with "
    "`npx cdktf deploy state-bootstrap`. For experiments, STATE_BACKEND=local keeps state in a local file."
)


# S3's general purpose bucket naming rules: 3-63 lowercase letters, digits, dots and hyphens,
# starting and ending with a letter or digit, no "..", not an IP address, no reserved prefix.
BUCKET_NAME = re.compile(
    rf"^(?!{'|'.join(S3_RESERVED_PREFIXES)})(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)[a-z0-9][a-z0-9.-]{{1,61}}[a-z0-9]$"
)


class SettingsError(ValueError):
    """A synth-time setting is missing or malformed; the message says how to set it."""


def _file_context() -> dict[str, Any]:
    """cdktf.json's context: the cdktf CLI passes it to the app, `python main.py` does not."""
    config = PROJECT_ROOT / "cdktf.json"
    return json.loads(config.read_text()).get("context", {}) if config.exists() else {}


@dataclass(frozen=True)
class StackSettings:
    backend: StateBackendProps
    lambda_runtime: str = DEFAULT_RUNTIME
    # Deletion protection on the table, no force-destroy on the bucket.
    protect_stateful: bool = True
    # Default GOVERNANCE retention of result objects, in days (0: none).
    object_lock_days: int = 1
    # Reserved concurrency of the function; None reserves nothing (see ProcessorFunctionProps).
    reserved_concurrency: int | None = None
    # A moto server's URL: aims the provider at it (`make up`); never set for real AWS.
    emulator_endpoint: str | None = None

    @classmethod
    def load(
        cls,
        context: Callable[[str], Any] = lambda _key: None,
        environ: Mapping[str, str] = os.environ,
    ) -> "StackSettings":
        """`context` is the app's context lookup, e.g. `app.node.try_get_context`."""
        file_context = _file_context()
        defaults = StateBackendProps()

        def pick(env: str, key: str, default: str) -> str:
            # `is not None`, not truthiness: 0 and false are real answers.
            for value in (environ.get(env), context(key), file_context.get(key)):
                if value is not None and str(value).strip() != "":
                    return str(value).lower() if isinstance(value, bool) else str(value).strip()
            return default

        backend_kind = pick("STATE_BACKEND", "stateBackend", defaults.kind).lower()
        if backend_kind not in BACKEND_KINDS:
            raise SettingsError(f"STATE_BACKEND must be one of {', '.join(BACKEND_KINDS)}, not {backend_kind!r}")
        state_bucket = pick("STATE_BUCKET", "stateBucket", "") or None
        if backend_kind == "s3" and state_bucket is None:
            raise SettingsError(MISSING_STATE_BUCKET)
        if state_bucket is not None and not BUCKET_NAME.match(state_bucket):
            raise SettingsError(
                f"STATE_BUCKET {state_bucket!r} is not a valid S3 bucket name: 3-63 lowercase letters, digits, "
                "dots and hyphens, starting and ending with a letter or digit"
            )
        reserved = pick("RESERVED_CONCURRENCY", "reservedConcurrency", "")
        return cls(
            backend=StateBackendProps(
                kind=backend_kind,
                bucket=state_bucket,
                key=pick("STATE_KEY", "stateKey", defaults.key),
                region=pick("STATE_REGION", "stateRegion", defaults.region),
                local_path=pick("STATE_LOCAL_PATH", "stateLocalPath", defaults.local_path),
                use_lockfile=_boolean("STATE_LOCKFILE", pick("STATE_LOCKFILE", "stateLockfile", "true")),
            ),
            lambda_runtime=pick("LAMBDA_RUNTIME", "lambdaRuntime", DEFAULT_RUNTIME),
            protect_stateful=_boolean("PROTECT_STATEFUL", pick("PROTECT_STATEFUL", "protectStateful", "true")),
            object_lock_days=_whole("OBJECT_LOCK_DAYS", pick("OBJECT_LOCK_DAYS", "objectLockDays", "1")),
            reserved_concurrency=_positive("RESERVED_CONCURRENCY", reserved) if reserved else None,
            emulator_endpoint=environ.get("EMULATOR_ENDPOINT") or None,
        )


def _whole(name: str, value: str) -> int:
    if not value.strip().isdigit():
        raise SettingsError(f"{name} must be a whole number of days (0 for none), not {value!r}")
    return int(value)


def _positive(name: str, value: str) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        raise SettingsError(f"{name} must be a whole number of at least 1 (unset: no reservation), not {value!r}")
    return int(value)


def _boolean(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise SettingsError(f"{name} must be true or false, not {value!r}")
    return lowered == "true"
