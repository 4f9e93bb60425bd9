"""The whole stack on a local moto server: synth aimed at it, apply, seed, process one request.

Shared by `make up` / `make down` (tools/up.py) and the end-to-end test. The emulator creates the
Lambda function but cannot run its code (that needs Docker), so the handler runs in a local node
process with the environment read back from the deployed function, against the deployed table
and bucket, fed a real API Gateway proxy event.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks.facts import PROJECT_ROOT, stack_dir
from tools.emulator import client, client_env
from tools.terraform_runner import Terraform

HANDLER_DIR = PROJECT_ROOT / "handler"

# The emulator profile: the settings a local deployment needs, each for what moto cannot do
# (docs/emulator.md, "Emulator differences"). The stack knows features, not the emulator.
EMULATOR_PROFILE = {
    # Local state in the deployment's folder.
    "STATE_BACKEND": "local",
    # `make down` must be able to destroy everything.
    "PROTECT_STATEFUL": "false",
    # moto refuses to change Object Lock settings of a non-empty bucket, so destroy could not
    # remove a default retention.
    "OBJECT_LOCK_DAYS": "0",
    # moto has no API for CloudFront response headers policies: AWS's managed one by id.
    "OWN_SECURITY_HEADERS": "false",
    # moto deploys a distribution at once, but the provider waits a fixed half minute before it
    # first asks (measured: apply 38 s with the wait, 5 s without).
    "CDN_WAIT_FOR_DEPLOYMENT": "false",
}

# Runs the handler once: the response on stdout, its log lines on stderr.
_INVOKE_SCRIPT = """
const { output } = require(process.argv[1] + '/src/log');
output.write = (line) => process.stderr.write(line);
const { handler } = require(process.argv[1]);
handler(JSON.parse(process.argv[2]), { awsRequestId: process.argv[3] })
  .then((response) => process.stdout.write(JSON.stringify(response)));
"""


@dataclass(frozen=True)
class Invocation:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    logs: list[dict[str, Any]]


def proxy_event(body: Mapping[str, Any], api_key: str, stage: str = "v1") -> dict[str, Any]:
    """An API Gateway REST proxy-integration event for POST /process, as the API sends it."""
    request_id = str(uuid.uuid4())
    return {
        "resource": "/process",
        "path": "/process",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json", "x-api-key": api_key},
        "multiValueHeaders": {"Content-Type": ["application/json"], "x-api-key": [api_key]},
        "queryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/process",
            "httpMethod": "POST",
            "stage": stage,
            "requestId": request_id,
            "identity": {"apiKey": api_key, "sourceIp": "127.0.0.1"},
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


@dataclass
class LocalStack:
    """One deployment of the stack on one emulator, with its state and synth under `root`."""

    root: Path
    endpoint: str
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def outdir(self) -> Path:
        return self.root / "cdktf.out"

    @property
    def state_file(self) -> Path:
        return self.root / "terraform.tfstate"

    @property
    def terraform(self) -> Terraform:
        return Terraform(stack_dir(self.outdir), self.client_env())

    def client_env(self) -> dict[str, str]:
        return client_env(self.endpoint)

    def synth(self) -> Path:
        """`python main.py` aimed at the emulator, with local state and no destroy protection."""
        self.root.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            CDKTF_OUTDIR=str(self.outdir), EMULATOR_ENDPOINT=self.endpoint, STATE_LOCAL_PATH=str(self.state_file), **EMULATOR_PROFILE
        )
        subprocess.run([sys.executable, "main.py"], cwd=PROJECT_ROOT, env=env, check=True)
        return stack_dir(self.outdir)

    def up(self, stream: bool = False) -> dict[str, Any]:
        """Synth, init and apply; returns the outputs."""
        self.synth()
        terraform = self.terraform
        terraform.init()
        terraform.apply(self.variables, stream=stream)
        return terraform.outputs()

    def deployed(self) -> bool:
        """Whether the state holds any resource (after a destroy it exists, empty)."""
        return self.state_file.exists() and bool(json.loads(self.state_file.read_text()).get("resources"))

    def down(self, stream: bool = False) -> None:
        if self.deployed():
            self.terraform.destroy(self.variables, stream=stream)

    def boto3(self, service: str):
        return client(self.endpoint, service)

    def seed_item(self, table: str, item: Mapping[str, str]) -> None:
        self.boto3("dynamodb").put_item(TableName=table, Item={k: {"S": v} for k, v in item.items()})

    def function_environment(self, function_name: str) -> dict[str, str]:
        configuration = self.boto3("lambda").get_function_configuration(FunctionName=function_name)
        return configuration["Environment"]["Variables"]

    def invoke(self, function_name: str, event: Mapping[str, Any]) -> Invocation:
        """The handler in local node, configured like the deployed function."""
        env = {**os.environ, **self.function_environment(function_name), **self.client_env()}
        request_id = event["requestContext"]["requestId"]
        result = subprocess.run(
            ["node", "-e", _INVOKE_SCRIPT, str(HANDLER_DIR), json.dumps(event), request_id],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        response = json.loads(result.stdout)
        logs = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
        return Invocation(response["statusCode"], json.loads(response["body"]), response["headers"], logs)

    def read_result(self, bucket: str, key: str) -> dict[str, Any]:
        return json.loads(self.boto3("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
