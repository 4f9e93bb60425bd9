"""The provider: one region and the default tags, the same for every deployment (the local cloud
aims it at the emulator from outside the synth: tests/local_cloud/test_provider_override.py)."""

from __future__ import annotations

from stacks.facts import REGION, REQUIRED_TAGS


def test_the_provider_is_plain_aws_in_the_region_with_the_required_tags(synth):
    (provider,) = synth.json["provider"]["aws"]
    assert provider == {"region": REGION, "default_tags": [{"tags": REQUIRED_TAGS}]}
