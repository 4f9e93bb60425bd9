"""Reusable, secure-by-default constructs: one concern per module, typed props, safe defaults."""
