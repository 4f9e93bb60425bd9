"""`make up` reads like a tool: one progress line for Terraform, its errors when it fails."""

from __future__ import annotations

import io

from local_cloud.up import Progress
from runners.terraform_runner import TerraformError, error_blocks

APPLY = [
    "data.aws_region.region: Reading...",
    "Plan: 3 to add, 0 to change, 0 to destroy.",
    "aws_sns_topic.a: Creating...",
    "aws_sns_topic.a: Creation complete after 1s [id=a]",
    "aws_sns_topic.b: Creation complete after 2s [id=b]",
    "aws_sns_topic.c: Still creating... [10s elapsed]",
    "aws_sns_topic.c: Creation complete after 12s [id=c]",
]
# Terraform's own output for a refused resource, with -no-color (terraform 1.11).
FAILED = [
    "Plan: 1 to add, 0 to change, 0 to destroy.",
    "aws_sns_topic.u: Creating...",
    "",
    "Error: invalid topic name: bad name!",
    "",
    "  with aws_sns_topic.u,",
    "  on bad.tf.json line 1, in resource.aws_sns_topic.u:",
    '   1: {"resource":{"aws_sns_topic":{"u":{"name":"bad name!"}}}}',
    "",
]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_counts_completed_resources_against_the_plans_total():
    out, clock = io.StringIO(), Clock()
    progress = Progress("[3/5] Deploying", "created", out=out, clock=clock)
    for line in APPLY:
        clock.now += 4
        progress(line)
    progress.show(final=True)
    lines = out.getvalue().splitlines()
    # Not a terminal: a line at most every 10 s, and the last one.
    assert lines[-1] == "[3/5] Deploying: 3/3 resources created (28 s)"
    assert len(lines) < len(APPLY)
    assert not any("Still creating" in line or "Reading" in line for line in lines)


def test_progress_rewrites_one_line_in_a_terminal():
    out = Terminal()
    progress = Progress("Destroying", "destroyed", out=out, clock=Clock())
    for line in ["Plan: 0 to add, 0 to change, 2 to destroy.", "x: Destruction complete after 1s", "y: Destruction complete after 1s"]:
        progress(line)
    progress.show(final=True)
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("Destroying: 2/2 resources destroyed (0 s)\n")
    assert "\r\033[KDestroying: 1/2 resources destroyed" in text


def test_a_failure_keeps_terraforms_error_and_names_the_log(tmp_path):
    errors = error_blocks(FAILED)
    assert errors[0] == "Error: invalid topic name: bad name!"
    assert "  with aws_sns_topic.u," in errors and "Plan: 1 to add, 0 to change, 0 to destroy." not in errors
    message = str(TerraformError("apply", errors, tmp_path / "terraform.log"))
    assert message.startswith(f"terraform apply failed (whole output: {tmp_path / 'terraform.log'}):")
    assert "invalid topic name" in message
