"""Benchmark: synth wall time and peak memory (Python + node) with and without the fast path.

    make bench              # 5 runs of each, alternating
    python -m dev_tools.bench_synth --runs 9

Each run is a fresh `python main.py` (local backend) into a scratch folder. Peak memory is the
largest sum of resident set sizes of the process tree (Python and its node child), sampled
every 10 ms from /proc. The reference is `python -c "import cdktf_cdktf_provider_aws"`, measured
in the same loop; the target is a median ratio of fast synth wall to that import of <= 0.4.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from runners import terraform_cli
from stacks.facts import PROJECT_ROOT
from synth import provider_fastpath

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass(frozen=True)
class Sample:
    wall: float
    peak_mb: float


def _tree_rss_kb(root: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            pid = int(entry.name)
            fields = stat[stat.rindex(")") + 2 :].split()
            children.setdefault(int(fields[1]), []).append(pid)
            rss[pid] = int(fields[21]) * PAGE_KB
        except (OSError, ValueError, IndexError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, ()))
    return total


def measure(command: list[str], env: dict[str, str]) -> Sample:
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kb(process.pid))
        time.sleep(0.01)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with {process.returncode}")
    return Sample(wall, peak / 1024)


def summary(values: list[float], unit: str) -> str:
    return f"{min(values):7.2f} {statistics.median(values):7.2f} {max(values):7.2f} {unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    terraform_cli.configure()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base_env["STATE_BACKEND"] = "local"
    python = sys.executable
    results: dict[str, list[Sample]] = {"import provider": [], "synth, fast path": [], "synth, ordinary": []}
    with tempfile.TemporaryDirectory() as scratch:

        def synth(fast: bool) -> Sample:
            env = {**base_env, "CDKTF_OUTDIR": os.path.join(scratch, "out"), provider_fastpath.SWITCH: "1" if fast else "0"}
            return measure([python, "main.py"], env)

        synth(fast=True)  # warm-up: builds the trimmed assembly cache once
        for run in range(args.runs):
            results["import provider"].append(
                measure([python, "-c", "import cdktf_cdktf_provider_aws"], {**base_env, provider_fastpath.SWITCH: "0"})
            )
            results["synth, fast path"].append(synth(fast=True))
            results["synth, ordinary"].append(synth(fast=False))
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr)

    ratios = [f.wall / i.wall for f, i in zip(results["synth, fast path"], results["import provider"], strict=True)]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
    print(f"{'':18} {'wall s (min median max)':>27}   {'peak MB (min median max)':>28}")
    for name, samples in results.items():
        print(f"{name:18} {summary([s.wall for s in samples], 's'):>27}   {summary([s.peak_mb for s in samples], 'MB'):>28}")
    print(f"median ratio fast synth / import provider: {statistics.median(ratios):.3f} (target <= 0.4)")
    fast_peak = statistics.median(s.peak_mb for s in results["synth, fast path"])
    print(f"median peak memory of fast synth: {fast_peak:.0f} MB (target <= 350 MB)")


if __name__ == "__main__":
    main()
