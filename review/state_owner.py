"""Before Terraform plans or applies: is the stored state one this stack wrote?

A state of another stack (a wrong STATE_KEY, a copied object) looks to Terraform like resources
this configuration no longer has: it plans to delete them all. The deployment guard
(constructs_lib/deployment_guard.py) cannot see such a state from the configuration, so this
check compares the stored state (`terraform state pull`) with the synthesized configuration:
an empty state, or one holding at least one of the configuration's resources, is this stack's
(a state from before per-deployment keys is: its resources are the stack's). Anything else is
refused (exit 5), and so is an object that is no Terraform state at all (exit 6). The
workflows run it between `terraform init` and the plan or apply:

    terraform state pull > stored-state.json
    python -m review.state_owner cdk.tf.json stored-state.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

FOREIGN = 5
UNREADABLE = 6
UNREADABLE_CONFIG = 7


class NotAState(ValueError):
    """The stored object is not a Terraform state document."""


def configured_addresses(config: dict[str, Any]) -> set[str]:
    return {f"{kind}.{name}" for kind, named in config.get("resource", {}).items() for name in named}


def stored_addresses(state: Any) -> set[str]:
    """Every managed resource's full address, its module path included: the stack declares no
    modules, so a resource inside one is never this stack's."""
    resources = state.get("resources", []) if isinstance(state, dict) else None
    if not isinstance(resources, list) or not all(
        isinstance(r, dict) and isinstance(r.get("type"), str) and "name" in r for r in resources
    ):
        raise NotAState("the stored object is not a Terraform state (no list of resources with a type and a name)")
    return {
        ".".join(filter(None, (r.get("module"), r["type"], str(r["name"])))) for r in resources if r.get("mode", "managed") == "managed"
    }


# The deployment guard's record: every stack of this project has one at the same address, so it
# says nothing about which stack wrote a state.
RECORD_TYPE = "terraform_data"


def foreign_resources(state: dict[str, Any], config: dict[str, Any]) -> list[str]:
    """The stored resources, when none of them (the guard's record aside) is the configuration's;
    else nothing."""
    stored = stored_addresses(state)
    judged = {address for address in stored if address.split(".")[-2] != RECORD_TYPE} or stored
    return [] if not stored or judged & configured_addresses(config) else sorted(stored)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="the synthesized cdk.tf.json")
    parser.add_argument("state", type=Path, help="the stored state (`terraform state pull`); empty: no state yet")
    args = parser.parse_args(argv)
    try:
        config = json.loads(args.config.read_text())
    except (OSError, ValueError) as error:
        print(f"The synthesized configuration {args.config} cannot be read ({error}): run the synth first.", file=sys.stderr)
        return UNREADABLE_CONFIG
    try:
        text = args.state.read_bytes().decode("utf-8").strip()
        foreign = foreign_resources(json.loads(text) if text else {}, config)
    except (NotAState, ValueError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        print(f"{error}. Nothing was planned; look at the object at this deployment's key before using it.", file=sys.stderr)
        return UNREADABLE
    if foreign:
        shown = ", ".join(f"`{a}`" for a in foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        print(
            f"The stored state holds {len(foreign)} resources, none of them this stack's ({shown}): another stack wrote it, "
            "or STATE_KEY points at the wrong object. Nothing was planned; point this deployment at its own state.",
            file=sys.stderr,
        )
        return FOREIGN
    return 0


if __name__ == "__main__":
    sys.exit(main())
