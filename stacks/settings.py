"""Synth-time settings, from the environment, then cdktf context, then documented defaults.

| setting | environment | cdktf.json context | default |
|---|---|---|---|
| state backend | STATE_BACKEND (s3, local) | stateBackend | s3 |
| state bucket | STATE_BUCKET | stateBucket | dataproc-terraform-state |
| state key | STATE_KEY | stateKey | data-processing/terraform.tfstate |
| state region | STATE_REGION | stateRegion | us-east-1 |
| local state file | STATE_LOCAL_PATH | stateLocalPath | terraform.tfstate (in the stack's folder) |
| Lambda runtime | LAMBDA_RUNTIME | lambdaRuntime | nodejs22.x |
| protect stateful resources | PROTECT_STATEFUL (true, false) | protectStateful | true |
| Object Lock default retention (days, 0 = none) | OBJECT_LOCK_DAYS | objectLockDays | 1 |
| local emulator endpoint | EMULATOR_ENDPOINT | (environment only) | none: real AWS |
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from constructs_lib.node_package import DEFAULT_RUNTIME
from constructs_lib.state_backend import StateBackendProps

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
                if value is not None and value != "":
                    return str(value).lower() if isinstance(value, bool) else str(value)
            return default

        return cls(
            backend=StateBackendProps(
                kind=pick("STATE_BACKEND", "stateBackend", defaults.kind),
                bucket=pick("STATE_BUCKET", "stateBucket", defaults.bucket),
                key=pick("STATE_KEY", "stateKey", defaults.key),
                region=pick("STATE_REGION", "stateRegion", defaults.region),
                local_path=pick("STATE_LOCAL_PATH", "stateLocalPath", defaults.local_path),
            ),
            lambda_runtime=pick("LAMBDA_RUNTIME", "lambdaRuntime", DEFAULT_RUNTIME),
            protect_stateful=_boolean("PROTECT_STATEFUL", pick("PROTECT_STATEFUL", "protectStateful", "true")),
            object_lock_days=_whole("OBJECT_LOCK_DAYS", pick("OBJECT_LOCK_DAYS", "objectLockDays", "1")),
            emulator_endpoint=environ.get("EMULATOR_ENDPOINT") or None,
        )


def _whole(name: str, value: str) -> int:
    if not value.strip().isdigit():
        raise ValueError(f"{name} must be a whole number of days (0 for none), not {value!r}")
    return int(value)


def _boolean(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError(f"{name} must be true or false, not {value!r}")
    return lowered == "true"
