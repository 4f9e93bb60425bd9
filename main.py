#!/usr/bin/env python
"""Synthesize the data-processing stack into cdktf.out/stacks/data-processing/cdk.tf.json."""

from tools import provider_fastpath, terraform_cli

# Before cdktf is imported: its node process copies the environment when it starts.
terraform_cli.configure()
# Before the provider is imported: load only the provider modules this app uses.
provider_fastpath.install()

from cdktf import App  # noqa: E402

from stacks.data_processing_stack import DataProcessingStack  # noqa: E402
from stacks.settings import StackSettings  # noqa: E402

STACK_NAME = "data-processing"


def main() -> None:
    app = App()
    DataProcessingStack(app, STACK_NAME, StackSettings.load(app.node.try_get_context))
    app.synth()


if __name__ == "__main__":
    main()
