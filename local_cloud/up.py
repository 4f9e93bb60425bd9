"""`make up` / `make down`: the whole stack on a local emulator, and a local API to call.

    make up     start moto on loopback, synth aimed at it, terraform apply (progress here, the
                whole output in .local/terraform.log), seed an item, start the local API
                (local_cloud/api.py) and prove it with one request whose result is fetched
                through the CDN stand-in; then print the curl lines to do the same
    make down   stop the local API, terraform destroy, stop the emulator

Inputs: TF_VAR_ResourcePrefix, TF_VAR_DynamoDbReadCapacity, ... as for terraform; without them
the prefix keeps its default and AlertEmail is "ops@example.com". State, synth output, logs and
the local API's certificate live in .local/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from local_cloud.api import LocalApi
from local_cloud.deployment import LocalDeployment
from local_cloud.emulator import MotoServer
from runners import terraform_cli
from runners.terraform_runner import TerraformError
from stacks.facts import PROJECT_ROOT

LOCAL_ROOT = PROJECT_ROOT / ".local"
SESSION = LOCAL_ROOT / "session.json"
TERRAFORM_LOG = LOCAL_ROOT / "terraform.log"
# The prefix keeps its default (constructs_lib/inputs.py); the alert email has none.
DEFAULT_INPUTS = {"AlertEmail": "ops@example.com"}
DEMO_ITEM = {"id": "demo-1", "name": "Demo item", "seededBy": "make up"}
DEMO_BODY = json.dumps({"id": DEMO_ITEM["id"], "payload": {"source": "make up"}}, separators=(",", ":"))
STEPS = 5


class Progress:
    """Terraform's completed resources against its plan's total, on one line that updates in a
    terminal (a line every 10 s otherwise)."""

    PLAN = re.compile(r"^Plan: (\d+) to add, (\d+) to change, (\d+) to destroy")
    DONE = re.compile(r": (Creation|Modifications|Destruction) complete after ")

    def __init__(self, label: str, verb: str, out=sys.stdout, clock: Callable[[], float] = time.monotonic) -> None:
        self.label, self.verb, self.out, self.clock = label, verb, out, clock
        self.started = self.last_shown = clock()
        self.total: int | None = None
        self.done = 0
        self.tty = out.isatty()

    def __call__(self, line: str) -> None:
        plan = self.PLAN.match(line)
        if plan:
            self.total = sum(map(int, plan.groups()))
        elif self.DONE.search(line):
            self.done += 1
        else:
            return
        if self.tty or self.clock() - self.last_shown >= 10:
            self.show()

    def text(self) -> str:
        total = "?" if self.total is None else self.total
        return f"{self.label}: {self.done}/{total} resources {self.verb} ({self.clock() - self.started:.0f} s)"

    def show(self, final: bool = False) -> None:
        self.last_shown = self.clock()
        if self.tty:
            self.out.write("\r\033[K" + self.text() + ("\n" if final else ""))
        else:
            self.out.write(self.text() + "\n")
        self.out.flush()


def step(number: int, text: str) -> None:
    print(f"[{number}/{STEPS}] {text}", flush=True)


def inputs() -> dict[str, str]:
    """-var values for what the environment does not set (terraform reads TF_VAR_* itself)."""
    return {name: value for name, value in DEFAULT_INPUTS.items() if f"TF_VAR_{name}" not in os.environ}


def load_session() -> dict | None:
    if not SESSION.exists():
        return None
    session = json.loads(SESSION.read_text())
    return session if emulator_running(session) else None


def emulator_running(session: dict) -> bool:
    """Whether the session's emulator still runs: its PID is a moto_server on its port (not a reused PID)."""
    return MotoServer.is_ours(session["pid"], session.get("port"))


def _relative(path: Path | str) -> str:
    path = Path(path)
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def start_api(session: dict) -> LocalApi:
    stack = LocalDeployment(root=LOCAL_ROOT, endpoint=session["endpoint"], variables=session["variables"])
    return LocalApi.start(LOCAL_ROOT, session["endpoint"], session["outputs"]["api_invoke_url"], stack.outdir)


def try_it(api: LocalApi, outputs: dict) -> None:
    print("\nTry it:")
    print(f"  {api.curl(outputs['api_key_value'], DEMO_BODY)}")
    print(f"  url=$({api.curl(outputs['api_key_value'], DEMO_BODY)} | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"url\"])')")
    print(f"  {api.curl_result(cert=_relative(api.cdn_cert))}")
    print(f"Logs: {_relative(LOCAL_ROOT / 'access.log')} (API access log), {_relative(LOCAL_ROOT / 'function.log')} (the function's),")
    print(f"      {_relative(TERRAFORM_LOG)}, {_relative(LOCAL_ROOT / 'moto.log')}, {_relative(LOCAL_ROOT / 'local-api.log')}")


def failed(error: TerraformError, progress: Progress, consequence: str) -> int:
    """Terraform's errors and where its whole output is; the exit status."""
    progress.show(final=True)
    print("\n".join(error.errors), file=sys.stderr)
    print(f"\nterraform {error.command} failed; its whole output: {_relative(TERRAFORM_LOG)}. {consequence}", file=sys.stderr)
    return 1


def already_up(running: dict) -> int:
    """A second `make up`: what runs, the local API started again if it had stopped."""
    print(f"The local stack is already up: emulator pid {running['pid']} at {running['endpoint']}.")
    if "outputs" not in running:
        print("Its deployment did not finish (see .local/terraform.log): `make down`, then `make up` again.")
        return 1
    api = LocalApi.running(LOCAL_ROOT)
    if api is None:
        api = start_api(running)
        print(f"The local API was not running: started again at {api.api_url} (pid {api.pid}).")
    else:
        print(f"Local API at {api.api_url} (pid {api.pid}). `make down` stops both; nothing was started.")
    try_it(api, running["outputs"])
    return 0


def up() -> int:
    running = load_session()
    if running:
        return already_up(running)
    started = time.monotonic()
    # A new emulator starts empty, and so must the state; a local API left from a dead emulator goes too.
    leftover = LocalApi.running(LOCAL_ROOT)
    if leftover:
        leftover.stop()
    shutil.rmtree(LOCAL_ROOT, ignore_errors=True)
    LOCAL_ROOT.mkdir(parents=True)
    emulator = MotoServer(log_path=LOCAL_ROOT / "moto.log").start(detach=True)
    variables = inputs()
    session = {"pid": emulator.process.pid, "port": emulator.port, "endpoint": emulator.endpoint, "variables": variables}
    SESSION.write_text(json.dumps(session))
    step(1, f"AWS emulator (moto) at {emulator.endpoint}, pid {emulator.process.pid}")
    try:
        return deploy_and_serve(session, started)
    except (RuntimeError, LookupError, OSError, subprocess.CalledProcessError) as error:
        print(f"\nmake up failed: {error}", file=sys.stderr)
        print(f"Logs are in {_relative(LOCAL_ROOT)}/ (terraform.log, local-api.log, moto.log); `make down` cleans up.", file=sys.stderr)
        return 1


def deploy_and_serve(session: dict, started: float) -> int:
    stack = LocalDeployment(root=LOCAL_ROOT, endpoint=session["endpoint"], variables=session["variables"])
    stack.synth()
    step(2, f"Synthesized for the emulator: {_relative(stack.terraform.workdir / 'cdk.tf.json')}")

    progress = Progress(f"[3/{STEPS}] Deploying", "created")
    try:
        outputs = stack.apply(log=TERRAFORM_LOG, on_line=progress)
    except TerraformError as error:
        return failed(error, progress, "`make down` cleans up.")
    progress.show(final=True)
    session["outputs"] = outputs
    SESSION.write_text(json.dumps(session))

    stack.seed_item(outputs["table_name"], DEMO_ITEM)
    api = start_api(session)
    step(4, f"Local API at {api.api_url}, CDN stand-in for https://{api.cdn_domain} at 127.0.0.1:{api.cdn_port}")
    for note in api.notes:
        print(f"      note: {note}")

    status, _, body = api.post(DEMO_BODY, outputs["api_key_value"])
    if status != 200:
        step(5, f"POST /process answered {status}: {body.decode(errors='replace')}")
        print(f"The stack stays up for inspection (logs in {_relative(LOCAL_ROOT)}/; `make down` removes it).")
        return 1
    answer = json.loads(body)
    fetched, _, result = api.fetch(answer["url"])
    step(5, f"POST /process {DEMO_BODY} -> {status}; GET its url -> {fetched}: {result.decode()[:120]}")

    print("\nOutputs (api_invoke_url is the emulator's, which cannot run the function: call the local API):")
    for name, value in sorted(outputs.items()):
        print(f"  {name:18} {value}")
    try_it(api, outputs)
    print(f"\nUp in {time.monotonic() - started:.0f} s. `make down` stops the local API, destroys the stack and stops the emulator.")
    return 0


def down() -> int:
    if not SESSION.exists():
        print("Nothing is up (no .local/session.json).")
        return 0
    session = json.loads(SESSION.read_text())
    api = LocalApi.running(LOCAL_ROOT)
    if api:
        api.stop()
        print(f"Stopped the local API (pid {api.pid}).")
    if emulator_running(session):
        stack = LocalDeployment(root=LOCAL_ROOT, endpoint=session["endpoint"], variables=session["variables"])
        if stack.deployed():
            progress = Progress("Destroying", "destroyed")
            try:
                stack.down(log=TERRAFORM_LOG, on_line=progress)
            except TerraformError as error:
                return failed(error, progress, "The emulator keeps running.")
            progress.show(final=True)
        MotoServer.stop_pid(session["pid"], session.get("port"))
        print(f"Stopped the emulator (pid {session['pid']}).")
    else:
        print("The emulator is no longer running; its resources went with it.")
    shutil.rmtree(LOCAL_ROOT, ignore_errors=True)
    print("Down.")
    return 0


if __name__ == "__main__":
    terraform_cli.configure()
    sys.exit({"up": up, "down": down}[sys.argv[1]]())
