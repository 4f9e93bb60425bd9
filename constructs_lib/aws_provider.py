"""The AWS provider: one fixed region, default tags, and an optional local emulator.

Emulator mode (a moto server on loopback) aims every service the stack uses at one endpoint,
with fake credentials, path-style S3 and the skip_* flags that real AWS does not need. It is
switched on only by an explicit endpoint, never by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags, AwsProviderEndpoints
from constructs import Construct

# Every service the stack talks to, by the provider's endpoint argument name.
EMULATED_SERVICES = (
    "apigateway",
    "cloudfront",
    "cloudwatch",
    "dynamodb",
    "iam",
    "kms",
    "lambda_",
    "logs",
    "s3",
    "sns",
    "sts",
)
FAKE_CREDENTIAL = "testing"


@dataclass(frozen=True)
class ProviderProps:
    region: str
    default_tags: Mapping[str, str] = field(default_factory=dict)
    emulator_endpoint: str | None = None


def aws_provider(scope: Construct, id_: str, props: ProviderProps) -> AwsProvider:
    tags = [AwsProviderDefaultTags(tags=dict(props.default_tags))] if props.default_tags else None
    if not props.emulator_endpoint:
        return AwsProvider(scope, id_, region=props.region, default_tags=tags)
    return AwsProvider(
        scope,
        id_,
        region=props.region,
        default_tags=tags,
        access_key=FAKE_CREDENTIAL,
        secret_key=FAKE_CREDENTIAL,
        s3_use_path_style=True,
        skip_credentials_validation=True,
        skip_metadata_api_check="true",
        skip_region_validation=True,
        endpoints=[AwsProviderEndpoints(**{service: props.emulator_endpoint for service in EMULATED_SERVICES})],
    )
