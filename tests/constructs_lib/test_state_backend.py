"""SPEC "Delivery": S3 remote state (encrypted, lock file) from env/context, or a local backend."""

from __future__ import annotations

import json

from cdktf import TerraformStack, Testing

from constructs_lib.state_backend import StateBackendProps, apply_state_backend
from stacks.settings import StackSettings


def _terraform_block(props: StateBackendProps) -> dict:
    stack = TerraformStack(Testing.app(), "backend")
    apply_state_backend(stack, props)
    return json.loads(Testing.synth(stack))["terraform"]


def test_remote_state_is_an_encrypted_s3_backend_with_a_lock_file():
    block = _terraform_block(StateBackendProps(bucket="state-bucket", key="a/b.tfstate", region="us-east-1"))
    assert block["backend"] == {
        "s3": {
            "bucket": "state-bucket",
            "key": "a/b.tfstate",
            "region": "us-east-1",
            "encrypt": True,
            "use_lockfile": True,
        }
    }
    assert block["required_version"] == ">= 1.10"


def test_local_backend_for_experiments_and_tests():
    assert _terraform_block(StateBackendProps(kind="local"))["backend"] == {"local": {"path": "terraform.tfstate"}}


def test_backend_settings_come_from_environment_then_context_then_defaults():
    defaults = StackSettings.load(lambda key: None, environ={}).backend
    assert (defaults.kind, defaults.bucket, defaults.key, defaults.region) == (
        "s3",
        "dataproc-terraform-state",
        "data-processing/terraform.tfstate",
        "us-east-1",
    )
    context = {"stateBucket": "from-context", "stateKey": "ctx/key.tfstate"}
    from_context = StackSettings.load(context.get, environ={}).backend
    assert (from_context.bucket, from_context.key) == ("from-context", "ctx/key.tfstate")
    from_env = StackSettings.load(context.get, environ={"STATE_BUCKET": "from-env", "STATE_BACKEND": "local"}).backend
    assert (from_env.bucket, from_env.key, from_env.kind) == ("from-env", "ctx/key.tfstate", "local")



def test_stateful_protection_is_on_unless_switched_off():
    assert StackSettings.load(lambda key: None, environ={}).protect_stateful is True
    assert StackSettings.load(lambda key: None, environ={"PROTECT_STATEFUL": "false"}).protect_stateful is False
    assert StackSettings.load({"protectStateful": "false"}.get, environ={}).protect_stateful is False


def test_object_lock_days_come_from_settings_and_zero_is_a_real_answer():
    assert StackSettings.load(lambda key: None, environ={}).object_lock_days == 1
    assert StackSettings.load({"objectLockDays": 0}.get, environ={}).object_lock_days == 0
    assert StackSettings.load({"protectStateful": False}.get, environ={}).protect_stateful is False
    assert StackSettings.load(lambda key: None, environ={"OBJECT_LOCK_DAYS": "7"}).object_lock_days == 7
