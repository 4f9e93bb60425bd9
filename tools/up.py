"""`make up` / `make down`: the whole stack on a local emulator, proven by one real request.

    make up     start moto on loopback, synth aimed at it, terraform apply, print the outputs,
                seed an item, run the handler with an API Gateway proxy event against the
                deployed table and bucket, and show where the result landed
    make down   terraform destroy, then stop the emulator

Inputs: TF_VAR_ResourcePrefix, TF_VAR_DynamoDbReadCapacity, ... as for terraform; without them
the prefix keeps its default and AlertEmail is "ops@example.com". State, synth output and the
emulator's log live in .local/.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time

from stacks.facts import PROJECT_ROOT
from tools import terraform_cli
from tools.emulator import MotoServer
from tools.local_stack import LocalStack, proxy_event

LOCAL_ROOT = PROJECT_ROOT / ".local"
SESSION = LOCAL_ROOT / "session.json"
# The prefix keeps its default (constructs_lib/inputs.py); the alert email has none.
DEFAULT_INPUTS = {"AlertEmail": "ops@example.com"}
DEMO_ITEM = {"id": "demo-1", "name": "Demo item", "seededBy": "make up"}


def step(number: int, total: int, text: str) -> None:
    print(f"\n==> [{number}/{total}] {text}", flush=True)


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


def up() -> int:
    running = load_session()
    if running:
        print(f"The local stack is already up: emulator pid {running['pid']} at {running['endpoint']}.")
        print("`make down` stops it; nothing was started.")
        return 0
    started = time.monotonic()
    total = 6
    step(1, total, "Starting the AWS emulator (moto) on loopback")
    shutil.rmtree(LOCAL_ROOT, ignore_errors=True)  # a new emulator starts empty: so must the state
    LOCAL_ROOT.mkdir(parents=True)
    emulator = MotoServer(log_path=LOCAL_ROOT / "moto.log").start(detach=True)
    variables = inputs()
    session = {"pid": emulator.process.pid, "port": emulator.port, "endpoint": emulator.endpoint, "variables": variables}
    SESSION.write_text(json.dumps(session))
    print(f"    emulator pid {emulator.process.pid} at {emulator.endpoint} (log: .local/moto.log)")

    stack = LocalStack(root=LOCAL_ROOT, endpoint=emulator.endpoint, variables=variables)
    step(2, total, "Synthesizing the stack with the provider aimed at the emulator")
    stack.synth()
    print(f"    {stack.terraform.workdir.relative_to(PROJECT_ROOT)}/cdk.tf.json")

    step(3, total, "terraform init + apply")
    terraform = stack.terraform
    terraform.init()
    terraform.apply(variables, stream=True)
    outputs = terraform.outputs()

    step(4, total, "Outputs")
    for name, value in sorted(outputs.items()):
        print(f"    {name:18} {'(sensitive)' if name == 'api_key_value' else value}")

    step(5, total, f"Seeding item {DEMO_ITEM['id']!r} into {outputs['table_name']}")
    stack.seed_item(outputs["table_name"], DEMO_ITEM)

    step(6, total, "POST /process: the handler (local node, the deployed function's environment)")
    event = proxy_event({"id": DEMO_ITEM["id"], "payload": {"source": "make up"}}, outputs["api_key_value"])
    print(f"    request: POST {outputs['api_invoke_url']} body={event['body']}")
    invocation = stack.invoke(outputs["function_name"], event)
    print(f"    response: {invocation.status} {json.dumps(invocation.body)}")
    for line in invocation.logs:
        print(f"    log: {json.dumps(line)}")
    if invocation.status != 200:
        print("The request failed; the stack stays up for inspection (`make down` removes it).")
        return 1
    key = invocation.body["key"]
    print(f"    result: s3://{outputs['data_bucket_name']}/{key}")
    print(f"    served at: {invocation.body['url']}")
    print(f"    content: {json.dumps(stack.read_result(outputs['data_bucket_name'], key))}")
    print(f"\nUp in {time.monotonic() - started:.0f} s. `make down` destroys it and stops the emulator.")
    return 0


def down() -> int:
    if not SESSION.exists():
        print("Nothing is up (no .local/session.json).")
        return 0
    session = json.loads(SESSION.read_text())
    if emulator_running(session):
        print("==> terraform destroy", flush=True)
        LocalStack(root=LOCAL_ROOT, endpoint=session["endpoint"], variables=session["variables"]).down(stream=True)
        print(f"==> Stopping the emulator (pid {session['pid']})")
        MotoServer.stop_pid(session["pid"], session.get("port"))
    else:
        print("The emulator is no longer running; its resources went with it.")
    shutil.rmtree(LOCAL_ROOT, ignore_errors=True)
    print("Down.")
    return 0


if __name__ == "__main__":
    terraform_cli.configure()
    sys.exit({"up": up, "down": down}[sys.argv[1]]())
