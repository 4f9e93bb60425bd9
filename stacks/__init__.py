"""Stacks compose the constructs in constructs_lib into deployable units."""
