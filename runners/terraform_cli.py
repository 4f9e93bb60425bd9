"""Point Terraform (and cdktf's node process) at a CLI configuration of the project's own.

Why: the machine may preset ``TF_CLI_CONFIG_FILE`` to a file that does not exist, and a
host without internet can only install providers from a local filesystem mirror. cdktf's
node process copies the environment when ``cdktf`` is first imported, so :func:`configure`
must run before that import and before anything runs ``terraform``.

The generated file (``.terraform-cli/terraformrc``, git-ignored) uses a filesystem mirror
for ``hashicorp/aws`` when one holding the pinned version is found, and the public registry
otherwise. Set ``TF_PROVIDER_MIRROR`` to choose the mirror folder (the one that holds
``registry.terraform.io/``) or ``TF_PROVIDER_MIRROR=none`` to always use the registry.

Run ``python -m runners.terraform_cli`` to (re)write the file and print its path, e.g.
``export TF_CLI_CONFIG_FILE=$(python -m runners.terraform_cli)`` for a shell session.
"""

from __future__ import annotations

import functools
import glob
import json
import os
from pathlib import Path

from constructs_lib.atomic_file import write_atomically
from stacks.facts import PROJECT_ROOT

CONFIG_FILE = PROJECT_ROOT / ".terraform-cli" / "terraformrc"
PLUGIN_CACHE = PROJECT_ROOT / ".terraform-cli" / "plugin-cache"

# The provider release that cdktf-cdktf-provider-aws 20.1.0 wraps.
AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"
AWS_PROVIDER_VERSION = "5.100.0"

# Terraform's own implied mirror folders, then shallow system folders where images keep one.
_CANDIDATE_PATTERNS = (
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
    "/*",
    "/*/*",
)


def _holds_pinned_provider(folder: str) -> bool:
    return Path(folder, AWS_PROVIDER, AWS_PROVIDER_VERSION).is_dir() or bool(
        glob.glob(os.path.join(folder, AWS_PROVIDER, f"terraform-provider-aws_{AWS_PROVIDER_VERSION}_*.zip"))
    )


def find_mirror() -> str | None:
    """The filesystem mirror folder holding the pinned AWS provider, or None."""
    chosen = os.environ.get("TF_PROVIDER_MIRROR")
    if chosen:
        if chosen == "none":
            return None
        if not _holds_pinned_provider(chosen):
            raise RuntimeError(f"TF_PROVIDER_MIRROR={chosen} holds no {AWS_PROVIDER} {AWS_PROVIDER_VERSION}")
        return chosen
    for pattern in _CANDIDATE_PATTERNS:
        for registry_dir in sorted(glob.glob(os.path.join(os.path.expanduser(pattern), "registry.terraform.io"))):
            folder = os.path.dirname(registry_dir)
            if _holds_pinned_provider(folder):
                return folder
    return None


def render(mirror: str | None) -> str:
    """The CLI configuration text (HCL) for the given mirror (None: registry only)."""
    lines = [
        f"plugin_cache_dir = {json.dumps(str(PLUGIN_CACHE))}",
        # The synthesized stacks have no dependency lock file, so without this every init would
        # reinstall the provider into the shared cache, under the feet of terraform processes
        # already linked to it (parallel test workers): link from the cache, never rewrite it.
        "plugin_cache_may_break_dependency_lock_file = true",
    ]
    if mirror:
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f"    path    = {json.dumps(mirror)}",
            f'    include = ["{AWS_PROVIDER}"]',
            "  }",
            "  direct {",
            f'    exclude = ["{AWS_PROVIDER}"]',
            "  }",
            "}",
        ]
    return "\n".join(lines) + "\n"


@functools.lru_cache
def _rendered(chosen_mirror: str | None) -> str:
    """The config text for a TF_PROVIDER_MIRROR value: the mirror search globs folders across the
    machine (tens of milliseconds), and every terraform command configures first."""
    return render(find_mirror())


def configure() -> Path:
    """Write the CLI config and export it (and quiet jsii) in this process's environment."""
    CONFIG_FILE.parent.mkdir(parents=True, exist_ok=True)
    PLUGIN_CACHE.mkdir(parents=True, exist_ok=True)
    text = _rendered(os.environ.get("TF_PROVIDER_MIRROR"))
    if not CONFIG_FILE.exists() or CONFIG_FILE.read_text() != text:
        write_atomically(CONFIG_FILE, text)
    os.environ["TF_CLI_CONFIG_FILE"] = str(CONFIG_FILE)
    # jsii otherwise prints a Node 20 end-of-life banner on every synth.
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("CHECKPOINT_DISABLE", "1")
    return CONFIG_FILE


if __name__ == "__main__":
    print(configure())
