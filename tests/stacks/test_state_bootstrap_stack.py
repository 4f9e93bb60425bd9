"""Issue 7: the state bootstrap stack creates the remote-state bucket, protected against destroy."""

from __future__ import annotations

import json
import shutil

import pytest

from runners.terraform_runner import Terraform
from tests.conftest import run_main

STATE_BUCKET = "acme-dataproc-tfstate-123456789012"


@pytest.fixture(scope="module")
def bootstrap_dir(tmp_path_factory):
    return run_main(tmp_path_factory.mktemp("bootstrap"), STATE_BUCKET=STATE_BUCKET).parent / "state-bootstrap"


@pytest.fixture(scope="module")
def bootstrap(bootstrap_dir):
    return json.loads((bootstrap_dir / "cdk.tf.json").read_text())


def _only(document, resource_type):
    (config,) = document["resource"][resource_type].values()
    return config


def test_state_bucket_is_the_backend_bucket_with_its_own_local_state(bootstrap):
    # The same setting (STATE_BUCKET) names the main stack's S3 backend bucket.
    assert _only(bootstrap, "aws_s3_bucket")["bucket"] == STATE_BUCKET
    assert bootstrap["terraform"]["backend"] == {"local": {"path": "../../../state-bootstrap.tfstate"}}


def test_no_bootstrap_stack_without_a_named_state_bucket(synth):
    # The session synth uses a local backend and names no bucket: nothing to bootstrap.
    assert not (synth.outdir / "stacks" / "state-bootstrap").exists()


def test_state_bucket_is_versioned_encrypted_private_and_owner_enforced(bootstrap):
    assert _only(bootstrap, "aws_s3_bucket_versioning")["versioning_configuration"] == {"status": "Enabled"}
    (rule,) = _only(bootstrap, "aws_s3_bucket_server_side_encryption_configuration")["rule"]
    assert rule["apply_server_side_encryption_by_default"]["sse_algorithm"] == "AES256"
    block = _only(bootstrap, "aws_s3_bucket_public_access_block")
    assert all(block[f] is True for f in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    assert _only(bootstrap, "aws_s3_bucket_ownership_controls")["rule"] == {"object_ownership": "BucketOwnerEnforced"}


def test_state_bucket_denies_non_tls_and_keeps_old_state_versions_for_a_while(bootstrap):
    (document,) = bootstrap["data"]["aws_iam_policy_document"].values()
    (deny,) = document["statement"]
    assert (deny["sid"], deny["effect"]) == ("DenyInsecureTransport", "Deny")
    (rule,) = _only(bootstrap, "aws_s3_bucket_lifecycle_configuration")["rule"]
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 90}]


def test_state_bucket_refuses_destroy(bootstrap):
    assert _only(bootstrap, "aws_s3_bucket")["lifecycle"] == {"prevent_destroy": True}
    assert _only(bootstrap, "aws_s3_bucket")["force_destroy"] is False


def test_bootstrap_plans_on_the_emulator(bootstrap_dir, emulator, provider, tmp_path):
    workdir = tmp_path / "state-bootstrap"
    shutil.copytree(bootstrap_dir, workdir)
    document = json.loads((workdir / "cdk.tf.json").read_text())
    document["terraform"]["backend"] = {"local": {"path": "terraform.tfstate"}}  # not the project's file
    (workdir / "cdk.tf.json").write_text(json.dumps(document))
    terraform = Terraform(workdir, emulator.client_env(), provider)
    terraform.init()
    result = terraform.plan({}, plan_file="bootstrap.plan")
    assert result.returncode == 0, result.errors
    created = {c["type"] for c in result.plan["resource_changes"] if c["change"]["actions"] == ["create"]}
    assert {"aws_s3_bucket", "aws_s3_bucket_versioning", "aws_s3_bucket_policy"} <= created


def test_a_state_bucket_in_another_region_is_created_and_listed_there(tmp_path):
    """STATE_REGION names where the backend looks: the bootstrap creates the bucket there, and the
    deployment guard lists it through a provider of that region (S3 refuses a listing sent to
    another region); the service's own resources stay in the stack's region."""
    service = run_main(tmp_path, STATE_BACKEND="s3", STATE_BUCKET=STATE_BUCKET, RESOURCE_PREFIX="team-a", STATE_REGION="eu-west-1")
    document = json.loads((service / "cdk.tf.json").read_text())
    regions = {provider.get("alias", "default"): provider["region"] for provider in document["provider"]["aws"]}
    assert regions == {"default": "us-east-1", "state": "eu-west-1"}
    assert {listing["provider"] for listing in document["data"]["aws_s3_objects"].values()} == {"aws.state"}
    assert all("provider" not in config for named in document["resource"].values() for config in named.values())
    bootstrap = json.loads((service.parent / "state-bootstrap" / "cdk.tf.json").read_text())
    assert [provider["region"] for provider in bootstrap["provider"]["aws"]] == ["eu-west-1"]
    assert bootstrap["output"]["state_region"]["value"] == "eu-west-1"
    # In the stack's region, one provider and no alias.
    default = json.loads(
        (
            run_main(tmp_path / "default", STATE_BACKEND="s3", STATE_BUCKET=STATE_BUCKET, RESOURCE_PREFIX="team-a") / "cdk.tf.json"
        ).read_text()
    )
    assert len(default["provider"]["aws"]) == 1 and all("provider" not in d for d in default["data"]["aws_s3_objects"].values())
