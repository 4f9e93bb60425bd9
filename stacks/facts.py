"""The project's facts, each with one home: the stacks, the tools, the tests and the generated
docs read them from here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Everything is deployed in this region (CloudFront's WAF web ACL and its logs must be in us-east-1).
REGION = "us-east-1"
# Every taggable resource carries these tags (the provider's default tags).
REQUIRED_TAGS = {"Environment": "Production"}

# Callers from these countries (ISO 3166, comprehensively embargoed under US export rules) are
# refused by the API's firewall and the distribution's geo restriction alike.
BLOCKED_COUNTRIES = ("CU", "IR", "KP", "SY")

STACK_NAME = "data-processing"
BOOTSTRAP_STACK_NAME = "state-bootstrap"


@dataclass(frozen=True)
class Folder:
    """A top-level folder: what it holds, and the folders below it that its Python may import."""

    name: str
    holds: str
    imports: tuple[str, ...] = ()


# Lowest first: each folder imports only from those it names (tests/test_layout.py), so the product
# never depends on the review, the local cloud or the tooling built around it.
FOLDERS = (
    Folder("handler", "The product's Lambda function: Node.js, no build step, with its node tests (the contract in `src/contract.json`)"),
    Folder("constructs_lib", "The product's constructs: one secure-by-default concern per file with typed props; the guardrails"),
    Folder("stacks", "The product's stacks composing the constructs, their settings and the project's facts", ("constructs_lib",)),
    Folder(
        "synth",
        "What `main.py` (the app) needs at synth time: the provider fast path, the last backend's memory",
        ("stacks", "constructs_lib"),
    ),
    Folder(
        "runners",
        "Terraform and the cdktf CLI run from Python with the project's CLI configuration, their output read as data",
        ("stacks", "constructs_lib"),
    ),
    Folder(
        "review",
        "What a pull request's checks run on the synthesized stack: the plan review (risks, cost), the security scan, "
        "the stored state's owner",
        ("runners", "stacks", "constructs_lib"),
    ),
    Folder(
        "local_cloud",
        "The local cloud behind `make up`: the moto emulator with the provider aimed at it, and stand-ins for API Gateway, "
        "Lambda and CloudFront",
        ("runners", "stacks", "constructs_lib"),
    ),
    Folder(
        "dev_tools",
        "Developer tooling: the docs generator, the benchmarks, the app run as a user's shell runs it",
        ("review", "local_cloud", "runners", "synth", "stacks", "constructs_lib"),
    ),
    Folder(
        "tests",
        "Every test, mirroring the folders above and named after the requirement it proves",
        ("dev_tools", "review", "local_cloud", "runners", "synth", "stacks", "constructs_lib"),
    ),
)
PYTHON_FOLDERS = tuple(folder.name for folder in FOLDERS if folder.name != "handler")


def stack_dir(outdir: Path, name: str = STACK_NAME) -> Path:
    """Where cdktf writes a stack's cdk.tf.json under an output folder (cdktf.out by default)."""
    return outdir / "stacks" / name


if __name__ == "__main__":
    # For CI: `python -m stacks.facts >> "$GITHUB_ENV"` gives workflows the same facts.
    print(f"STACK_DIR={stack_dir(Path('cdktf.out'))}")
    print(f"STACK_REGION={REGION}")
