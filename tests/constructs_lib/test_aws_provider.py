"""The provider: emulator settings appear only when an emulator endpoint is given."""

from __future__ import annotations

import json

from cdktf import TerraformStack, Testing

from constructs_lib.aws_provider import EMULATED_SERVICES, ProviderProps, aws_provider


def _provider(props: ProviderProps) -> dict:
    stack = TerraformStack(Testing.app(), "provider")
    aws_provider(stack, "aws", props)
    (provider,) = json.loads(Testing.synth(stack))["provider"]["aws"]
    return provider


def test_emulator_mode_aims_every_service_at_the_endpoint_with_fake_credentials():
    provider = _provider(ProviderProps(region="us-east-1", emulator_endpoint="http://127.0.0.1:4566"))
    (endpoints,) = provider["endpoints"]
    assert set(endpoints.values()) == {"http://127.0.0.1:4566"}
    assert len(endpoints) == len(EMULATED_SERVICES)
    assert (provider["access_key"], provider["secret_key"]) == ("testing", "testing")
    assert provider["s3_use_path_style"] is True
    assert provider["skip_credentials_validation"] is True


def test_without_an_endpoint_the_provider_is_plain_aws(synth):
    (provider,) = synth.json["provider"]["aws"]
    assert set(provider) == {"region", "default_tags"}
