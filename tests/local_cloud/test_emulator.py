"""local_cloud.emulator: our emulator is recognised by PID and command line on Linux and on macOS (no
/proc), `make down` stops a detached one by PID, and starting one leaves no log file open.

Tests marked slow start a real moto server (~2 s each); the others use stand-in processes.
"""

from __future__ import annotations

import gc
import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import warnings

import pytest

from local_cloud import up
from local_cloud.emulator import MotoServer
from stacks.facts import PROJECT_ROOT

# A process that is not moto but whose command line reads like our emulator's on port 4567.
LOOKALIKE = [
    sys.executable,
    "-c",
    "import time; print('ready', flush=True); time.sleep(60)",
    *("local_cloud.moto_server", "-H", "127.0.0.1", "-p", "4567"),
]


def _is_proc(path) -> bool:
    return isinstance(path, (str, bytes, os.PathLike)) and os.fsdecode(path).startswith("/proc")


@pytest.fixture
def no_proc(monkeypatch):
    """This process as on macOS: there is no /proc to read (child processes are unaffected)."""
    real_open, real_os_open = io.open, os.open

    def refuse(opener):
        def guarded(path, *args, **kwargs):
            if _is_proc(path):
                raise FileNotFoundError(2, "No such file or directory (no /proc here)", os.fsdecode(path))
            return opener(path, *args, **kwargs)

        return guarded

    monkeypatch.setattr(io, "open", refuse(real_open))
    monkeypatch.setattr("builtins.open", refuse(real_open))
    monkeypatch.setattr(os, "open", refuse(real_os_open))


@pytest.fixture
def lookalike():
    process = subprocess.Popen(LOOKALIKE, stdout=subprocess.PIPE, text=True)
    # Running its code: its exec is complete (just after one, Linux may show an empty command line).
    assert process.stdout.readline() == "ready\n"
    yield process
    process.kill()
    process.wait()
    process.stdout.close()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()  # exited and reaped: nothing has this PID until the system reuses it
    return child.pid


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.slow
def test_a_started_server_is_ours_without_proc(no_proc, tmp_path):
    with MotoServer(log_path=tmp_path / "moto.log") as server:
        pid = server.process.pid
        assert MotoServer.is_ours(pid)
        assert MotoServer.is_ours(pid, server.port)
        assert not MotoServer.is_ours(pid, server.port + 1), "another port: not the session's emulator"


def test_a_process_that_is_not_our_emulator_is_not_ours(no_proc, lookalike):
    assert not MotoServer.is_ours(os.getpid()), "the test process itself"
    assert not MotoServer.is_ours(_dead_pid()), "a PID nothing has"
    for pid in (0, -1):
        assert not MotoServer.is_ours(pid)
    assert MotoServer.is_ours(lookalike.pid), "the stand-in: only its command line makes it ours"
    assert MotoServer.is_ours(lookalike.pid, 4567)
    assert not MotoServer.is_ours(lookalike.pid, 45670)


def test_proc_is_used_where_ps_is_not_installed(monkeypatch, lookalike, tmp_path):
    if not os.path.exists(f"/proc/{os.getpid()}/cmdline"):
        pytest.skip("no /proc on this system")
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no `ps`
    assert MotoServer.is_ours(lookalike.pid, 4567)
    assert not MotoServer.is_ours(os.getpid())
    assert not MotoServer.is_ours(_dead_pid())


def test_stop_pid_leaves_a_process_that_is_not_ours_alone(no_proc):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert MotoServer.stop_pid(sleeper.pid) is False
        assert sleeper.poll() is None, "still running"
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.fixture
def detached():
    """An emulator started as `make up` does: by a process that records its PID and exits."""
    started = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from local_cloud.emulator import MotoServer; "
            "s = MotoServer().start(detach=True); print(json.dumps([s.process.pid, s.port, s.endpoint]))",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    pid, port, endpoint = json.loads(started.stdout)
    assert _answers(endpoint), "the emulator outlived the process that started it"
    yield pid, port, endpoint
    # Never leave it running (whatever is_ours says), never signal a reused PID.
    listed = subprocess.run(["ps", "-ww", "-p", str(pid), "-o", "command="], capture_output=True, text=True)
    if f"local_cloud.moto_server -H 127.0.0.1 -p {port}" in listed.stdout:
        os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_stop_pid_stops_a_detached_server_without_proc(no_proc, detached):
    pid, port, endpoint = detached
    assert MotoServer.is_ours(pid, port)
    assert MotoServer.stop_pid(pid, port) is True
    assert not MotoServer.is_ours(pid)
    assert not _answers(endpoint)


@pytest.mark.slow
def test_make_down_destroys_then_stops_the_recorded_emulator(no_proc, detached, tmp_path, monkeypatch, capsys):
    pid, port, endpoint = detached
    destroyed = []

    class Stack:  # terraform destroy is not under test: it only has to run while the emulator does
        def __init__(self, root, endpoint, variables):
            self.endpoint = endpoint

        def deployed(self):
            return True

        def down(self, log=None, on_line=None):
            destroyed.append(_answers(self.endpoint))

    local = tmp_path / ".local"
    local.mkdir()
    session = {"pid": pid, "port": port, "endpoint": endpoint, "variables": {}}  # as up() writes it
    (local / "session.json").write_text(json.dumps(session))
    monkeypatch.setattr(up, "LOCAL_ROOT", local)
    monkeypatch.setattr(up, "SESSION", local / "session.json")
    monkeypatch.setattr(up, "LocalDeployment", Stack)

    assert up.load_session() == session, "`make up` sees the stack is up"
    assert up.down() == 0
    assert destroyed == [True]
    assert not _answers(endpoint)
    assert not MotoServer.is_ours(pid)
    assert not local.exists()
    assert f"Stopped the emulator (pid {pid})" in capsys.readouterr().out


@pytest.mark.slow
def test_start_leaves_no_log_file_open(tmp_path):
    log_path = tmp_path / "moto.log"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        server = MotoServer(log_path=log_path).start()
        try:
            gc.collect()
            unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning) and str(log_path) in str(w.message)]
            assert unclosed == [], "start() left its handle on the log to the garbage collector"
            if os.path.isdir("/proc/self/fd"):  # Linux: no descriptor of ours points at the log
                ours = {os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")}
                assert str(log_path.resolve()) not in ours
            # The emulator keeps its own descriptor: it still logs each request.
            with urllib.request.urlopen(f"{server.endpoint}/moto-api/?after-start", timeout=5):
                pass
            deadline = time.monotonic() + 5
            while "after-start" not in log_path.read_text() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert "after-start" in log_path.read_text()
        finally:
            server.stop()


def _distribution_config(reference: str, comment: str) -> dict:
    origin = {"Id": "o", "DomainName": "example-bucket.s3.us-east-1.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}
    behavior = {"TargetOriginId": "o", "ViewerProtocolPolicy": "https-only", "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}
    return {
        "CallerReference": reference,
        "Comment": comment,
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": behavior,
    }


def test_a_repeated_cloudfront_create_gets_the_first_answer_as_cloudfront_gives_it(emulator):
    """local_cloud/moto_server.py: the SDK's repeat of a create it could not read the answer of."""
    cloudfront = emulator.client("cloudfront")
    tags = {"Items": [{"Key": "Environment", "Value": "Production"}]}
    request = {"DistributionConfig": _distribution_config("repeat-1", "first"), "Tags": tags}
    first = cloudfront.create_distribution_with_tags(DistributionConfigWithTags=request)["Distribution"]
    again = cloudfront.create_distribution_with_tags(DistributionConfigWithTags=request)["Distribution"]
    assert again["Id"] == first["Id"]
    assert len([d for d in cloudfront.list_distributions()["DistributionList"]["Items"] if d["Id"] == first["Id"]]) == 1
    changed = {"DistributionConfig": _distribution_config("repeat-1", "second"), "Tags": tags}
    with pytest.raises(cloudfront.exceptions.DistributionAlreadyExists):
        cloudfront.create_distribution_with_tags(DistributionConfigWithTags=changed)
