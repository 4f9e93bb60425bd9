#!/usr/bin/env python
"""Synthesize the stacks into cdktf.out/stacks/<stack>/cdk.tf.json:

- data-processing: the service (remote state in the S3 bucket named by STATE_BUCKET, one state
  per deployment: RESOURCE_PREFIX);
- state-bootstrap: that state bucket, applied once per account (local state); only when a
  state bucket is named, since a local backend (STATE_BACKEND=local) needs none.
"""

import sys
from pathlib import Path

from synth import provider_fastpath

# Before the provider is imported: load only the provider modules this app uses.
provider_fastpath.install()

from cdktf import App  # noqa: E402

from stacks.data_processing_stack import DataProcessingStack  # noqa: E402
from stacks.facts import BOOTSTRAP_STACK_NAME, STACK_NAME, stack_dir  # noqa: E402
from stacks.settings import SettingsError, StackSettings  # noqa: E402
from stacks.state_bootstrap_stack import StateBootstrapStack  # noqa: E402
from synth.backend_memory import forget_other_backend  # noqa: E402


def main() -> None:
    app = App()
    try:
        settings = StackSettings.load(app.node.try_get_context)
    except SettingsError as error:
        sys.exit(f"error: {error}")
    DataProcessingStack(app, STACK_NAME, settings)
    if settings.backend.bucket:
        StateBootstrapStack(app, BOOTSTRAP_STACK_NAME, settings)
    app.synth()
    # Another deployment in this folder: its own state on the next init, nothing copied.
    if forget_other_backend(stack_dir(Path(app.outdir))):
        print(f"{STACK_NAME}: the synthesized folder now names another state; its next init starts there, nothing is copied")


if __name__ == "__main__":
    main()
