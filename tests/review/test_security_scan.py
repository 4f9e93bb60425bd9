"""Issue 6: the checkov gate over the synthesized Terraform JSON: zero failed checks."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from review.security_scan import CONFIG, scan, scannable_copy
from stacks.facts import PROJECT_ROOT


@pytest.mark.slow
def test_checkov_finds_no_failed_checks(synth):
    result = scan(synth.stack_dir / "cdk.tf.json")
    assert result.failures() == []
    assert result.passed > 150


@pytest.mark.slow
def test_the_gate_fails_when_a_bucket_loses_its_public_access_block(synth, tmp_path):
    document = synth.json
    del document["resource"]["aws_s3_bucket_public_access_block"]
    broken = tmp_path / "cdk.tf.json"
    broken.write_text(json.dumps(document))
    assert any(line.startswith("CKV2_AWS_6 ") for line in scan(broken).failures())


def test_every_skipped_check_is_explained_in_the_security_docs():
    skipped = yaml.safe_load(CONFIG.read_text())["skip-check"]
    assert len(skipped) == len(set(skipped))
    security = (PROJECT_ROOT / "docs" / "security.md").read_text()
    explained = set(re.findall(r"^\| `(CKV2?_AWS_\d+)` \|", security, flags=re.M))
    assert set(skipped) == explained


def test_only_the_scan_copy_drops_the_terraform_version_constraint_and_the_moved_blocks(synth, tmp_path):
    # checkov 3.3.30 crashes on terraform.required_version in .tf.json (bridgecrewio/checkov#7454)
    # and on a `moved` list; neither configures a resource.
    copy = json.loads(scannable_copy(synth.stack_dir / "cdk.tf.json", tmp_path).read_text())
    assert "required_version" not in copy["terraform"] and "moved" not in copy
    original = synth.json
    assert original["terraform"].pop("required_version") == ">= 1.10"
    assert original.pop("moved")
    assert copy == original
