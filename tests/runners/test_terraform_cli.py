"""Terraform's CLI config: a local provider mirror when one holds the pinned provider, else the registry."""

from __future__ import annotations

import os

import pytest

from runners import terraform_cli


def _make_mirror(root):
    folder = root / "registry.terraform.io" / "hashicorp" / "aws" / terraform_cli.AWS_PROVIDER_VERSION
    folder.mkdir(parents=True)
    return root


def test_mirror_holding_the_pinned_provider_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_PROVIDER_MIRROR", str(_make_mirror(tmp_path)))
    text = terraform_cli.render(terraform_cli.find_mirror())
    assert f'path    = "{tmp_path}"' in text
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in text
    assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in text


def test_registry_is_used_when_mirror_is_switched_off(monkeypatch):
    monkeypatch.setenv("TF_PROVIDER_MIRROR", "none")
    assert terraform_cli.find_mirror() is None
    assert "provider_installation" not in terraform_cli.render(None)


def test_a_mirror_without_the_pinned_provider_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_PROVIDER_MIRROR", str(tmp_path))
    with pytest.raises(RuntimeError, match="5.100.0"):
        terraform_cli.find_mirror()


def test_configure_exports_the_project_config_file():
    path = terraform_cli.configure()
    assert os.environ["TF_CLI_CONFIG_FILE"] == str(path)
    assert path.is_file()
