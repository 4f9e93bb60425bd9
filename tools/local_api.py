"""The local API: the deployed stage (tools/local_gateway.py) and the distribution
(tools/local_cdn.py) served on loopback, the function run by tools/lambda_runtime.py, all
configured from a deployment on the emulator. `make up` starts it; `make down` stops it.

    python -m tools.local_api --endpoint URL --invoke-url URL --packages DIR --root DIR

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
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from stacks.facts import PROJECT_ROOT
from tools.emulator import client, client_env, command_line
from tools.lambda_runtime import FunctionConfig, RuntimePool, unpack_deployed_package
from tools.local_cdn import DistributionConfig, certificate, serve
from tools.local_gateway import Gateway, GatewayConfig, Request

READY_FILE = "local-api.json"
# Execution environments per function when it has no reserved concurrency: enough for a
# benchmark on two cores (the emulator behind it is the bottleneck), few enough to start quickly.
DEFAULT_CONCURRENCY = 4


class LogShipper:
    """Lines to a local file at once, and to a CloudWatch log group in batches (a thread)."""

    def __init__(self, logs, group: str | None, stream: str, path: Path) -> None:
        self.logs, self.group, self.stream = logs, group, stream
        self.file = path.open("a", buffering=1)
        self.lines: queue.Queue[tuple[int, str]] = queue.Queue()
        self.lock = threading.Lock()
        if group:
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_stream(logGroupName=group, logStreamName=stream)
            threading.Thread(target=self._ship, daemon=True).start()

    def __call__(self, line: str) -> None:
        with self.lock:
            self.file.write(line + "\n")
        if self.group:
            self.lines.put((int(time.time() * 1000), line))

    def _ship(self) -> None:
        while True:
            batch = [self.lines.get()]
            time.sleep(0.2)
            while not self.lines.empty() and len(batch) < 1000:
                batch.append(self.lines.get_nowait())
            events = [{"timestamp": ts, "message": line} for ts, line in batch]
            with contextlib.suppress(Exception):  # the emulator may be going down with us
                self.logs.put_log_events(logGroupName=self.group, logStreamName=self.stream, logEvents=events)


def _handler_class(answer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "local"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, payload = answer(self, body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: Any) -> None:  # the access log is the gateway's
            pass

    return Handler


@dataclass
class LocalApi:
    """A running local API, as its ready file describes it."""

    pid: int
    api_url: str  # http://127.0.0.1:PORT/STAGE
    cdn_port: int
    cdn_cert: str
    cdn_domain: str

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
        with (root / "local-api.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tools.local_api", "--endpoint", endpoint, "--invoke-url", invoke_url]
                + ["--packages", str(packages), "--root", str(root), *options],
                cwd=PROJECT_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
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

    def stop(self, timeout: float = 10) -> None:
        if not is_ours(self.pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while is_ours(self.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if is_ours(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


def _exchange(connection, method: str, target: str, headers: Mapping[str, str], body: bytes | None):
    try:
        connection.request(method, target, body=body, headers=dict(headers))
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def is_ours(pid: int) -> bool:
    """Whether `pid` is alive and runs tools.local_api (not a reused PID)."""
    args = command_line(pid) if pid > 0 else None
    return bool(args) and "tools.local_api" in args


def serve_forever(
    endpoint: str, invoke_url: str, packages: Path, root: Path, api_port: int, cdn_port: int, usage_limits: bool = True
) -> None:
    aws = lambda service: client(endpoint, service)  # noqa: E731
    parsed = urllib.parse.urlparse(invoke_url)
    rest_api_id, stage = parsed.hostname.split(".")[0], parsed.path.strip("/").split("/")[0]
    config = GatewayConfig.read(aws("apigateway"), rest_api_id, stage)
    if not usage_limits:
        config = config.without_usage_limits()
    logs = aws("logs")
    stream = f"local-api/{time.strftime('%Y/%m/%d')}/{os.getpid()}"
    access_log = LogShipper(logs, config.access_log_group, stream, root / "access.log")

    pools: dict[str, RuntimePool] = {}
    lambda_client = aws("lambda")
    for arn in {route.function_arn for route in config.routes.values() if route.function_arn}:
        function = FunctionConfig.from_api(lambda_client.get_function_configuration(FunctionName=arn))
        reserved = lambda_client.get_function_concurrency(FunctionName=arn).get("ReservedConcurrentExecutions")
        package_dir = unpack_deployed_package(function, packages, root / "functions")
        function_log = LogShipper(logs, function.log_group, stream, root / "function.log")
        pools[arn] = RuntimePool(function, package_dir, client_env(endpoint), reserved or DEFAULT_CONCURRENCY, function_log)

    def invoke(arn: str, event: Mapping[str, Any]):
        outcome = pools[arn].invoke(event)
        if outcome.error:
            return None, f"{outcome.error.get('errorType')}: {outcome.error.get('errorMessage')}"
        return outcome.response, None

    gateway = Gateway(config, invoke, access_log, domain=parsed.hostname)

    def api_answer(handler: BaseHTTPRequestHandler, body: bytes):
        url = urllib.parse.urlsplit(handler.path)
        stage_name, _, path = url.path.removeprefix("/").partition("/")
        request = Request(
            method=handler.command,
            stage=stage_name,
            path="/" + path,
            query=urllib.parse.parse_qs(url.query, keep_blank_values=True),
            headers=list(handler.headers.items()),
            body=body,
            source_ip=handler.client_address[0],
        )
        response = gateway.handle(request)
        return response.status, response.headers, response.body

    (distribution,) = aws("cloudfront").list_distributions()["DistributionList"]["Items"]
    cdn = DistributionConfig.from_api(distribution)
    s3 = aws("s3")
    cert, key = certificate(cdn.domain, root)

    def cdn_answer(handler: BaseHTTPRequestHandler, body: bytes):
        response = serve(cdn, s3, handler.command, handler.path)
        return response.status, response.headers, response.body

    api_server = ThreadingHTTPServer(("127.0.0.1", api_port), _handler_class(api_answer))
    cdn_server = ThreadingHTTPServer(("127.0.0.1", cdn_port), _handler_class(cdn_answer))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    cdn_server.socket = tls.wrap_socket(cdn_server.socket, server_side=True)
    for server in (api_server, cdn_server):
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()

    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    ready = {
        "pid": os.getpid(),
        "api_url": f"http://127.0.0.1:{api_server.server_address[1]}/{stage}",
        "cdn_port": cdn_server.server_address[1],
        "cdn_cert": str(cert),
        "cdn_domain": cdn.domain,
    }
    (root / READY_FILE).write_text(json.dumps(ready))
    print(f"serving {ready['api_url']} (API) and https://{cdn.domain} on 127.0.0.1:{ready['cdn_port']} (CDN)", flush=True)
    stopped.wait()
    for server in (api_server, cdn_server):
        server.shutdown()
    for pool in pools.values():
        pool.close()


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
