"""Cutting a synthesized stack down to the resources a test plans, so each plan validates and
evaluates only those: Terraform validates every resource of a configuration in every plan,
targeted or not, and the stack's web ACLs alone take a few CPU-seconds each time."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

# A reference inside an expression or a depends_on entry: data.TYPE.NAME or TYPE.NAME.
REFERENCE = re.compile(r"(?<![\w.-])(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)")


def only(document: dict[str, Any], addresses: Iterable[str]) -> dict[str, Any]:
    """The configuration with the given resources (data sources as `data.TYPE.NAME`) and everything they, or the variables, refer to
    (resources and data sources, transitively); no outputs."""
    blocks = {("resource", kind, name): config for kind, named in document.get("resource", {}).items() for name, config in named.items()}
    blocks |= {("data", kind, name): config for kind, named in document.get("data", {}).items() for name, config in named.items()}
    wanted = [("data", *a.split(".")[1:]) if a.startswith("data.") else ("resource", *a.split(".", 1)) for a in addresses]
    wanted += [found for config in document.get("variable", {}).values() for found in _references(config, blocks)]
    kept: set[tuple[str, str, str]] = set()
    while wanted:
        block = wanted.pop()
        if block in kept:
            continue
        if block not in blocks:
            raise KeyError(f"{block[1]}.{block[2]} is not in the configuration")
        kept.add(block)
        wanted += _references(blocks[block], blocks)
    cut = {key: value for key, value in document.items() if key not in ("resource", "data", "output")}
    for section, kind, name in sorted(kept):
        cut.setdefault(section, {}).setdefault(kind, {})[name] = blocks[(section, kind, name)]
    return cut


def _references(config: Any, blocks: dict[tuple[str, str, str], Any]) -> list[tuple[str, str, str]]:
    found = []
    for data, kind, name in REFERENCE.findall(json.dumps(config)):
        block = ("data" if data else "resource", kind, name)
        if block in blocks:
            found.append(block)
    return found
