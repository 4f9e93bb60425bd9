"""The project's facts, each with one home: the stacks, the tools, the tests and the generated
docs read them from here."""

from __future__ import annotations

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


def stack_dir(outdir: Path, name: str = STACK_NAME) -> Path:
    """Where cdktf writes a stack's cdk.tf.json under an output folder (cdktf.out by default)."""
    return outdir / "stacks" / name


if __name__ == "__main__":
    # For CI: `python -m stacks.facts >> "$GITHUB_ENV"` gives workflows the same facts.
    print(f"STACK_DIR={stack_dir(Path('cdktf.out'))}")
    print(f"STACK_REGION={REGION}")
