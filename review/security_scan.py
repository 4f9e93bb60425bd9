"""The security gate: checkov over the synthesized Terraform JSON, zero failed checks allowed.

    python -m review.security_scan [cdktf.out/stacks/<stack>/cdk.tf.json]   (default: the service stack)

checkov scans .tf.json only with `--framework terraform_json`, and 3.3.30 crashes on a
`terraform.required_version` block in it (bridgecrewio/checkov#7454) and on `moved` blocks. So
the scan runs on a copy without those; what users deploy keeps them. Checks skipped on
purpose are listed in .checkov.yaml; their reasons live in docs/checkov-skips.yaml, rendered into docs/security.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.facts import PROJECT_ROOT, stack_dir

CONFIG = PROJECT_ROOT / ".checkov.yaml"


@dataclass(frozen=True)
class ScanResult:
    passed: int
    skipped: int
    failed: list[dict[str, Any]]

    def failures(self) -> list[str]:
        return [f"{c['check_id']} {c['check_name']}: {c['resource']}" for c in self.failed]


def scannable_copy(stack_json: Path, workdir: Path) -> Path:
    """The stack's JSON without what checkov trips on: terraform.required_version, and `moved`
    blocks (a list of address pairs, where its parser expects a block of blocks: "this method
    receives only dicts"). Neither configures a resource."""
    document = json.loads(stack_json.read_text())
    document.get("terraform", {}).pop("required_version", None)
    document.pop("moved", None)
    target = workdir / "cdk.tf.json"
    target.write_text(json.dumps(document))
    return target


def scan(stack_json: Path) -> ScanResult:
    checkov = Path(sys.executable).with_name("checkov")
    with tempfile.TemporaryDirectory() as workdir:
        target = scannable_copy(stack_json, Path(workdir))
        result = subprocess.run(
            [
                str(checkov),
                "--file",
                str(target),
                "--framework",
                "terraform_json",
                "--skip-download",
                "--config-file",
                str(CONFIG),
                "--output",
                "json",
                "--quiet",
            ],
            capture_output=True,
            text=True,
        )
    if result.returncode not in (0, 1):  # 1 = findings; anything else = checkov failed
        raise RuntimeError(f"checkov failed ({result.returncode}): {result.stderr[-2000:]}")
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    report = report[0] if isinstance(report, list) else report
    if report.get("summary", {}).get("parsing_errors"):
        raise RuntimeError(f"checkov could not parse {stack_json}")
    summary = report.get("summary", {"passed": 0, "skipped": 0})
    return ScanResult(summary["passed"], summary["skipped"], report.get("results", {}).get("failed_checks", []))


def main() -> int:
    stack_json = Path(sys.argv[1]) if len(sys.argv) > 1 else stack_dir(PROJECT_ROOT / "cdktf.out") / "cdk.tf.json"
    result = scan(stack_json)
    for line in result.failures():
        print(f"FAILED {line}")
    print(f"checkov: {result.passed} passed, {len(result.failed)} failed, {result.skipped} skipped")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
