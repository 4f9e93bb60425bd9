"""The stack's four inputs, each refused at `terraform plan` with its own message when invalid.

ResourcePrefix names the deployment, and a deployment keeps its state in the Terraform workspace
named after it: left unset, it is the workspace's name (in the default workspace, the default
deployment's), so selecting the workspace (`TF_WORKSPACE`) is all a deployment needs; set, it must
be that name. The format rules judge the prefix the deployment ends up with, whichever way it came.

Conditions are built from the variable objects (never from raw "${var.x}" strings, which cdktf
escapes inside Fn/Op), and regex backslashes are doubled because the pattern is an HCL string.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, Op, TerraformLocal, TerraformVariable, Token
from constructs import Construct

from constructs_lib.deployment_guard import DEFAULT_WORKSPACE
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
    # The deployment of the default workspace; a named workspace's deployment is the workspace's name.
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
            default=Token.null_value(),
            nullable=True,
            description=(
                "Prefix of every resource name, so two deployments in one account don't collide; the deployment's name. "
                "Unset: the Terraform workspace's name (each deployment keeps its state in its own workspace), "
                f"or {defaults.resource_prefix!r} in the default workspace. "
                f"{MIN_PREFIX_LENGTH}-{MAX_PREFIX_LENGTH} lowercase letters, digits and single hyphens, starting with a letter."
            ),
        )
        given = self.resource_prefix.string_value
        self.workspace = TerraformLocal(scope, "workspace", "${terraform.workspace}").as_string
        effective = Token.as_string(
            Fn.conditional(
                Op.neq(given, Token.null_value()),
                given,
                Fn.conditional(Op.eq(self.workspace, DEFAULT_WORKSPACE), defaults.resource_prefix, self.workspace),
            )
        )
        # What names are built from; the validations below spell it out, since a variable's
        # validation cannot refer to a local that refers to the variable.
        self.prefix = TerraformLocal(scope, "resource_prefix", effective).as_string
        self.resource_prefix.add_validation(
            condition=Op.or_(
                Op.or_(Op.eq(given, Token.null_value()), Op.eq(self.workspace, DEFAULT_WORKSPACE)),
                Op.eq(given, self.workspace),
            ),
            # Terraform renders the message whether or not the condition holds: no null in it.
            error_message=(
                'ResourcePrefix "${coalesce(var.ResourcePrefix, "-")}" is not the deployment of workspace "${terraform.workspace}": '
                "a workspace holds the state of the deployment named after it. Leave ResourcePrefix unset (it is then the "
                "workspace's name), or select that deployment's workspace: export TF_WORKSPACE=${coalesce(var.ResourcePrefix, \"-\")}."
            ),
        )
        prefix = effective
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
