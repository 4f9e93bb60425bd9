"""Where Terraform keeps the stack's state: an encrypted S3 backend with a lock file, or local."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import LocalBackend, S3Backend, TerraformStack

BACKEND_KINDS = ("s3", "local")


@dataclass(frozen=True)
class StateBackendProps:
    kind: str = "s3"
    # The s3 kind needs all three. S3 bucket names are global: no default would be safe to share.
    bucket: str | None = None
    key: str | None = None
    region: str | None = None
    # Local state file, relative to the stack's folder in cdktf.out (experiments and tests).
    local_path: str = "terraform.tfstate"
    # S3-native locking (a lock file beside the state); off only for tools that cannot write it.
    use_lockfile: bool = True


# use_lockfile (S3-native state locking) arrived in Terraform 1.10.
REQUIRED_TERRAFORM = ">= 1.10"


def apply_state_backend(stack: TerraformStack, props: StateBackendProps) -> None:
    stack.add_override("terraform.required_version", REQUIRED_TERRAFORM)
    if props.kind == "local":
        LocalBackend(stack, path=props.local_path)
        return
    if props.kind != "s3":
        raise ValueError(f"state backend must be one of {', '.join(BACKEND_KINDS)}, not {props.kind!r}")
    if not (props.bucket and props.key and props.region):
        raise ValueError("the s3 state backend needs a bucket name, a key and a region")
    S3Backend(stack, bucket=props.bucket, key=props.key, region=props.region, encrypt=True)
    # S3-native locking (Terraform 1.10+); cdktf 0.21's S3Backend has no argument for it.
    if props.use_lockfile:
        stack.add_override("terraform.backend.s3.use_lockfile", True)
