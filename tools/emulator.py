"""A moto server (the local AWS emulator) on a free loopback port, owned by this process.

Used by the tests and by `make up`. It runs tools/moto_server.py (moto with IAM's condition
rule restored) and is stopped by the PID we started, never by name.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
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


@dataclass
class MotoServer:
    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client_env(self) -> dict[str, str]:
        return client_env(self.endpoint)

    def client(self, service: str):
        return client(self.endpoint, service)

    def start(self, timeout: float = 30, detach: bool = False) -> "MotoServer":
        """Start and wait until it answers; `detach` lets it outlive this process (`make up`)."""
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
            cwd=PROJECT_ROOT,
            env={**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
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
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @staticmethod
    def is_ours(pid: int) -> bool:
        """Whether `pid` is alive and is one of our emulators (guards against PID reuse)."""
        try:
            return "tools.moto_server" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return False

    @classmethod
    def stop_pid(cls, pid: int, timeout: float = 10) -> None:
        """Stop a detached emulator we started earlier, by its PID."""
        if not cls.is_ours(pid):
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while cls.is_ours(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if cls.is_ours(pid):
            os.kill(pid, signal.SIGKILL)

    def __enter__(self) -> "MotoServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
