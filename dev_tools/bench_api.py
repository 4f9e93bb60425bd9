"""Benchmark (not a test): requests per second and latency through the local API on loopback.

    make up && make bench-api
    python -m dev_tools.bench_api --requests 500 --clients 4

Against the deployment `make up` left running, it starts a second local API of its own with the
usage plan's throttle and quota off (as deployed they allow 10 requests a second per key, which
is what a benchmark would otherwise measure), sends warm-up requests, then `POST /process` for
the seeded item: once one client at a time (latency p50/p95 of each request, over HTTP with a
new connection each), then from several clients at once (requests per second). Every answer
must be a 200; the figures include the gateway's checks, the function in its warm node
environments and its DynamoDB read and S3 write on the emulator.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from local_cloud.api import LocalApi
from local_cloud.up import DEMO_BODY, LOCAL_ROOT, load_session


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def timed_post(api: LocalApi, key: str) -> float:
    started = time.perf_counter()
    status, _, body = api.post(DEMO_BODY, key)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise RuntimeError(f"POST /process answered {status}: {body[:200]!r}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests in each phase (default 400)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients in the throughput phase (default 4)")
    args = parser.parse_args(argv)
    session = load_session()
    if not session or "outputs" not in session:
        print("No local stack is up: run `make up` first.", file=sys.stderr)
        return 2
    key = session["outputs"]["api_key_value"]
    with tempfile.TemporaryDirectory(prefix="bench-api-") as scratch:
        api = LocalApi.start(
            Path(scratch),
            session["endpoint"],
            session["outputs"]["api_invoke_url"],
            LOCAL_ROOT / "cdktf.out",
            options=["--without-usage-limits"],
        )
        try:
            for _ in range(20):
                timed_post(api, key)
            latencies = [timed_post(api, key) for _ in range(args.requests)]
            started = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                concurrent = list(pool.map(lambda _: timed_post(api, key), range(args.requests)))
            wall = time.perf_counter() - started
        finally:
            api.stop()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"local API benchmark on {machine}; {args.requests} requests per phase, all 200")
    print(f"| one client: latency p50 / p95 | {statistics.median(latencies):.1f} / {percentile(latencies, 95):.1f} ms |")
    print(
        f"| {args.clients} clients: requests per second (latency p50 / p95) | {args.requests / wall:.0f} "
        f"({statistics.median(concurrent):.1f} / {percentile(concurrent, 95):.1f} ms) |"
    )
    print(json.dumps({"p50_ms": statistics.median(latencies), "p95_ms": percentile(latencies, 95), "rps": args.requests / wall}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
