"""Child processes the runners and the local cloud start, ended by the handle that started them."""

from __future__ import annotations

import subprocess


def terminate(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM a child we started, SIGKILL it if it has not exited after `timeout`; reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
