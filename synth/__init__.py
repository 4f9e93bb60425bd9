"""What `main.py` needs at synth time besides the stacks and constructs (tools/ is for developers and CI)."""
