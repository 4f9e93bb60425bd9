"""SPEC "Delivery": S3 remote state (encrypted, lock file) from env/context, or a local backend."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from cdktf import TerraformStack, Testing

from constructs_lib.state_backend import StateBackendProps, apply_state_backend
from stacks.settings import MISSING_DEPLOYMENT, MISSING_STATE_BUCKET, PROJECT_ROOT, SettingsError, StackSettings
from tests.support.configurations import only

# An S3 backend's settings, with the deployment they need named.
NAMED = {"STATE_BUCKET": "acme-state", "RESOURCE_PREFIX": "team-a"}


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


def test_each_deployment_has_its_own_state_object_named_after_it(locked_out):
    """s3://<bucket>/data-processing/<RESOURCE_PREFIX>/terraform.tfstate, and the synth's ResourcePrefix."""
    stack_dir, _ = locked_out
    document = json.loads((stack_dir / "cdk.tf.json").read_text())
    assert document["terraform"]["backend"]["s3"]["key"] == "data-processing/team-a/terraform.tfstate"
    assert document["variable"]["ResourcePrefix"]["default"] == "team-a"


def test_the_s3_backend_needs_the_deployment_named_and_judges_the_name_at_synth():
    s3 = {"STATE_BUCKET": "acme-state"}
    with pytest.raises(SettingsError) as refused:
        StackSettings.load(lambda key: None, environ=s3)
    assert str(refused.value) == MISSING_DEPLOYMENT and "RESOURCE_PREFIX" in str(refused.value)
    assert StackSettings.load({"resourcePrefix": "team-b"}.get, environ=s3).backend.key == "data-processing/team-b/terraform.tfstate"
    explicit = StackSettings.load(lambda key: None, environ={**s3, "RESOURCE_PREFIX": "team-b", "STATE_KEY": "old/terraform.tfstate"})
    assert (explicit.deployment, explicit.backend.key) == ("team-b", "old/terraform.tfstate")
    for bad in ("Team-B", "ab", "team-", "xn--team", "t" * 46):
        with pytest.raises(SettingsError, match="is not a valid ResourcePrefix"):
            StackSettings.load(lambda key: None, environ={**s3, "RESOURCE_PREFIX": bad})
    # The local backend (experiments, tests) may leave it unnamed.
    assert StackSettings.load(lambda key: None, environ={"STATE_BACKEND": "local"}).deployment is None


def test_locking_is_a_setting_on_by_default():
    assert StackSettings.load(lambda key: None, environ=NAMED).backend.use_lockfile is True
    settings = StackSettings.load({"stateLockfile": False}.get, environ=NAMED)
    assert "use_lockfile" not in _terraform_block(settings.backend)["backend"]["s3"]
    with pytest.raises(SettingsError, match="STATE_LOCKFILE must be true or false"):
        StackSettings.load(lambda key: None, environ={**NAMED, "STATE_LOCKFILE": "yes"})


def test_local_backend_for_experiments_and_tests():
    assert _terraform_block(StateBackendProps(kind="local"))["backend"] == {"local": {"path": "terraform.tfstate"}}


def test_backend_settings_come_from_environment_then_context_then_defaults():
    context = {"stateBucket": "from-context", "stateKey": "ctx/key.tfstate", "resourcePrefix": "team-a"}
    defaults = StackSettings.load(context.get, environ={}).backend
    assert (defaults.kind, defaults.bucket, defaults.key, defaults.region) == (
        "s3",
        "from-context",
        "ctx/key.tfstate",
        "us-east-1",
    )
    assert StackSettings.load(lambda key: None, environ={"STATE_BUCKET": "bucket-b", "RESOURCE_PREFIX": "bbb"}).backend.key == (
        "data-processing/bbb/terraform.tfstate"
    )
    from_env = StackSettings.load(context.get, environ={"STATE_BUCKET": "from-env", "STATE_BACKEND": "local"}).backend
    assert (from_env.bucket, from_env.key, from_env.kind) == ("from-env", "ctx/key.tfstate", "local")


def test_the_s3_backend_has_no_default_bucket_and_says_how_to_name_one():
    # S3 bucket names are global: any default would be one bucket for every user.
    with pytest.raises(SettingsError) as refused:
        StackSettings.load(lambda key: None, environ={})
    assert "STATE_BUCKET" in str(refused.value) and "stateBucket" in str(refused.value)
    assert "state-bootstrap" in str(refused.value) and "STATE_BACKEND=local" in str(refused.value)
    assert StackSettings.load(lambda key: None, environ={"STATE_BACKEND": "local"}).backend.bucket is None
    with pytest.raises(ValueError, match="needs a bucket name"):
        _terraform_block(StateBackendProps(kind="s3"))


@pytest.mark.parametrize("name", ["My_Bucket", "ab", "a" * 64, "bucket..name", "-bucket", "192.168.0.1", "xn--bucket"])
def test_a_state_bucket_name_s3_would_refuse_is_refused_at_synth(name):
    with pytest.raises(SettingsError, match="not a valid S3 bucket name"):
        StackSettings.load(lambda key: None, environ={"STATE_BUCKET": name})


def test_blank_settings_count_as_unset_and_the_backend_kind_is_checked():
    assert StackSettings.load(lambda key: None, environ={**NAMED, "STATE_BUCKET": " acme-state "}).backend.bucket == "acme-state"
    with pytest.raises(SettingsError, match="needs a bucket of your own"):
        StackSettings.load(lambda key: None, environ={"STATE_BUCKET": "   "})
    assert StackSettings.load(lambda key: None, environ={"STATE_BACKEND": "LOCAL"}).backend.kind == "local"
    with pytest.raises(SettingsError, match="STATE_BACKEND must be one of s3, local"):
        StackSettings.load(lambda key: None, environ={"STATE_BACKEND": "gcs"})


def test_synth_without_a_state_bucket_fails_with_the_message_not_a_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STATE_"))}
    result = subprocess.run(
        [sys.executable, "main.py"], cwd=PROJECT_ROOT, env={**env, "CDKTF_OUTDIR": str(tmp_path)}, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {MISSING_STATE_BUCKET}"


def test_stateful_protection_is_on_unless_switched_off():
    local = {"STATE_BACKEND": "local"}
    assert StackSettings.load(lambda key: None, environ=local).protect_stateful is True
    assert StackSettings.load(lambda key: None, environ={**local, "PROTECT_STATEFUL": "false"}).protect_stateful is False
    assert StackSettings.load({"protectStateful": "false"}.get, environ=local).protect_stateful is False


def test_object_lock_days_come_from_settings_and_zero_is_a_real_answer():
    local = {"STATE_BACKEND": "local"}
    assert StackSettings.load(lambda key: None, environ=local).object_lock_days == 1
    assert StackSettings.load({"objectLockDays": 0}.get, environ=local).object_lock_days == 0
    assert StackSettings.load({"protectStateful": False}.get, environ=local).protect_stateful is False
    assert StackSettings.load(lambda key: None, environ={**local, "OBJECT_LOCK_DAYS": "7"}).object_lock_days == 7


# Bad days on the shared state, on the emulator with IAM enforced (moto checks every request after
# its first INITIAL_NO_AUTH_ACTION_COUNT, here the five that set the account up).
ENGINEER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::acme-state*"},
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": "arn:aws:s3:::acme-state/data-processing/*/terraform.tfstate",
        },
    ],
}


@pytest.fixture(scope="module")
def locked_out(tmp_path_factory):
    """An engineer who may read and write team-a's state but not its lock file, and the stack
    synthesized for the shared state."""
    from local_cloud.emulator import MotoServer, client_env
    from tests.conftest import run_main

    root = tmp_path_factory.mktemp("state-iam")
    with MotoServer(log_path=root / "moto.log", settings={"INITIAL_NO_AUTH_ACTION_COUNT": "5"}) as emulator:
        s3 = emulator.client("s3")
        s3.create_bucket(Bucket="acme-state")
        state = {"version": 4, "terraform_version": "1.11.4", "serial": 3, "lineage": "team-a-lineage", "outputs": {}, "resources": []}
        s3.put_object(Bucket="acme-state", Key="data-processing/team-a/terraform.tfstate", Body=json.dumps(state).encode())
        iam = emulator.client("iam")
        iam.create_user(UserName="engineer")
        iam.put_user_policy(UserName="engineer", PolicyName="state", PolicyDocument=json.dumps(ENGINEER_POLICY))
        key = iam.create_access_key(UserName="engineer")["AccessKey"]
        env = {
            **client_env(emulator.endpoint),
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "AWS_SESSION_TOKEN": "",
        }
        stack_dir = run_main(root / "cdktf.out", STATE_BACKEND="s3", STATE_BUCKET="acme-state", RESOURCE_PREFIX="team-a")
        yield stack_dir, env


def test_a_state_bucket_that_does_not_exist_stops_terraform_init_with_its_name(locked_out, tmp_path):
    from runners.terraform_runner import Terraform

    stack_dir, env = locked_out
    document = json.loads((stack_dir / "cdk.tf.json").read_text())
    document["terraform"]["backend"]["s3"]["bucket"] = "acme-state-typo"
    (tmp_path / "cdk.tf.json").write_text(json.dumps(document))
    result = Terraform(tmp_path, env).run("init", "-input=false", "-no-color", check=False)
    assert result.returncode == 1
    assert 'S3 bucket "acme-state-typo" does not exist' in result.stderr, result.stderr


def test_without_permission_on_the_lock_file_a_plan_is_refused_and_the_state_is_untouched(locked_out, tmp_path):
    from runners.terraform_runner import Terraform

    stack_dir, env = locked_out
    workdir = tmp_path / "data-processing"
    shutil.copytree(stack_dir, workdir)
    terraform = Terraform(workdir, env)
    terraform.init()
    state = terraform.run("state", "pull").stdout
    assert '"lineage": "team-a-lineage"' in state
    result = terraform.run("plan", "-input=false", "-no-color", "-var=AlertEmail=ops@example.com", check=False)
    assert result.returncode == 1
    assert "Error acquiring the state lock" in result.stderr and "AccessDenied" in result.stderr, result.stderr
    assert terraform.run("state", "pull").stdout == state


def _state(*resources: tuple[str, str]) -> bytes:
    """A state as Terraform writes it, holding managed resources (type, name)."""
    return json.dumps(
        {
            "version": 4,
            "terraform_version": "1.11.4",
            "serial": 2,
            "lineage": "stored-lineage",
            "outputs": {},
            "resources": [
                {
                    "mode": "managed",
                    "type": kind,
                    "name": name,
                    "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
                    "instances": [{"schema_version": 0, "attributes": {"id": name}}],
                }
                for kind, name in resources
            ],
        }
    ).encode()


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """team-a's synth for the S3 backend on the emulator, initialised; each test stores what it needs."""
    from local_cloud.emulator import MotoServer
    from local_cloud.provider_override import aim_at_emulator
    from runners.terraform_runner import Terraform
    from tests.conftest import run_main

    root = tmp_path_factory.mktemp("stored-state")
    with MotoServer(log_path=root / "moto.log") as emulator:
        s3 = emulator.client("s3")
        s3.create_bucket(Bucket="acme-state")
        stack_dir = run_main(root / "cdktf.out", STATE_BACKEND="s3", STATE_BUCKET="acme-state", RESOURCE_PREFIX="team-a")
        aim_at_emulator(stack_dir, emulator.endpoint)
        terraform = Terraform(stack_dir, emulator.client_env())
        terraform.init()
        document = json.loads((stack_dir / "cdk.tf.json").read_text())
        yield terraform, s3, document


def _guard_reads(document):
    """The guard's listings of the bucket: the deployment's own key and the old shared one."""
    return [f"data.aws_s3_objects.{name}" for name in document["data"]["aws_s3_objects"]]


def _plan_reading_the_stored_state(terraform, document):
    """A plan of the guard's reads alone (targeted: they are what judges the stored states)."""
    targets = [f"-target={address}" for address in _guard_reads(document)]
    return terraform.run("plan", "-input=false", "-no-color", "-lock=false", "-var=AlertEmail=ops@example.com", *targets, check=False)


def _clear(s3):
    for listed in s3.list_objects_v2(Bucket="acme-state").get("Contents", []):
        s3.delete_object(Bucket="acme-state", Key=listed["Key"])


def test_a_first_plan_beside_an_unmoved_pre_upgrade_state_is_refused(stored):
    terraform, s3, document = stored
    _clear(s3)
    (table,) = document["resource"]["aws_dynamodb_table"]
    s3.put_object(Bucket="acme-state", Key="data-processing/terraform.tfstate", Body=_state(("aws_dynamodb_table", table)))
    result = _plan_reading_the_stored_state(terraform, document)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1
    assert "The state from before per-deployment keys is still at s3://acme-state/data-processing/terraform.tfstate" in output, output


def test_a_pre_upgrade_state_moved_to_its_deployments_key_is_this_stacks(stored):
    """The upgrade path: the old state, copied to the deployment's key, is accepted (its own key now exists)."""
    terraform, s3, document = stored
    _clear(s3)
    (table,) = document["resource"]["aws_dynamodb_table"]
    old = _state(("aws_dynamodb_table", table))
    s3.put_object(Bucket="acme-state", Key="data-processing/terraform.tfstate", Body=old, ContentType="application/json")
    s3.put_object(Bucket="acme-state", Key="data-processing/team-a/terraform.tfstate", Body=old, ContentType="application/json")
    result = _plan_reading_the_stored_state(terraform, document)
    assert result.returncode == 0, result.stderr


def test_the_guards_reads_keep_the_state_the_same_size_from_apply_to_apply(stored, tmp_path):
    """What a data source reads is kept in the state: the guard reads keys only, so a state does
    not grow with each apply (a read of the state object itself would nest a copy per apply)."""
    from runners.terraform_runner import Terraform

    terraform, s3, document = stored
    _clear(s3)
    workdir = tmp_path / "guard"
    workdir.mkdir()
    (workdir / "cdk.tf.json").write_text(
        json.dumps(only(document, ["terraform_data." + next(iter(document["resource"]["terraform_data"])), *_guard_reads(document)]))
    )
    guard = Terraform(workdir, terraform.env)
    guard.init()
    sizes = []
    for _ in range(3):
        guard.apply({"AlertEmail": "ops@example.com"})
        sizes.append(s3.head_object(Bucket="acme-state", Key="data-processing/team-a/terraform.tfstate")["ContentLength"])
    # The first apply read the bucket before its own state existed; from then on the size holds.
    assert sizes[2] == sizes[1], sizes
