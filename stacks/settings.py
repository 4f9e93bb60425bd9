"""Synth-time settings, from the environment, then cdktf context, then the defaults below.

`SETTINGS` is the one home of every setting: its environment variable, its cdktf.json context
key, its default and what it does. `StackSettings.load` reads them, and the settings table in
docs/settings.md is rendered from them (`python -m dev_tools.docs`), so neither can drift.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from constructs_lib.inputs import PREFIX_PATTERN
from constructs_lib.naming import MAX_PREFIX_LENGTH, MIN_PREFIX_LENGTH, S3_RESERVED_PREFIXES
from constructs_lib.node_package import DEFAULT_RUNTIME
from constructs_lib.state_backend import BACKEND_KINDS, StateBackendProps
from stacks.facts import PROJECT_ROOT, REGION, STACK_NAME

MISSING_STATE_BUCKET = (
    "The S3 state backend needs a bucket of your own: S3 bucket names are global, so there is no "
    'default. Set STATE_BUCKET (or "stateBucket" in cdktf.json\'s context) to a name only you '
    "would choose, e.g. acme-dataproc-tfstate-<account id>, and create it once with "
    "`npx cdktf deploy state-bootstrap`. For experiments, STATE_BACKEND=local keeps state in a local file."
)

MISSING_DEPLOYMENT = (
    "The S3 state backend keeps one state per deployment, at data-processing/<ResourcePrefix>/terraform.tfstate: "
    'name the deployment with RESOURCE_PREFIX=<prefix> (or "resourcePrefix" in cdktf.json\'s context). It is '
    "also the ResourcePrefix input's default, and every plan of this synth must use it."
)

# S3's general purpose bucket naming rules: 3-63 lowercase letters, digits, dots and hyphens,
# starting and ending with a letter or digit, no "..", not an IP address, no reserved prefix.
BUCKET_NAME = re.compile(rf"^(?!{'|'.join(S3_RESERVED_PREFIXES)})(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)[a-z0-9][a-z0-9.-]{{1,61}}[a-z0-9]$")


class SettingsError(ValueError):
    """A synth-time setting is missing or malformed; the message says how to set it."""


def _text(name: str, value: str) -> str:
    return value


def _optional(name: str, value: str) -> str | None:
    return value or None


def _backend_kind(name: str, value: str) -> str:
    if value.lower() not in BACKEND_KINDS:
        raise SettingsError(f"{name} must be one of {', '.join(BACKEND_KINDS)}, not {value!r}")
    return value.lower()


def _boolean(name: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise SettingsError(f"{name} must be true or false, not {value!r}")
    return value.lower() == "true"


def _whole(name: str, value: str) -> int:
    if not value.isdigit():
        raise SettingsError(f"{name} must be a whole number of days (0 for none), not {value!r}")
    return int(value)


def _positive_or_unset(unset: str) -> Callable[[str, str], int | None]:
    """A parser of a whole number of at least 1, or nothing; `unset` says what nothing means."""

    def parse(name: str, value: str) -> int | None:
        if not value:
            return None
        if not value.isdigit() or int(value) < 1:
            raise SettingsError(f"{name} must be a whole number of at least 1 (unset: {unset}), not {value!r}")
        return int(value)

    return parse


def _deployment(name: str, value: str) -> str | None:
    """A deployment's name: a ResourcePrefix, judged by the rules its validation applies at plan."""
    if not value:
        return None
    if not (MIN_PREFIX_LENGTH <= len(value) <= MAX_PREFIX_LENGTH and re.fullmatch(PREFIX_PATTERN, value)) or value.startswith(
        S3_RESERVED_PREFIXES
    ):
        raise SettingsError(
            f"{name} {value!r} is not a valid ResourcePrefix: {MIN_PREFIX_LENGTH}-{MAX_PREFIX_LENGTH} lowercase letters, digits "
            f"and single hyphens, starting with a letter, not starting with {', '.join(S3_RESERVED_PREFIXES)}"
        )
    return value


def _bucket_name(name: str, value: str) -> str | None:
    if value and not BUCKET_NAME.match(value):
        raise SettingsError(
            f"{name} {value!r} is not a valid S3 bucket name: 3-63 lowercase letters, digits, "
            "dots and hyphens, starting and ending with a letter or digit"
        )
    return value or None


@dataclass(frozen=True)
class Setting:
    field: str  # the StackSettings (or, as backend.x, StateBackendProps) field it sets
    env: str
    context: str | None  # its key in cdktf.json's context; None: environment only
    default: str  # as it would be written in the environment; "" is unset
    description: str
    parse: Callable[[str, str], Any] = _text


def _construct_default(field: str) -> str:
    """A backend setting's default is the construct's own (constructs_lib/state_backend.py), as text."""
    value = getattr(StateBackendProps(), field)
    return str(value).lower() if isinstance(value, bool) else str(value)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "deployment",
        "RESOURCE_PREFIX",
        "resourcePrefix",
        "",
        "The deployment's name, its ResourcePrefix: required by the `s3` backend, whose state key it names "
        f"(`{STACK_NAME}/<prefix>/terraform.tfstate`); the ResourcePrefix input's default, and the only value "
        "a plan of this synth takes (unset, with the local backend: any prefix, the default `dataproc`)",
        _deployment,
    ),
    Setting(
        "backend.kind",
        "STATE_BACKEND",
        "stateBackend",
        _construct_default("kind"),
        "Where Terraform keeps state: `s3` or `local`",
        _backend_kind,
    ),
    Setting(
        "backend.bucket",
        "STATE_BUCKET",
        "stateBucket",
        "",
        "The state bucket, required by the `s3` backend: S3 names are global, so there is no default",
        _bucket_name,
    ),
    Setting(
        "backend.key",
        "STATE_KEY",
        "stateKey",
        "",
        f"The state object's key (unset: `{STACK_NAME}/<RESOURCE_PREFIX>/terraform.tfstate`, the deployment's own)",
        _optional,
    ),
    Setting(
        "backend.region",
        "STATE_REGION",
        "stateRegion",
        REGION,
        "The state bucket's region: state-bootstrap creates it there, and the deployment guard lists it there",
    ),
    Setting(
        "backend.use_lockfile",
        "STATE_LOCKFILE",
        "stateLockfile",
        _construct_default("use_lockfile"),
        "State locking with an S3 lock file (`use_lockfile`)",
        _boolean,
    ),
    Setting(
        "backend.local_path",
        "STATE_LOCAL_PATH",
        "stateLocalPath",
        _construct_default("local_path"),
        "The local backend's state file, relative to the stack's folder",
    ),
    Setting("lambda_runtime", "LAMBDA_RUNTIME", "lambdaRuntime", DEFAULT_RUNTIME, "The function's Node.js runtime"),
    Setting(
        "protect_stateful",
        "PROTECT_STATEFUL",
        "protectStateful",
        "true",
        "Deletion protection on the table; buckets not force-destroyed",
        _boolean,
    ),
    Setting(
        "object_lock_days",
        "OBJECT_LOCK_DAYS",
        "objectLockDays",
        "1",
        "Default Object Lock retention of results, GOVERNANCE mode, in days (0: none)",
        _whole,
    ),
    Setting(
        "reserved_concurrency",
        "RESERVED_CONCURRENCY",
        "reservedConcurrency",
        "",
        "Reserved concurrency of the function, a whole number of at least 1 (unset: no reservation)",
        _positive_or_unset("no reservation"),
    ),
    Setting(
        "own_security_headers",
        "OWN_SECURITY_HEADERS",
        "ownSecurityHeaders",
        "true",
        "CloudFront answers with a response headers policy of the stack's own (HSTS with preload); "
        "`false` uses AWS's managed SecurityHeadersPolicy",
        _boolean,
    ),
    Setting(
        "cdn_wait_for_deployment",
        "CDN_WAIT_FOR_DEPLOYMENT",
        "cdnWaitForDeployment",
        "true",
        "`terraform apply` waits until CloudFront has deployed the distribution to its edge locations; "
        "`false` returns once CloudFront accepted it",
        _boolean,
    ),
    Setting(
        "manage_api_account",
        "MANAGE_API_ACCOUNT",
        "manageApiAccount",
        "true",
        "The deployment sets the region-wide API Gateway logging role (one setting per account and region); "
        "`false` for every deployment but one in a region, so they stop flipping it to their own role",
        _boolean,
    ),
    Setting(
        "api_requests_per_day",
        "API_REQUESTS_PER_DAY",
        None,
        "",
        "The usage plan's quota of requests per day per API key (unset: the API construct's default, the "
        "specification's 1000); a smaller one is for tests of the quota, never for production",
        _positive_or_unset("the API construct's 1000"),
    ),
)


def deployment_state_key(deployment: str) -> str:
    """Where a deployment keeps its state in the state bucket."""
    return f"{STACK_NAME}/{deployment}/terraform.tfstate"


# Where releases before per-deployment keys kept the one state (docs/delivery.md, "Upgrading from one shared key").
LEGACY_STATE_KEY = f"{STACK_NAME}/terraform.tfstate"


def _file_context() -> dict[str, Any]:
    """cdktf.json's context: the cdktf CLI passes it to the app, `python main.py` does not."""
    config = PROJECT_ROOT / "cdktf.json"
    return json.loads(config.read_text()).get("context", {}) if config.exists() else {}


@dataclass(frozen=True)
class StackSettings:
    deployment: str | None
    backend: StateBackendProps
    lambda_runtime: str
    protect_stateful: bool
    object_lock_days: int
    reserved_concurrency: int | None
    own_security_headers: bool
    cdn_wait_for_deployment: bool
    manage_api_account: bool
    api_requests_per_day: int | None

    @classmethod
    def load(
        cls,
        context: Callable[[str], Any] = lambda _key: None,
        environ: Mapping[str, str] = os.environ,
    ) -> StackSettings:
        """`context` is the app's context lookup, e.g. `app.node.try_get_context`."""
        file_context = _file_context()

        def pick(setting: Setting) -> Any:
            sources = [environ.get(setting.env)]
            if setting.context:
                sources += [context(setting.context), file_context.get(setting.context)]
            text = setting.default
            # `is not None`, not truthiness: 0 and false are real answers.
            for value in sources:
                if value is not None and str(value).strip() != "":
                    text = str(value).lower() if isinstance(value, bool) else str(value).strip()
                    break
            return setting.parse(setting.env, text)

        values = {setting.field: pick(setting) for setting in SETTINGS}
        backend = StateBackendProps(**{f.removeprefix("backend."): v for f, v in values.items() if f.startswith("backend.")})
        if backend.kind == "s3" and backend.bucket is None:
            raise SettingsError(MISSING_STATE_BUCKET)
        if backend.kind == "s3" and values["deployment"] is None:
            raise SettingsError(MISSING_DEPLOYMENT)
        if backend.kind == "s3" and backend.key is None:
            backend = replace(backend, key=deployment_state_key(values["deployment"]))
        return cls(backend=backend, **{f: v for f, v in values.items() if not f.startswith("backend.")})
