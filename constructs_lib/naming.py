"""Every resource name derived from ResourcePrefix, with the limit of the service that holds it.

One table serves two purposes: constructs take their names from it, and the ResourcePrefix
validation derives its maximum length from it, so a prefix that passes `terraform plan`
always yields names that fit. Adding a derived name here tightens the rule automatically.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# An AWS account id is 12 digits; appended to globally unique names (S3 buckets).
ACCOUNT_ID_LENGTH = 12
# Bucket names S3 refuses to start with; letters, digits and hyphens only, so each is also a
# literal in any regex dialect (Python's, Terraform's RE2).
S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")


@dataclass(frozen=True)
class NameRule:
    suffix: str
    limit: int
    account_scoped: bool = False  # the account id is appended after the suffix

    def fixed_length(self) -> int:
        return len(self.suffix) + (1 + ACCOUNT_ID_LENGTH if self.account_scoped else 0)


class Name(Enum):
    """Derived names. Limits: S3 63, IAM role 64, Lambda 64, CloudFront OAC 64, others larger."""

    DATA_BUCKET = NameRule("-data", 63, account_scoped=True)
    LOG_BUCKET = NameRule("-logs", 63, account_scoped=True)
    TABLE = NameRule("-items", 255)
    FUNCTION = NameRule("-processor", 64)
    FUNCTION_ROLE = NameRule("-processor-role", 64)
    FUNCTION_POLICY = NameRule("-processor-access", 128)
    API = NameRule("-api", 1024)
    API_KEY = NameRule("-api-key", 1024)
    USAGE_PLAN = NameRule("-usage-plan", 1024)
    API_ACCESS_LOGS = NameRule("-api-access", 512)
    API_LOGGING_ROLE = NameRule("-apigw-cloudwatch", 64)
    OAC = NameRule("-data-oac", 64)
    HEADERS_POLICY = NameRule("-security-headers", 128)
    CDN_LOG_SOURCE = NameRule("-cdn-access", 60)
    CDN_LOG_DESTINATION = NameRule("-cdn-access-s3", 60)
    API_WAF = NameRule("-api-waf", 128)
    CDN_WAF = NameRule("-cdn-waf", 128)
    TOPIC = NameRule("-alerts", 256)
    KEY_ALIAS = NameRule("-key", 250)
    HANDLER_ERROR_FILTER = NameRule("-processor-handler-errors", 512)
    METRIC_NAMESPACE = NameRule("/DataProcessor", 255)
    ALARM_LAMBDA_ERRORS = NameRule("-processor-errors", 255)
    ALARM_LAMBDA_THROTTLES = NameRule("-processor-throttles", 255)
    ALARM_HANDLER_ERRORS = NameRule("-processor-handler-errors", 255)
    ALARM_API_5XX = NameRule("-api-5xx", 255)
    ALARM_TABLE_READ_THROTTLES = NameRule("-items-read-throttles", 255)
    ALARM_API_LATENCY = NameRule("-api-latency-p99", 255)
    ALARM_LAMBDA_DURATION = NameRule("-processor-duration", 255)
    ALARM_TABLE_READ_CAPACITY = NameRule("-items-read-capacity", 255)
    DASHBOARD = NameRule("-operations", 255)


# The tightest rule wins.
MIN_PREFIX_LENGTH = 3
MAX_PREFIX_LENGTH = min(rule.value.limit - rule.value.fixed_length() for rule in Name)


def derive(prefix: str, name: Name) -> str:
    """The name for `name` under `prefix` (a token or a literal), without any account suffix."""
    return f"{prefix}{name.value.suffix}"


def alarm_key(name: Name) -> str:
    """An alarm's construct id: its name without the prefix (what it watches), never its position."""
    return name.value.suffix.removeprefix("-")
