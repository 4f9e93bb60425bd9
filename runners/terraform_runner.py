"""Run terraform in a synthesized stack folder and read its plans and diagnostics as data."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runners import terraform_cli
from runners.processes import terminate

# Go's garbage collector at a quarter of its default frequency for terraform and the provider it
# starts: building the AWS provider's schema is allocation-bound, and this cuts a plan's CPU time by
# about a fifth (13.5 -> 11 CPU-seconds for the whole stack) for about 250 MB more memory per run
# (docs/performance.md). A GOGC of the caller's own wins.
GO_GC_PERCENT = "400"


OnLine = Callable[[str], None] | None


class TerraformError(RuntimeError):
    """A terraform command failed; `errors` holds its error blocks, `log` where its whole output is."""

    def __init__(self, command: str, errors: list[str], log: Path | None) -> None:
        self.command, self.errors, self.log = command, errors, log
        where = f" (whole output: {log})" if log else ""
        super().__init__(f"terraform {command} failed{where}:\n" + "\n".join(errors))


def error_blocks(lines: Sequence[str], limit: int = 60) -> list[str]:
    """From Terraform's first "Error: " line on (with -no-color it prints its diagnostics last)."""
    texts = [line.rstrip() for line in lines]
    first = next((i for i, text in enumerate(texts) if text.startswith("Error: ")), len(texts))
    return texts[first : first + limit]


@dataclass(frozen=True)
class PlanResult:
    returncode: int
    diagnostics: list[dict[str, Any]]
    plan: dict[str, Any] | None

    @property
    def errors(self) -> list[str]:
        """Each error diagnostic as one line: summary and detail, whitespace folded."""
        return [" ".join(f"{d.get('summary', '')} {d.get('detail', '')}".split()) for d in self.diagnostics if d.get("severity") == "error"]


class ProviderServer:
    """One AWS provider process that many terraform commands share, through Terraform's
    reattach protocol (TF_REATTACH_PROVIDERS, made for debugging providers).

    Each terraform command otherwise starts the provider three times (schema, validate, plan),
    and each start builds the provider's whole schema: about three quarters of a plan's CPU time
    (docs/performance.md). For test suites only: the provider keeps the environment it was
    started with (credentials, endpoint), not the one of the terraform that uses it; it resolves
    relative file paths from its own folder, not the configuration's (use `abspath(path.module)`);
    it serves one terraform at a time. The end-to-end test and `make up` start providers as users
    do.
    """

    def __init__(self, env: Mapping[str, str], version: str, log_path: Path) -> None:
        binary = provider_binary(version)
        self.log_path = log_path
        self.lock = threading.Lock()
        self.process = subprocess.Popen(
            [str(binary), "-debug"],
            preexec_fn=_end_with_parent,
            # A CA bundle makes the provider wrap its HTTP client at each configuration, and the
            # second fails on the wrapped one ("unable to add custom RootCAs HTTPClient"): an
            # emulator on loopback needs none.
            env={"GOGC": GO_GC_PERCENT, **{k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.reattach = ""
        for line in self.process.stdout:
            found = re.search(r"TF_REATTACH_PROVIDERS='([^']+)'", line)
            if found:
                self.reattach = found.group(1)
                break
        if not self.reattach:
            self.close()
            raise RuntimeError(f"{binary} -debug did not print its TF_REATTACH_PROVIDERS")
        # Its log (a panic's stack included) must be read, or it blocks on a full pipe.
        threading.Thread(target=self._keep_log, daemon=True).start()

    def _keep_log(self) -> None:
        with self.log_path.open("a") as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()

    @contextlib.contextmanager
    def serving(self):
        """Held while one terraform command uses it: it has one configured client at a time."""
        with self.lock:
            if self.process.poll() is not None:
                raise RuntimeError(f"the shared AWS provider exited with {self.process.returncode}; its log: {self.log_path}")
            yield

    def close(self) -> None:
        terminate(self.process)

    def __enter__(self) -> ProviderServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _end_with_parent() -> None:
    """Linux: the provider gets SIGTERM when the process that started it dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def provider_binary(version: str) -> Path:
    """The AWS provider's executable of `version` in the plugin cache, installed there if need be."""
    pattern = f"{terraform_cli.AWS_PROVIDER}/{version}/*/terraform-provider-aws_v{version}_x*"
    found = sorted(terraform_cli.PLUGIN_CACHE.glob(pattern))
    if not found:
        with tempfile.TemporaryDirectory() as scratch:
            source = terraform_cli.AWS_PROVIDER.removeprefix("registry.terraform.io/")
            required = {"terraform": {"required_providers": {"aws": {"source": source, "version": version}}}}
            Path(scratch, "main.tf.json").write_text(json.dumps(required))
            Terraform(Path(scratch), {}).init()
        found = sorted(terraform_cli.PLUGIN_CACHE.glob(pattern))
    return found[0]


@dataclass
class Terraform:
    workdir: Path
    env: Mapping[str, str]
    # A shared provider process (tests): every command but init attaches to it.
    provider: ProviderServer | None = None

    def run(self, *args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess:
        """`terraform ARGS` in the workdir; without `capture`, its output goes to this stdout."""
        terraform_cli.configure()
        attach = args[0] != "init"
        with self.provider.serving() if self.provider and attach else contextlib.nullcontext():
            return subprocess.run(
                ["terraform", *args],
                cwd=self.workdir,
                env=self._env(attach=attach),
                capture_output=capture,
                text=True,
                check=check,
            )

    def _env(self, attach: bool = True) -> dict[str, str]:
        reattach = {"TF_REATTACH_PROVIDERS": self.provider.reattach} if self.provider and attach else {}
        return {"GOGC": GO_GC_PERCENT, **os.environ, "TF_IN_AUTOMATION": "1", **self.env, **reattach}

    def init(self) -> None:
        # Terraform's plugin cache is not safe for concurrent inits (parallel test workers):
        # one at a time; with the cache warm each takes a second or two.
        lock_path = terraform_cli.configure().with_name("init.lock")
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.run("init", "-input=false", "-no-color")

    def validate(self) -> dict[str, Any]:
        return json.loads(self.run("validate", "-json", check=False).stdout)

    def plan(
        self, variables: Mapping[str, Any], plan_file: str = "plan.bin", targets: Sequence[str] = (), refresh: bool = True
    ) -> PlanResult:
        """`terraform plan` with -var inputs; the plan as `terraform show -json` gives it. Without
        `refresh`, the state is taken as it stands (what the configuration changes, not drift)."""
        result = self.run(
            "plan",
            "-input=false",
            "-lock=false",
            "-json",
            f"-out={plan_file}",
            *([] if refresh else ["-refresh=false"]),
            *self.var_args(variables),
            *(f"-target={target}" for target in targets),
            check=False,
        )
        diagnostics = [
            message["diagnostic"]
            for message in map(json.loads, filter(None, result.stdout.splitlines()))
            if message.get("type") == "diagnostic"
        ]
        plan = None
        if result.returncode == 0:
            plan = json.loads(self.run("show", "-json", plan_file).stdout)
        return PlanResult(result.returncode, diagnostics, plan)

    def planned_actions(self, variables: Mapping[str, Any], refresh: bool = True) -> dict[str, str]:
        """Each resource's planned action (create, update, replace, delete, ...; unchanged ones are
        absent), from `terraform plan -json`'s own stream: half the time of a plan and its show."""
        args = ["plan", "-input=false", "-lock=false", "-json", *([] if refresh else ["-refresh=false"]), *self.var_args(variables)]
        result = self.run(*args, check=False)
        messages = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        errors = [m["diagnostic"] for m in messages if m.get("type") == "diagnostic" and m["diagnostic"].get("severity") == "error"]
        if result.returncode != 0 or errors:
            raise RuntimeError(f"terraform plan failed: {errors or result.stderr}")
        return {m["change"]["resource"]["addr"]: m["change"]["action"] for m in messages if m.get("type") == "planned_change"}

    def apply(self, variables: Mapping[str, Any], targets: Sequence[str] = (), log: Path | None = None, on_line: OnLine = None) -> None:
        """`terraform apply -auto-approve`; see `_change` for `log` and `on_line`."""
        self._change("apply", variables, targets, log, on_line)

    def destroy(self, variables: Mapping[str, Any], log: Path | None = None, on_line: OnLine = None) -> None:
        self._change("destroy", variables, (), log, on_line)

    def _change(self, command: str, variables: Mapping[str, Any], targets: Sequence[str], log: Path | None, on_line: OnLine) -> None:
        """Run it; with `log`, its whole output goes there and each line to `on_line` as it comes.
        A failure raises TerraformError with Terraform's error blocks."""
        args = [
            "terraform",
            command,
            "-input=false",
            "-auto-approve",
            "-no-color",
            *self.var_args(variables),
            *(f"-target={target}" for target in targets),
        ]
        terraform_cli.configure()
        lines: list[str] = []
        serving = self.provider.serving() if self.provider else contextlib.nullcontext()
        with open(log, "a") if log else contextlib.nullcontext() as sink, serving:
            process = subprocess.Popen(args, cwd=self.workdir, env=self._env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for line in process.stdout:
                lines.append(line)
                if sink:
                    sink.write(line)
                    sink.flush()
                if on_line:
                    on_line(line.rstrip("\n"))
            process.wait()
        if process.returncode != 0:
            raise TerraformError(command, error_blocks(lines) or [line.rstrip() for line in lines[-40:]], log)

    def outputs(self) -> dict[str, Any]:
        """Output values by name (sensitive ones included: callers decide what to print)."""
        raw = json.loads(self.run("output", "-json").stdout)
        return {name: spec["value"] for name, spec in raw.items()}

    def state_resources(self) -> list[str]:
        result = self.run("state", "list", check=False)
        return result.stdout.split() if result.returncode == 0 else []

    @staticmethod
    def var_args(variables: Mapping[str, Any]) -> list[str]:
        return [f"-var={name}={value}" for name, value in variables.items()]

    def provider_schema(self) -> dict[str, Any]:
        return json.loads(self.run("providers", "schema", "-json").stdout)
