"""Lambda execution environments for the local API: the deployed package, run by long-lived node
processes (local_cloud/lambda_runtime.js), one invocation at a time each, as Lambda runs them.

What is Lambda's own: the package is the one the function was deployed with (its SHA-256 must
equal the function's CodeSha256), unpacked once; the environment is the function's deployed
variables plus Lambda's reserved ones; an environment is started on demand (its first
invocation is a cold start) up to the pool's size and reused after; an invocation that outlives
the function's timeout gets its environment killed, as Lambda does. What stands in: the
runtime's bundled AWS SDK is the handler's own node_modules (NODE_PATH), and credentials and
the endpoint are the emulator's.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import math
import os
import re
import select
import subprocess
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.facts import PROJECT_ROOT

RUNTIME_SCRIPT = Path(__file__).with_name("lambda_runtime.js")
# The runtime's bundled SDK (Lambda puts it on NODE_PATH): the handler's pinned dev copy.
BUNDLED_SDK = PROJECT_ROOT / "handler" / "node_modules"


@dataclass(frozen=True)
class FunctionConfig:
    """What the pool needs of the deployed function (GetFunctionConfiguration)."""

    name: str
    arn: str
    runtime: str
    handler: str
    timeout_seconds: int
    memory_mb: int
    code_sha256: str  # base64, as Lambda reports it
    environment: Mapping[str, str]
    log_group: str

    @classmethod
    def from_api(cls, configuration: Mapping[str, Any]) -> FunctionConfig:
        return cls(
            name=configuration["FunctionName"],
            arn=configuration["FunctionArn"],
            runtime=configuration["Runtime"],
            handler=configuration["Handler"],
            timeout_seconds=configuration["Timeout"],
            memory_mb=configuration["MemorySize"],
            code_sha256=configuration["CodeSha256"],
            environment=dict(configuration.get("Environment", {}).get("Variables", {})),
            log_group=configuration.get("LoggingConfig", {}).get("LogGroup") or f"/aws/lambda/{configuration['FunctionName']}",
        )


def sha256_base64(path: Path) -> str:
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def unpack_deployed_package(config: FunctionConfig, search_dir: Path, target_root: Path) -> Path:
    """Unzip the package under `search_dir` whose digest is the function's CodeSha256."""
    for candidate in sorted(search_dir.rglob("*.zip")):
        if sha256_base64(candidate) == config.code_sha256:
            target = target_root / hashlib.sha256(config.code_sha256.encode()).hexdigest()[:16]
            if not target.exists():
                staging = target.with_name(target.name + f".{os.getpid()}")
                with zipfile.ZipFile(candidate) as archive:
                    archive.extractall(staging)
                staging.rename(target)
            return target
    raise LookupError(f"no package under {search_dir} has the deployed function's CodeSha256 {config.code_sha256}")


@dataclass(frozen=True)
class Outcome:
    """One invocation: the handler's response, or the error Lambda would report."""

    response: Any = None
    error: Mapping[str, Any] | None = None
    cold_start: bool = False
    # The caller's deadline passed before the function's own timeout (API Gateway's integration
    # timeout): the caller stops waiting.
    caller_timed_out: bool = False


def bundled_sdk_prefix(runtime: str) -> str:
    """What the runtime bundles: SDK v3 (`@aws-sdk/...`) from nodejs18.x on, SDK v2 (`aws-sdk`) before."""
    major = int(re.match(r"nodejs(\d+)", runtime).group(1))
    return "@aws-sdk/" if major >= 18 else "aws-sdk"


def node_major() -> int | None:
    result = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    match = re.match(r"v(\d+)\.", result.stdout)
    return int(match.group(1)) if match else None


class _Environment:
    def __init__(self, config: FunctionConfig, package_dir: Path, env: Mapping[str, str], on_log: Callable[[str], None]) -> None:
        read_fd, write_fd = os.pipe()
        self.process = subprocess.Popen(
            # The heap capped at the function's memory, as Lambda caps the environment.
            ["node", f"--max-old-space-size={config.memory_mb}", str(RUNTIME_SCRIPT), str(package_dir), config.handler, str(write_fd)]
            + [bundled_sdk_prefix(config.runtime)],
            cwd=package_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(env),
            pass_fds=(write_fd,),
            encoding="utf-8",
            errors="replace",
        )
        os.close(write_fd)
        self.results = read_fd
        os.set_blocking(read_fd, False)
        self.pending = b""
        threading.Thread(target=self._pump_logs, args=(on_log,), daemon=True).start()

    def _pump_logs(self, on_log: Callable[[str], None]) -> None:
        for line in self.process.stdout:
            on_log(line.rstrip("\n"))

    def invoke(self, message: Mapping[str, Any], timeout: float) -> dict[str, Any] | None:
        """The result line, or None when the environment did not answer in `timeout` seconds or died."""
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        deadline = time.monotonic() + timeout
        while b"\n" not in self.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.results], [], [], remaining)[0]:
                return None
            chunk = os.read(self.results, 65536)
            if not chunk:  # the runtime exited
                return None
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:  # not the runtime's answer: treated as a crash
            return None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self.results)


class RuntimePool:
    """Up to `size` execution environments of one function, each serving one invocation at a time."""

    def __init__(
        self,
        config: FunctionConfig,
        package_dir: Path,
        client_env: Mapping[str, str],
        size: int,
        on_log: Callable[[str], None],
    ) -> None:
        self.config = config
        self.package_dir = package_dir
        self.size = size
        self.on_log = on_log
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "NODE_PATH": str(BUNDLED_SDK),
            **config.environment,
            # Lambda's reserved variables, which the function's own cannot override.
            **client_env,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": config.log_group,
            "LAMBDA_TASK_ROOT": str(package_dir),
        }
        runtime_major = int(re.match(r"nodejs(\d+)", config.runtime).group(1))
        local_major = node_major()
        self.notes = []
        if local_major != runtime_major:
            self.notes.append(f"{config.name} is deployed on {config.runtime}; here it runs on node {local_major}")
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[_Environment] = []  # the most recently used last: kept warm
        self._all: list[_Environment] = []
        self.closed = False

    def invoke(self, event: Mapping[str, Any], caller_timeout_ms: int | None = None) -> Outcome:
        """Runs `event`; a caller that waits at most `caller_timeout_ms` gets `caller_timed_out`."""
        with self._slots:
            with self._lock:
                if self.closed:
                    return Outcome(error={"errorType": "Runtime.Unavailable", "errorMessage": "the local API is stopping"})
                environment = self._idle.pop() if self._idle else None
            cold = environment is None
            if cold:
                environment = _Environment(self.config, self.package_dir, self.env, self.on_log)
                with self._lock:
                    self._all.append(environment)
            return self._run(environment, event, cold, caller_timeout_ms)

    def _run(self, environment: _Environment, event: Mapping[str, Any], cold: bool, caller_timeout_ms: int | None) -> Outcome:
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        deadline_ms = int(time.time() * 1000) + self.config.timeout_seconds * 1000
        message = {
            "id": request_id,
            "event": event,
            "context": {
                "awsRequestId": request_id,
                "functionName": self.config.name,
                "functionVersion": "$LATEST",
                "invokedFunctionArn": self.config.arn,
                "memoryLimitInMB": str(self.config.memory_mb),
                "logGroupName": self.config.log_group,
                "logStreamName": f"local/{id(environment):x}",
                "deadlineMs": deadline_ms,
                "traceHeader": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0",
            },
        }
        timeout_ms = self.config.timeout_seconds * 1000
        caller_first = caller_timeout_ms is not None and caller_timeout_ms < timeout_ms
        result = environment.invoke(message, (caller_timeout_ms if caller_first else timeout_ms) / 1000)
        duration = (time.monotonic() - started) * 1000
        # Lambda's own line after each invocation.
        report = f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {math.ceil(duration)} ms"
        self.on_log(f"{report}\tMemory Size: {self.config.memory_mb} MB" + ("\tcold start" if cold else ""))
        if result is None:
            # Timed out or crashed: the environment is discarded (here also when the caller gave up:
            # on AWS the function would run on to its own timeout).
            environment.kill()
            with self._lock:
                if environment in self._all:  # close() may have taken it already
                    self._all.remove(environment)
            if caller_first and duration >= caller_timeout_ms:
                return Outcome(error={"errorType": "CallerTimeout", "errorMessage": "the caller stopped waiting"}, caller_timed_out=True)
            if duration >= timeout_ms:
                return Outcome(error={"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out"}, cold_start=cold)
            return Outcome(error={"errorType": "Runtime.ExitError", "errorMessage": "the runtime exited"}, cold_start=cold)
        with self._lock:
            if self.closed:
                environment.kill()
            else:
                self._idle.append(environment)
        return Outcome(response=result.get("response"), error=result.get("error"), cold_start=cold)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            for environment in self._all:
                environment.kill()
            self._all.clear()
            self._idle.clear()
