"""The local API: the deployed stage (local_cloud/gateway.py) and the distribution
(local_cloud/cdn.py) served on loopback, the function run by local_cloud/lambda_runtime.py, all
configured from a deployment on the emulator. `make up` starts it; `make down` stops it.

    python -m local_cloud.api --endpoint URL --invoke-url URL --packages DIR --root DIR

serves until SIGTERM or SIGINT, and writes ROOT/local-api.json (its pid, URLs and certificate)
once both servers answer. One access-log line per request goes to the stage's access-log group
on the emulator and to ROOT/access.log; the function's log lines go to its log group and to
ROOT/function.log.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import queue
import random
import signal
import ssl
import sys
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_lib.atomic_file import write_atomically
from local_cloud.cdn import DistributionConfig, certificate, serve
from local_cloud.emulator import client, client_env, command_line, launch, stop_pid
from local_cloud.gateway import INTEGRATION_TIMED_OUT, MAX_PAYLOAD_BYTES, Gateway, GatewayConfig, Request
from local_cloud.http_server import Incoming, LoopbackServer
from local_cloud.lambda_runtime import FunctionConfig, RuntimePool, unpack_deployed_package

READY_FILE = "local-api.json"
# CloudWatch Logs' largest event is 256 KB, 26 bytes of it overhead.
MAX_EVENT_CHARS = 256 * 1024 - 26
# Execution environments per function when it has no reserved concurrency: enough for a
# benchmark on two cores (the emulator behind it is the bottleneck), few enough to start quickly.
DEFAULT_CONCURRENCY = 4


class LogShipper:
    """Lines to a local file at once, and to a CloudWatch log group in batches (a thread);
    `close` sends what is still queued."""

    def __init__(self, logs, group: str | None, stream: str, path: Path) -> None:
        self.logs, self.group, self.stream = logs, group, stream
        self.file = path.open("a", buffering=1)
        self.lines: queue.Queue[tuple[int, str] | None] = queue.Queue()
        self.lock = threading.Lock()
        self.thread = None
        if group:
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_stream(logGroupName=group, logStreamName=stream)
            self.thread = threading.Thread(target=self._ship, daemon=True)
            self.thread.start()

    def __call__(self, line: str) -> None:
        with self.lock:
            self.file.write(line + "\n")
            if self.group:
                self.lines.put((int(time.time() * 1000), line))

    def close(self) -> None:
        if self.thread:
            self.lines.put(None)
            self.thread.join(10)
        self.file.close()

    def _ship(self) -> None:
        done = False
        while not done:
            batch = [self.lines.get()]
            time.sleep(0.2)
            while not self.lines.empty() and len(batch) < 1000:
                batch.append(self.lines.get_nowait())
            done = None in batch
            # CloudWatch refuses a batch out of time order; each line within its event size limit.
            events = [{"timestamp": ts, "message": line[:MAX_EVENT_CHARS]} for ts, line in sorted(filter(None, batch))]
            if events:
                try:
                    self.logs.put_log_events(logGroupName=self.group, logStreamName=self.stream, logEvents=events)
                except Exception as error:  # the emulator may be going down with us: say so, keep serving
                    print(f"could not ship {len(events)} line(s) to {self.group}: {error}", file=sys.stderr, flush=True)


@dataclass
class LocalApi:
    """A running local API, as its ready file describes it."""

    pid: int
    api_url: str  # http://127.0.0.1:PORT/STAGE
    cdn_port: int
    cdn_cert: str
    cdn_domain: str
    notes: list[str] = field(default_factory=list)  # what differs from Lambda here (e.g. the node version)

    @property
    def process_url(self) -> str:
        return f"{self.api_url}/process"

    def post(self, body: bytes | str, api_key: str | None, headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """POST /process as a client would: (status, headers, body)."""
        sent = {"Content-Type": "application/json", **({"x-api-key": api_key} if api_key else {}), **(headers or {})}
        return self.request("POST", "/process", body.encode() if isinstance(body, str) else body, sent)

    def request(self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None):
        """Any request to a path under the stage: (status, headers, body)."""
        host, port = self._address(self.api_url)
        return _exchange(http.client.HTTPConnection(host, port), method, self.api_url + path, headers or {}, body)

    def fetch(self, url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        """A result URL (https://<distribution domain>/...) through the CDN stand-in, TLS verified
        against its certificate, as `curl --connect-to` does."""
        parsed = urllib.parse.urlsplit(url)
        if parsed.hostname != self.cdn_domain:
            raise ValueError(f"{url} is not on the distribution's domain {self.cdn_domain}")
        tls = ssl.create_default_context(cafile=self.cdn_cert)
        connection = http.client.HTTPSConnection("127.0.0.1", self.cdn_port, context=tls)
        return _exchange(connection, method, parsed.path + (f"?{parsed.query}" if parsed.query else ""), {"Host": parsed.hostname}, None)

    def curl(self, api_key: str, body: str) -> str:
        return f"curl -s {self.process_url} -H 'x-api-key: {api_key}' -H 'Content-Type: application/json' -d '{body}'"

    def curl_result(self, url: str = '"$url"', cert: str | None = None) -> str:
        return f"curl -s --cacert {cert or self.cdn_cert} --connect-to ::127.0.0.1:{self.cdn_port} {url}"

    @staticmethod
    def _address(url: str) -> tuple[str, int]:
        parsed = urllib.parse.urlsplit(url)
        return parsed.hostname, parsed.port

    @classmethod
    def start(
        cls, root: Path, endpoint: str, invoke_url: str, packages: Path, options: Sequence[str] = (), timeout: float = 60
    ) -> LocalApi:
        """Start it detached (it outlives this process) and wait until it serves; `options` are
        further command-line flags."""
        ready = root / READY_FILE
        ready.unlink(missing_ok=True)
        arguments = ["--endpoint", endpoint, "--invoke-url", invoke_url, "--packages", str(packages), "--root", str(root), *options]
        process = launch(["local_cloud.api", *arguments], root / "local-api.log", detach=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready.exists():
                return cls(**json.loads(ready.read_text()))
            if process.poll() is not None:
                raise RuntimeError(f"the local API exited with {process.returncode} (log: {root / 'local-api.log'})")
            time.sleep(0.1)
        process.kill()
        raise RuntimeError(f"the local API did not start within {timeout:.0f} s (log: {root / 'local-api.log'})")

    @classmethod
    def running(cls, root: Path) -> LocalApi | None:
        ready = root / READY_FILE
        if not ready.exists():
            return None
        api = cls(**json.loads(ready.read_text()))
        return api if is_ours(api.pid) else None

    def stop(self, timeout: float = 10) -> bool:
        """Stop it (by its PID, while that is still a local API); whether it was running."""
        return stop_pid(self.pid, lambda: is_ours(self.pid), timeout)


def _exchange(connection, method: str, target: str, headers: Mapping[str, str], body: bytes | None):
    try:
        connection.request(method, target, body=body, headers=dict(headers))
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def is_ours(pid: int) -> bool:
    """Whether `pid` is alive and runs local_cloud.api (not a reused PID)."""
    args = command_line(pid) if pid > 0 else None
    return bool(args) and "local_cloud.api" in args


def alias_targets(lambda_client, arn: str) -> list[tuple[str, float]]:
    """The versions an invocation of `arn` runs, with their shares, as Lambda routes them: an alias
    (`...:function:NAME:ALIAS`) is its version plus the additional versions of its routing
    config, each with its weight; a version or an unqualified ARN is itself."""
    base, _, qualifier = arn.rpartition(":")
    if ":function:" not in base or qualifier.isdigit() or qualifier == "$LATEST":
        return [(arn, 1.0)]
    alias = lambda_client.get_alias(FunctionName=base.rpartition(":")[2], Name=qualifier)
    extra = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    main = (f"{base}:{alias['FunctionVersion']}", 1.0 - sum(extra.values()))
    return [main, *((f"{base}:{version}", weight) for version, weight in sorted(extra.items()))]


def _runtimes(lambda_client, config: GatewayConfig, packages: Path, root: Path, client_environment, shipper):
    """For each function ARN the routes integrate, the versions it runs with their weights, and an
    environment pool per version, logging through `shipper(group)`."""
    targets, pools = {}, {}
    for arn in sorted({route.function_arn for route in config.routes.values() if route.function_arn}):
        targets[arn] = alias_targets(lambda_client, arn)
        for version_arn, _ in targets[arn]:
            if version_arn in pools:
                continue
            function = FunctionConfig.from_api(lambda_client.get_function_configuration(FunctionName=version_arn))
            reserved = lambda_client.get_function_concurrency(FunctionName=function.name).get("ReservedConcurrentExecutions")
            package_dir = unpack_deployed_package(function, packages, root / "functions")
            pools[version_arn] = RuntimePool(
                function, package_dir, client_environment, reserved or DEFAULT_CONCURRENCY, shipper(function.log_group)
            )
    return targets, pools


def _invoker(targets: Mapping[str, list[tuple[str, float]]], pools: Mapping[str, RuntimePool], choose=random.choices):
    """The gateway's Invoke over the versions' pools: each invocation of an alias runs one of its
    versions, chosen by the routing weights."""

    def invoke(arn: str, event: Mapping[str, Any], timeout_ms: int):
        versions, weights = zip(*targets[arn], strict=True)
        outcome = pools[choose(versions, weights=weights)[0]].invoke(event, timeout_ms)
        if outcome.caller_timed_out:
            return None, INTEGRATION_TIMED_OUT
        if outcome.error:
            return None, f"{outcome.error.get('errorType')}: {outcome.error.get('errorMessage')}"
        return outcome.response, None

    return invoke


def _request(incoming: Incoming) -> Request:
    """The gateway's view of an HTTP request: the stage is the path's first segment."""
    url = urllib.parse.urlsplit(incoming.target)
    stage_name, _, path = url.path.removeprefix("/").partition("/")
    return Request(
        method=incoming.method,
        stage=stage_name,
        path="/" + path,
        query=urllib.parse.parse_qs(url.query, keep_blank_values=True),
        headers=incoming.headers,
        body=incoming.body,
        source_ip=incoming.client_ip,
        protocol=incoming.version,
    )


def _distribution(cloudfront, function_environments: list[Mapping[str, str]]):
    """The distribution the functions name in their environment (the result URLs' domain), or the only one."""
    distributions = cloudfront.list_distributions()["DistributionList"].get("Items", [])
    named = {value for environment in function_environments for value in environment.values()}
    chosen = [d for d in distributions if d["DomainName"] in named] or distributions
    if len(chosen) != 1:
        raise LookupError(f"{len(chosen)} distributions and none named by the function: cannot choose the CDN to serve")
    return chosen[0]


def serve_forever(
    endpoint: str, invoke_url: str, packages: Path, root: Path, api_port: int, cdn_port: int, usage_limits: bool = True
) -> None:
    aws = lambda service: client(endpoint, service)  # noqa: E731
    parsed = urllib.parse.urlparse(invoke_url)
    rest_api_id, stage = parsed.hostname.split(".")[0], parsed.path.strip("/").split("/")[0]
    config = GatewayConfig.read(aws("apigateway"), rest_api_id, stage, account=aws("sts").get_caller_identity()["Account"])
    if not usage_limits:
        config = config.without_usage_limits()
    logs = aws("logs")
    stream = f"local-api/{time.strftime('%Y/%m/%d')}/{os.getpid()}"
    shippers = [LogShipper(logs, config.access_log_group, stream, root / "access.log")]
    targets, pools = _runtimes(
        aws("lambda"), config, packages, root, client_env(endpoint), lambda group: LogShipper(logs, group, stream, root / "function.log")
    )
    shippers += [pool.on_log for pool in pools.values()]
    notes = [note for pool in pools.values() for note in pool.notes]

    gateway = Gateway(config, _invoker(targets, pools), shippers[0], domain=parsed.hostname)

    environments = [pool.config.environment for pool in pools.values()]
    cdn = DistributionConfig.from_api(_distribution(aws("cloudfront"), environments))
    s3 = aws("s3")
    cert, key = certificate(cdn.domain, root)

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    api_server = LoopbackServer(api_port, lambda incoming: gateway.handle(_request(incoming)), MAX_PAYLOAD_BYTES, "local-api")
    cdn_server = LoopbackServer(cdn_port, lambda incoming: serve(cdn, s3, incoming.method, incoming.target), 0, "CloudFront", tls=tls)
    for server in (api_server, cdn_server):
        threading.Thread(target=server.serve_forever, daemon=True).start()

    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    ready = {
        "pid": os.getpid(),
        "api_url": f"http://127.0.0.1:{api_server.port}/{stage}",
        "cdn_port": cdn_server.port,
        "cdn_cert": str(cert),
        "cdn_domain": cdn.domain,
        "notes": notes,
    }
    write_atomically(root / READY_FILE, json.dumps(ready))
    print(f"serving {ready['api_url']} (API) and https://{cdn.domain} on 127.0.0.1:{cdn_server.port} (CDN)", flush=True)
    for note in notes:
        print(f"note: {note}", flush=True)
    stopped.wait()
    for server in (api_server, cdn_server):
        server.shutdown()
    for pool in pools.values():
        pool.close()
    for shipper in shippers:
        shipper.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="the emulator's URL")
    parser.add_argument("--invoke-url", required=True, help="the stage's invoke URL (the api_invoke_url output)")
    parser.add_argument("--packages", type=Path, required=True, help="a folder holding the deployed function package")
    parser.add_argument("--root", type=Path, required=True, help="where the ready file, logs and certificate go")
    parser.add_argument("--port", type=int, default=0, help="the API's port (default: a free one)")
    parser.add_argument("--cdn-port", type=int, default=0, help="the CDN's port (default: a free one)")
    parser.add_argument(
        "--without-usage-limits",
        action="store_true",
        help="skip the throttles and quotas (make bench-api: it measures the local API, not the rate the usage plan allows)",
    )
    args = parser.parse_args(argv)
    serve_forever(args.endpoint, args.invoke_url, args.packages, args.root, args.port, args.cdn_port, not args.without_usage_limits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
