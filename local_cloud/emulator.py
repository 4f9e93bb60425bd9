"""A moto server (the local AWS emulator) on a free loopback port, owned by this process.

Used by the tests and by `make up`. It runs local_cloud/moto_server.py (moto with IAM's condition
rule restored) and is stopped by the PID we started, never by name. A PID is only signalled
while its command line is still our emulator's (`ps`, so Linux and macOS alike).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runners.processes import terminate
from stacks.facts import PROJECT_ROOT, REGION

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def client_env(endpoint: str) -> dict[str, str]:
    """Environment for terraform and the SDKs aimed at an emulator, with fake credentials."""
    return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}


def client(endpoint: str, service: str):
    """A boto3 client for `service` on an emulator, with fake credentials."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PROC = Path("/proc")


def command_line(pid: int) -> list[str] | None:
    """The arguments of a live process, or None if there is none.

    `ps` (Linux and macOS; macOS has no /proc); where it is not installed (slim Linux images),
    /proc. Split on whitespace, so an argument with spaces is several words: enough to find
    "local_cloud.moto_server" and "-p PORT".
    """
    try:
        result = subprocess.run(
            ["ps", "-ww", "-p", str(pid), "-o", "command="],  # -ww: never cut at the terminal width
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except FileNotFoundError:
        try:
            return (PROC / str(pid) / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            return None
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.split() if result.returncode == 0 else None


def launch(module_args: list[str], log_path: Path | None, detach: bool, env: Mapping[str, str] | None = None) -> subprocess.Popen:
    """`python -m MODULE ARGS` in the project, its output to `log_path`; `detach` lets it outlive
    this process (a new session). The child gets its own copy of the log's descriptor: ours is
    closed once it has started; stdin from /dev/null, so a detached child keeps nothing of the
    terminal or pipe it came from."""
    with open(log_path, "ab") if log_path else contextlib.nullcontext(subprocess.DEVNULL) as log:
        return subprocess.Popen(
            [sys.executable, "-m", *module_args],
            cwd=PROJECT_ROOT,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
        )


def stop_pid(pid: int, still_ours: Callable[[], bool], timeout: float = 10) -> bool:
    """SIGTERM, then SIGKILL after `timeout`, a detached process of ours, only while `still_ours()`
    (its command line is still ours: never a reused PID); whether it was running."""
    if not still_ours():
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while still_ours() and time.monotonic() < deadline:
        time.sleep(0.1)
    if still_ours():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return True


@dataclass
class MotoServer:
    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    process: subprocess.Popen | None = None
    # moto's own settings, e.g. INITIAL_NO_AUTH_ACTION_COUNT to have it enforce IAM policies.
    settings: Mapping[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client_env(self) -> dict[str, str]:
        return client_env(self.endpoint)

    def client(self, service: str):
        return client(self.endpoint, service)

    def start(self, timeout: float = 30, detach: bool = False) -> MotoServer:
        """Start and wait until it answers; `detach` lets it outlive this process (`make up`)."""
        self.process = launch(
            ["local_cloud.moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
            self.log_path,
            detach,
            {"MOTO_IAM_LOAD_MANAGED_POLICIES": "true", **self.settings},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"moto_server did not answer on {self.endpoint} within {timeout}s")

    def stop(self) -> None:
        if self.process:
            terminate(self.process)

    @staticmethod
    def is_ours(pid: int, port: int | None = None) -> bool:
        """Whether `pid` is alive and is one of our emulators (on `port`, when given).

        Guards against PID reuse: a PID is ours only while its command line runs
        local_cloud.moto_server (a zombie's has no arguments, so it no longer counts).
        """
        if pid <= 0:
            return False
        args = command_line(pid)
        if not args or "local_cloud.moto_server" not in args:
            return False
        return port is None or any(pair == ("-p", str(port)) for pair in zip(args, args[1:], strict=False))

    @classmethod
    def stop_pid(cls, pid: int, port: int | None = None, timeout: float = 10) -> bool:
        """Stop a detached emulator we started earlier, by its PID; whether one was running."""
        return stop_pid(pid, lambda: cls.is_ours(pid, port), timeout)

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
