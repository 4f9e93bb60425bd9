"""The AWS provider: one fixed region and the default tags every taggable resource carries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct


@dataclass(frozen=True)
class ProviderProps:
    region: str
    default_tags: Mapping[str, str] = field(default_factory=dict)
    # A second provider (another region) is named by its alias; resources choose it with `provider=`.
    alias: str | None = None


def aws_provider(scope: Construct, id_: str, props: ProviderProps) -> AwsProvider:
    tags = [AwsProviderDefaultTags(tags=dict(props.default_tags))] if props.default_tags else None
    return AwsProvider(scope, id_, region=props.region, default_tags=tags, alias=props.alias)
