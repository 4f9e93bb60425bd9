"""What `main.py` needs at synth time besides the stacks and constructs: the provider fast path and the backend memory."""
