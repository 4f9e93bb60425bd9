"""Aims a synthesized stack's AWS provider at the emulator from outside the synth.

Terraform merges every `*_override.tf.json` beside a configuration into it, so the local cloud
writes one next to cdk.tf.json: fake credentials, every service the stack uses at the emulator's
endpoint, path-style S3 and the skip_* checks that only real AWS can answer. The synthesized JSON
a local deployment applies is the one an AWS deployment applies; the constructs never know.
"""

from __future__ import annotations

import json
from pathlib import Path

from constructs_lib.atomic_file import write_atomically
from local_cloud.emulator import FAKE_CREDENTIALS

OVERRIDE_FILE = "emulator_override.tf.json"

# Every service the stacks talk to, by the provider's endpoint argument name.
EMULATED_SERVICES = ("apigateway", "cloudfront", "cloudwatch", "dynamodb", "iam", "kms", "lambda", "logs", "s3", "sns", "sts", "wafv2")


def provider_override(endpoint: str, aliases: list[str] | tuple[str, ...] = ()) -> dict:
    """The override document: the emulator arguments for the default provider and each aliased one
    (Terraform merges an override into the provider block of the same alias only)."""
    emulated = {
        "access_key": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "secret_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "s3_use_path_style": True,
        "skip_credentials_validation": True,
        "skip_metadata_api_check": "true",
        "skip_region_validation": True,
        "endpoints": [{service: endpoint for service in EMULATED_SERVICES}],
    }
    return {"provider": {"aws": [emulated, *({**emulated, "alias": alias} for alias in aliases)]}}


def provider_aliases(stack_dir: Path) -> list[str]:
    """The aliases of the AWS providers the synthesized stack declares (none before its synth)."""
    config = stack_dir / "cdk.tf.json"
    providers = json.loads(config.read_text()).get("provider", {}).get("aws", []) if config.exists() else []
    return sorted(p["alias"] for p in providers if "alias" in p)


def aim_at_emulator(stack_dir: Path, endpoint: str) -> Path:
    """Write the override beside the stack's cdk.tf.json, for every provider it declares (neither
    `python main.py` nor the cdktf CLI removes it; written again after each synth, so an aliased
    provider a new synth adds is covered); the file written."""
    stack_dir.mkdir(parents=True, exist_ok=True)
    path = stack_dir / OVERRIDE_FILE
    write_atomically(path, json.dumps(provider_override(endpoint, provider_aliases(stack_dir)), indent=2) + "\n")
    return path
