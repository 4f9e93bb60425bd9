"""The local API's Lambda environments (local_cloud/lambda_runtime.py): the deployed package found by
its digest, long-lived environments reused one invocation at a time, Lambda's context and
reserved variables, an environment killed when it outlives the timeout, errors reported as
Lambda reports them, the handler's output as its log."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import zipfile

import pytest

from local_cloud.lambda_runtime import FunctionConfig, RuntimePool, node_major, sha256_base64, unpack_deployed_package

HANDLER = """
const fs = require('fs');
let invocations = 0;
exports.handler = async (event, context) => {
  invocations += 1;
  console.log(JSON.stringify({ level: 'INFO', id: event.id }));
  if (event.fail) throw new TypeError('broken on purpose');
  if (event.partial) {  // half a result line on the runtime's channel, then nothing
    fs.writeSync(Number(process.argv[4]), '{"id":');
    await new Promise(() => {});
  }
  if (event.require) return { statusCode: 200, body: JSON.stringify({ loaded: typeof require(event.require) }) };
  if (event.sleepMs) await new Promise((resolve) => setTimeout(resolve, event.sleepMs));
  if (event.waitFor) while (!fs.existsSync(event.waitFor)) await new Promise((resolve) => setTimeout(resolve, 20));
  return {
    statusCode: 200,
    body: JSON.stringify({
      pid: process.pid,
      invocations,
      requestId: context.awsRequestId,
      remaining: context.getRemainingTimeInMillis(),
      functionName: context.functionName,
      env: { TABLE_NAME: process.env.TABLE_NAME, AWS_LAMBDA_FUNCTION_NAME: process.env.AWS_LAMBDA_FUNCTION_NAME,
             HOME: process.env.HOME || null, trace: process.env._X_AMZN_TRACE_ID },
    }),
  };
};
"""


@pytest.fixture
def package(tmp_path):
    archive = tmp_path / "packages" / "handler.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("index.js", HANDLER)
    return archive


def _config(package, timeout=3):
    return FunctionConfig(
        name="f",
        arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        runtime="nodejs22.x",
        handler="index.handler",
        timeout_seconds=timeout,
        memory_mb=256,
        code_sha256=sha256_base64(package),
        environment={"TABLE_NAME": "items"},
        log_group="/aws/lambda/f",
    )


@pytest.fixture
def pool(package, tmp_path):
    logs = []
    config = _config(package)
    runtime = RuntimePool(
        config, unpack_deployed_package(config, package.parent, tmp_path / "unpacked"), {"AWS_REGION": "us-east-1"}, 2, logs.append
    )
    runtime.logs = logs
    yield runtime
    runtime.close()


def _body(outcome):
    assert outcome.error is None, outcome.error
    return json.loads(outcome.response["body"])


def test_only_the_package_with_the_deployed_digest_is_run(package, tmp_path):
    other = package.parent / "other.zip"
    with zipfile.ZipFile(other, "w") as zipped:
        zipped.writestr("index.js", "exports.handler = async () => ({ statusCode: 500 });")
    unpacked = unpack_deployed_package(_config(package), package.parent, tmp_path / "unpacked")
    assert "invocations" in (unpacked / "index.js").read_text()
    with pytest.raises(LookupError, match="CodeSha256"):
        unpack_deployed_package(dataclasses.replace(_config(package), code_sha256="bm9uZQ=="), package.parent, tmp_path)


def test_an_environment_is_started_once_and_reused(pool):
    first, second = pool.invoke({"id": "a"}), pool.invoke({"id": "b"})
    assert (first.cold_start, second.cold_start) == (True, False)
    one, two = _body(first), _body(second)
    assert one["pid"] == two["pid"] and (one["invocations"], two["invocations"]) == (1, 2)
    assert one["requestId"] != two["requestId"]


def test_the_context_and_environment_are_lambdas(pool):
    body = _body(pool.invoke({"id": "a"}))
    assert 0 < body["remaining"] <= 3000 and body["functionName"] == "f"
    # The function's variables and Lambda's reserved ones; nothing of the caller's environment.
    assert body["env"]["TABLE_NAME"] == "items" and body["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "f"
    assert body["env"]["HOME"] is None
    assert body["env"]["trace"].startswith("Root=1-")


def test_the_handlers_output_is_its_log(pool):
    pool.invoke({"id": "logged"})
    deadline = time.monotonic() + 5
    while not any('"logged"' in line for line in pool.logs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any('"id":"logged"' in line for line in pool.logs)


def test_the_package_gets_the_runtimes_sdk_and_nothing_else_of_node_path(pool):
    assert _body(pool.invoke({"id": "a", "require": "@aws-sdk/client-s3"})) == {"loaded": "object"}
    refused = pool.invoke({"id": "b", "require": "fast-check"})  # in the handler's node_modules, not on Lambda
    assert refused.error["errorType"] == "Error" and "not bundled by the runtime" in refused.error["errorMessage"]


def test_each_invocation_reports_as_lambda_does(pool):
    pool.invoke({"id": "a"})
    reports = [line for line in pool.logs if line.startswith("REPORT RequestId: ")]
    assert len(reports) == 1 and "\tDuration: " in reports[0] and "\tMemory Size: 256 MB" in reports[0]


def test_a_caller_that_stops_waiting_first_is_told_so(pool):
    outcome = pool.invoke({"id": "a", "sleepMs": 2000}, caller_timeout_ms=300)
    assert outcome.caller_timed_out and outcome.response is None


def test_a_node_other_than_the_runtimes_is_noted(package, tmp_path):
    config = dataclasses.replace(_config(package), runtime="nodejs14.x")
    pool = RuntimePool(config, unpack_deployed_package(config, package.parent, tmp_path / "u"), {}, 1, lambda line: None)
    assert pool.notes == ["f is deployed on nodejs14.x; here it runs on node " + str(node_major())]


def test_a_thrown_error_is_reported_as_lambda_reports_it_and_the_environment_lives_on(pool):
    failed = pool.invoke({"id": "a", "fail": True})
    assert failed.error["errorType"] == "TypeError" and failed.error["errorMessage"] == "broken on purpose"
    assert _body(pool.invoke({"id": "b"}))["invocations"] == 2


def test_an_invocation_past_the_timeout_kills_its_environment(package, tmp_path):
    config = _config(package, timeout=2)
    logs = []
    pool = RuntimePool(config, unpack_deployed_package(config, package.parent, tmp_path / "u"), {}, 1, logs.append)
    try:
        first = _body(pool.invoke({"id": "a"}))  # started and warm: the timeouts below are the handler's
        late = pool.invoke({"id": "b", "sleepMs": 20000})
        assert late.error == {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out"}
        fresh = pool.invoke({"id": "c"})
        assert fresh.cold_start and _body(fresh)["pid"] != first["pid"]
        # An invocation waiting for the only environment gets a new one once the late one is killed.
        waiting = {}
        late = threading.Thread(target=lambda: pool.invoke({"id": "d", "sleepMs": 20000}))
        late.start()
        deadline = time.monotonic() + 10
        while not any('"id":"d"' in line for line in logs) and time.monotonic() < deadline:  # it holds the environment
            time.sleep(0.02)
        queued = threading.Thread(target=lambda: waiting.setdefault("outcome", pool.invoke({"id": "e"})))
        queued.start()
        queued.join(30)
        late.join(30)
        assert _body(waiting["outcome"])["invocations"] == 1
    finally:
        pool.close()


def test_half_a_result_is_a_crash_at_the_timeout_not_a_hang(package, tmp_path):
    config = _config(package, timeout=2)
    pool = RuntimePool(config, unpack_deployed_package(config, package.parent, tmp_path / "u"), {}, 1, lambda line: None)
    try:
        assert pool.invoke({"id": "a", "partial": True}).error["errorType"] == "Sandbox.Timedout"
        assert _body(pool.invoke({"id": "b"}))["invocations"] == 1  # a new environment
    finally:
        pool.close()


def test_a_closed_pool_runs_nothing_more(pool):
    _body(pool.invoke({"id": "a"}))
    pool.close()
    assert pool.invoke({"id": "b"}).error["errorType"] == "Runtime.Unavailable"
    assert pool._all == []


def test_concurrent_invocations_get_their_own_environments(pool, tmp_path):
    release = tmp_path / "release"
    blocked = {}
    thread = threading.Thread(target=lambda: blocked.setdefault("outcome", pool.invoke({"id": "a", "waitFor": str(release)})))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not pool.logs and time.monotonic() < deadline:  # the first environment is busy
            time.sleep(0.02)
        other = _body(pool.invoke({"id": "b"}))
    finally:
        release.touch()
        thread.join(10)
    assert other["pid"] != _body(blocked["outcome"])["pid"]
