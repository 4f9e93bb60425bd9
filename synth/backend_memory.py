"""A synthesized stack's folder remembers the backend of its last `terraform init`
(`.terraform/terraform.tfstate`). When a synth gives the folder another state (another bucket,
key or local file: another deployment, RESOURCE_PREFIX), that memory is forgotten, so the next
init, cdktf's own included, starts on the new deployment's state, as `terraform init
-reconfigure` does. Left in place, init offers to copy the previous deployment's state over the
new one, which `cdktf deploy --migrate-state` would accept. Nothing but that local file is
touched: every deployment's state stays where it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# What identifies a state, by backend type (the other settings change how it is reached).
STATE_ADDRESS = {"s3": ("bucket", "key"), "local": ("path",)}


def _address(backend_type: str, config: dict[str, Any]) -> tuple[Any, ...]:
    return (backend_type, *(config.get(name) for name in STATE_ADDRESS.get(backend_type, ())))


def forget_other_backend(stack_dir: Path) -> bool:
    """Whether the folder's remembered backend named another state, and was forgotten."""
    memory = stack_dir / ".terraform" / "terraform.tfstate"
    if not memory.exists():
        return False
    remembered = json.loads(memory.read_text()).get("backend") or {}
    ((backend_type, config),) = json.loads((stack_dir / "cdk.tf.json").read_text())["terraform"]["backend"].items()
    if _address(remembered.get("type", ""), remembered.get("config") or {}) == _address(backend_type, config):
        return False
    memory.unlink()
    return True
