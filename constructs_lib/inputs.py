"""The stack's four inputs, each refused at `terraform plan` with its own message when invalid.

ResourcePrefix names the deployment. Its default is the deployment the synth names
(RESOURCE_PREFIX, stacks/settings.py), and constructs_lib/deployment_guard.py keeps a plan of
such a synth to that one name.

Conditions are built from the variable objects (never from raw "${var.x}" strings, which cdktf
escapes inside Fn/Op), and regex backslashes are doubled because the pattern is an HCL string.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, Op, TerraformVariable
from constructs import Construct

from constructs_lib.naming import MAX_PREFIX_LENGTH, MIN_PREFIX_LENGTH, S3_RESERVED_PREFIXES

MIN_CAPACITY = 5
# RFC 5321 caps an address at 254 characters; the pattern asks for local@domain.tld.
EMAIL_PATTERN = (
    "^[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\\\\.[A-Za-z]{2,}$"
)
# Lowercase letters, digits and single hyphens; starts with a letter, ends with a letter or digit.
PREFIX_PATTERN = "^[a-z](?:[a-z0-9]|-[a-z0-9])*$"


@dataclass(frozen=True)
class InputDefaults:
    # The deployment a synth names; unnamed, this one.
    resource_prefix: str = "dataproc"
    read_capacity: int = MIN_CAPACITY
    write_capacity: int = MIN_CAPACITY


class StackInputs(Construct):
    """ResourcePrefix, DynamoDbReadCapacity, DynamoDbWriteCapacity and AlertEmail."""

    def __init__(self, scope: Construct, id_: str, defaults: InputDefaults | None = None) -> None:
        super().__init__(scope, id_)
        defaults = defaults or InputDefaults()

        self.resource_prefix = TerraformVariable(
            scope,
            "ResourcePrefix",
            type="string",
            default=defaults.resource_prefix,
            description=(
                "Prefix of every resource name, so two deployments in one account don't collide: the deployment's name. "
                "Its default is the deployment the synth names (RESOURCE_PREFIX), the only value that synth plans. "
                f"{MIN_PREFIX_LENGTH}-{MAX_PREFIX_LENGTH} lowercase letters, digits and single hyphens, "
                "starting with a letter."
            ),
        )
        prefix = self.resource_prefix.string_value
        self.resource_prefix.add_validation(
            condition=Op.and_(
                Op.gte(Fn.length_of(prefix), MIN_PREFIX_LENGTH),
                Op.lte(Fn.length_of(prefix), MAX_PREFIX_LENGTH),
            ),
            error_message=(
                f"ResourcePrefix must be {MIN_PREFIX_LENGTH} to {MAX_PREFIX_LENGTH} characters long: "
                "the longest derived name (the data bucket, with the account id appended) "
                "must fit S3's 63-character limit."
            ),
        )
        self.resource_prefix.add_validation(
            condition=Fn.can(Fn.regex(PREFIX_PATTERN, prefix)),
            error_message=(
                "ResourcePrefix may hold only lowercase letters, digits and single hyphens, "
                "must start with a letter and must not end with a hyphen (S3, IAM and Lambda "
                "names are built from it)."
            ),
        )
        self.resource_prefix.add_validation(
            condition=Op.not_(Fn.can(Fn.regex(f"^({'|'.join(S3_RESERVED_PREFIXES)})", prefix))),
            error_message=(
                f"ResourcePrefix must not start with {', '.join(S3_RESERVED_PREFIXES[:-1])} or {S3_RESERVED_PREFIXES[-1]} (reserved by S3)."
            ),
        )

        self.read_capacity = self._capacity("DynamoDbReadCapacity", "read", defaults.read_capacity)
        self.write_capacity = self._capacity("DynamoDbWriteCapacity", "write", defaults.write_capacity)

        self.alert_email = TerraformVariable(
            scope,
            "AlertEmail",
            type="string",
            description="Email address subscribed to the alerts topic (AWS sends a confirmation mail).",
        )
        email = self.alert_email.string_value
        self.alert_email.add_validation(
            condition=Op.and_(
                Op.lte(Fn.length_of(email), 254),
                Fn.can(Fn.regex(EMAIL_PATTERN, email)),
            ),
            error_message="AlertEmail must be a plausible email address such as ops@example.com.",
        )

    def _capacity(self, name: str, kind: str, default: int) -> TerraformVariable:
        variable = TerraformVariable(
            self.node.scope,
            name,
            type="number",
            default=default,
            description=f"Provisioned {kind} capacity units of the DynamoDB table (a whole number, at least {MIN_CAPACITY}).",
        )
        value = variable.number_value
        variable.add_validation(
            condition=Op.and_(Op.eq(Fn.floor(value), value), Op.gte(value, MIN_CAPACITY)),
            error_message=f"{name} must be a whole number of at least {MIN_CAPACITY} {kind} capacity units.",
        )
        return variable
