"""Run the pinned cdktf CLI (`npx cdktf`, package.json) as a user does: deploy and destroy a stack.

The flags are the README's: `--auto-approve`, and `--skip-provider-lock`, without which cdktf runs
`terraform providers lock` against the public registry, which an offline machine cannot reach.
cdktf runs the app (cdktf.json's `app`) to synthesize first, unless `synth=False` (`--skip-synth`:
the folder in `outdir` is current). It passes its environment to the app and to terraform, except
that the app never sees `TF_VAR_*`: inputs reach terraform only.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runners import terraform_cli
from runners.terraform_runner import GO_GC_PERCENT, OnLine, TerraformError, error_blocks
from stacks.facts import PROJECT_ROOT

# cdktf prints each of terraform's lines after the stack's name and a column of spaces.
STACK_COLUMN = re.compile(r"^\S+\s{2,}")


@dataclass(frozen=True)
class Cdktf:
    outdir: Path
    env: Mapping[str, str]

    def deploy(self, stack: str, variables: Mapping[str, Any], synth: bool = True, log: Path | None = None, on_line: OnLine = None) -> None:
        self.run("deploy", stack, variables, synth, log, on_line)

    def destroy(
        self, stack: str, variables: Mapping[str, Any], synth: bool = True, log: Path | None = None, on_line: OnLine = None
    ) -> None:
        self.run("destroy", stack, variables, synth, log, on_line)

    def run(self, command: str, stack: str, variables: Mapping[str, Any], synth: bool, log: Path | None, on_line: OnLine) -> None:
        """`npx cdktf COMMAND STACK`; its output to `log` and, line by line, to `on_line`. A failure
        raises TerraformError with terraform's error blocks."""
        args = [
            "npx",
            "--no-install",
            "cdktf",
            command,
            stack,
            "--auto-approve",
            "--skip-provider-lock",
            "--no-color",
            f"--output={self.outdir}",
            *([] if synth else ["--skip-synth"]),
            *(f"--var={name}={value}" for name, value in variables.items()),
        ]
        terraform_cli.configure()
        # CI: cdktf prints plain lines instead of redrawing a terminal. GOGC: as for our own
        # terraform runs (runners/terraform_runner.py), unless the caller chose one.
        env = {"GOGC": GO_GC_PERCENT, **os.environ, "CI": "1", **self.env}
        lines: list[str] = []
        with open(log, "a") if log else open(os.devnull, "w") as sink:
            process = subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for raw in process.stdout:
                line = STACK_COLUMN.sub("", raw.rstrip("\n"))
                lines.append(line)
                sink.write(raw)
                sink.flush()
                if on_line:
                    on_line(line)
            process.wait()
        if process.returncode != 0:
            raise TerraformError(f"(cdktf {command} {stack})", error_blocks(lines) or lines[-40:], log)
