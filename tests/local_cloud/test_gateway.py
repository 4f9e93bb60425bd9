"""The local API's gateway (local_cloud/gateway.py): API Gateway's order of checks, its default
responses, the deployed gateway response, json-schema-validator's messages, the throttle and the
quota, the proxy event and the access-log line. Without the emulator: a configuration in memory
and a fake function; the end-to-end test drives the same code against a deployment."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from constructs_lib.api import ACCESS_LOG_FORMAT, BAD_BODY_TEMPLATE, request_schema
from local_cloud.gateway import INTEGRATION_TIMED_OUT, Gateway, GatewayConfig, Request, Route, TokenBucket, UsagePlan, render
from local_cloud.request_validation import check_patterns, validation_errors
from stacks.handler_contract import HandlerContract

ID_RULE = HandlerContract.load().id_rule
SCHEMA = json.loads(request_schema(ID_RULE))
KEY = "the-key"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:f"
BAD_BODY = {"statusCode": "400", "responseTemplates": {"application/json": BAD_BODY_TEMPLATE}}


def _config(quota=1000, plan_throttle=None, method_throttle=None, keys=None, responses=None, timeout_ms=29000):
    route = Route("res1", "/process", "POST", True, True, {"application/json": SCHEMA}, FUNCTION, timeout_ms, method_throttle)
    plan = UsagePlan("plan1", keys or {KEY: "key1"}, quota, "DAY", plan_throttle)
    return GatewayConfig(
        rest_api_id="api1",
        stage="v1",
        deployment_id="dep1",
        account="123456789012",
        routes={("/process", "POST"): route},
        responses={"BAD_REQUEST_BODY": BAD_BODY, **(responses or {})},
        access_log_format=ACCESS_LOG_FORMAT,
        access_log_group="/aws/apigateway/access",
        usage_plans=[plan],
        stage_variables={"color": "blue"},
    )


class Function:
    """Records the events; answers what it is told to."""

    def __init__(self, answer=None, error=None) -> None:
        self.events = []
        self.answer = answer if answer is not None else {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}
        self.error = error

    def __call__(self, arn, event, timeout_ms):
        assert arn == FUNCTION
        self.events.append(event)
        if isinstance(self.error, Exception):
            raise self.error
        return (None, self.error) if self.error else (self.answer, None)


def _gateway(config=None, function=None):
    lines = []
    gateway = Gateway(config or _config(), function or Function(), lines.append, "api1.execute-api.us-east-1.amazonaws.com")
    return gateway, lines


def _request(body=b'{"id":"a"}', key=KEY, content_type="application/json", path="/process", method="POST", stage="v1", extra=()):
    headers = [("Host", "127.0.0.1"), ("User-Agent", "test")]
    headers += [("Content-Type", content_type)] if content_type else []
    headers += [("x-api-key", key)] if key else []
    return Request(method, stage, path, {}, [*headers, *extra], body, "127.0.0.1")


def test_the_deployed_bad_body_response_is_valid_json_with_the_validators_message():
    gateway, _ = _gateway()
    response = gateway.handle(_request(b'{"id":"a","x":1}'))
    assert response.status == 400
    answer = json.loads(response.body)
    assert answer == {
        "error": "InvalidBody",
        "message": '[object instance has properties which are not allowed by the schema: ["x"]]',
        "requestId": response.headers["x-amzn-RequestId"],
    }


@pytest.mark.parametrize(
    "body, message",
    [
        ({"payload": {}}, 'object has missing required properties (["id"])'),
        ({"id": "a", "b": 1, "c": 2}, 'object instance has properties which are not allowed by the schema: ["b","c"]'),
        ({"id": 7}, 'instance type (integer) does not match any allowed primitive type (allowed: ["string"])'),
        ({"id": "a", "payload": []}, 'instance type (array) does not match any allowed primitive type (allowed: ["object"])'),
        # Every broken rule is named.
        (
            {"id": ""},
            'string "" is too short (length: 0, required minimum: 1), '
            f'ECMA 262 regex "{ID_RULE["pattern"]}" does not match input string ""',
        ),
        ({"id": "x" * 257}, f'string "{"x" * 257}" is too long (length: 257, maximum allowed: 256)'),
        ({"id": "-a"}, f'ECMA 262 regex "{ID_RULE["pattern"]}" does not match input string "-a"'),
        ([], 'instance type (array) does not match any allowed primitive type (allowed: ["object"])'),
    ],
)
def test_validation_messages_are_json_schema_validators(body, message):
    assert validation_errors(SCHEMA, json.dumps(body).encode()) == f"[{message}]"


@pytest.mark.parametrize("body", [b"", b"   ", b"not json", b'{"id":NaN}', b'{"id":"a"', b"[" * 100000 + b"]" * 100000])
def test_a_body_that_does_not_parse_is_refused_as_api_gateway_words_it(body):
    assert validation_errors(SCHEMA, body) == "[Unknown error parsing request body]"


def test_patterns_are_ecma_262s_where_pythons_differ():
    # Python's $ also matches before a final newline, \d any Unicode digit; ECMA's do not.
    assert (
        validation_errors(SCHEMA, b'{"id":"demo-1\\n"}')
        == f'[ECMA 262 regex "{ID_RULE["pattern"]}" does not match input string "demo-1\\n"]'
    )
    assert validation_errors({"type": "string", "pattern": "^\\d+$"}, '"\u0663"'.encode()) is not None
    assert validation_errors({"type": "string", "pattern": r"^a[$]\$$"}, b'"a$$"') is None
    # ECMA's . matches no line terminator; Python's matches \r.
    assert validation_errors({"type": "string", "pattern": "^a.b$"}, b'"a\\rb"') is not None
    assert validation_errors({"type": "string", "pattern": "^a.b$"}, b'"a-b"') is None


@pytest.mark.parametrize(
    ("pattern", "matching", "other"),
    [
        (r"^\s$", "\u00a0", "a"),  # ECMA's \s: Unicode spaces, the no-break space among them
        (r"^\A\Z$", "AZ", "\n"),  # letters in ECMA, anchors in Python
        (r"^[^]$", "\n", ""),  # any one character, line terminators included
        (r"^a[]b$", None, "ab"),  # an empty class: matches nothing
        (r"^\cJ$", "\n", "J"),  # a control character by its letter
        (r"^(?<word>a+)$", "aa", "b"),  # a named group
    ],
)
def test_ecma_262_patterns_python_cannot_read_are_judged_as_api_gateway_does(pattern, matching, other):
    """The cases a translation to Python's syntax could not take, judged by an ECMA 262 engine."""
    schema = {"type": "string", "pattern": pattern}
    if matching is not None:
        assert validation_errors(schema, json.dumps(matching).encode()) is None
    assert validation_errors(schema, json.dumps(other).encode()) is not None


def test_pattern_properties_are_judged_by_ecma_262_too():
    schema = {"type": "object", "patternProperties": {"^[a-z]+$": {"type": "integer"}}}
    assert validation_errors(schema, b'{"abc": 1}') is None
    assert validation_errors(schema, b'{"abc": "x"}') is not None
    assert validation_errors(schema, b'{"abc\\n": "x"}') is None  # "$" is the very end: no match, so no rule


def test_a_valid_body_passes():
    assert validation_errors(SCHEMA, b'{"id":"a-1","payload":{"n":1}}') is None


@pytest.mark.parametrize(
    "request_kwargs, status, message",
    [
        ({"key": None, "body": b"bad"}, 403, "Forbidden"),
        ({"key": "wrong", "body": b"bad"}, 403, "Forbidden"),
        ({"path": "/other"}, 403, "Missing Authentication Token"),
        ({"method": "GET"}, 403, "Missing Authentication Token"),
        ({"stage": "v2"}, 403, "Missing Authentication Token"),
        ({"body": b"x" * (10 * 1024 * 1024 + 1)}, 413, "Request Too Long"),
        ({"body": None}, 413, "Request Too Long"),  # the server did not take it
    ],
)
def test_refusals_before_the_body_is_validated(request_kwargs, status, message):
    function = Function()
    gateway, lines = _gateway(function=function)
    response = gateway.handle(_request(**request_kwargs))
    assert (response.status, json.loads(response.body)) == (status, {"message": message})
    assert function.events == []
    (line,) = lines
    assert (json.loads(line)["status"], json.loads(line)["errorMessage"]) == (str(status), message)


def test_the_quota_answers_429_before_validation_and_is_counted_per_utc_day():
    gateway, _ = _gateway(_config(quota=2))
    assert [gateway.handle(_request(b"bad")).status for _ in range(3)] == [400, 400, 429]
    response = gateway.handle(_request(b"bad"))
    assert (json.loads(response.body), response.headers["x-amzn-ErrorType"]) == ({"message": "Limit Exceeded"}, "LimitExceededException")
    plan = gateway.config.usage_plans[0]
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert plan.within_quota("key1", tomorrow) is True


def test_the_plan_throttle_is_a_token_bucket_of_its_burst_refilled_at_its_rate():
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=20, clock=clock)
    assert [bucket.take() for _ in range(21)] == [True] * 20 + [False]
    clock.now += 0.25  # 2.5 tokens
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    clock.now += 100  # never more than the burst
    assert sum(bucket.take() for _ in range(30)) == 20


def test_plan_and_method_throttles_answer_429_too_many_requests():
    for config in (_config(plan_throttle=(0.001, 1)), _config(method_throttle=TokenBucket(1, 1, Clock()))):
        gateway, _ = _gateway(config)
        assert gateway.handle(_request()).status == 200
        response = gateway.handle(_request())
        assert (response.status, json.loads(response.body)) == (429, {"message": "Too Many Requests"})


def test_the_plan_throttles_each_key_on_its_own():
    gateway, _ = _gateway(_config(plan_throttle=(0.001, 2), keys={KEY: "key1", "other-key": "key2"}))
    assert [gateway.handle(_request()).status for _ in range(3)] == [200, 200, 429]
    assert [gateway.handle(_request(key="other-key")).status for _ in range(3)] == [200, 200, 429]


def test_a_deployed_default_4xx_answers_for_the_4xx_types_it_does_not_name():
    default = {"statusCode": "418", "responseTemplates": {"application/json": '{"oops":$context.error.messageString}'}}
    gateway, _ = _gateway(_config(responses={"DEFAULT_4XX": default}))
    response = gateway.handle(_request(key=None))
    assert (response.status, json.loads(response.body)) == (418, {"oops": "Forbidden"})
    assert gateway.handle(_request(b"{}")).status == 400  # BAD_REQUEST_BODY is deployed on its own


def test_the_integration_timeout_answers_504():
    gateway, lines = _gateway(function=Function(error=INTEGRATION_TIMED_OUT))
    response = gateway.handle(_request())
    assert (response.status, json.loads(response.body)) == (504, {"message": "Endpoint request timed out"})
    assert json.loads(lines[0])["integrationStatus"] == "-"


def test_a_failure_of_the_gateway_itself_answers_500_and_is_logged():
    gateway, lines = _gateway(function=Function(error=RuntimeError("a bug")))
    response = gateway.handle(_request())
    assert (response.status, json.loads(response.body)) == (500, {"message": "Internal server error"})
    assert json.loads(lines[0])["status"] == "500"


def test_the_model_is_chosen_by_media_type_and_none_matching_means_no_validation():
    function = Function()
    gateway, _ = _gateway(function=function)
    assert gateway.handle(_request(b"bad", content_type="Application/JSON; charset=utf-8")).status == 400
    assert gateway.handle(_request(b"bad", content_type=None)).status == 400  # no Content-Type: application/json
    assert gateway.handle(_request(b"bad", content_type="text/plain")).status == 200
    assert [e["body"] for e in function.events] == ["bad"]


def test_the_proxy_event_has_api_gateways_fields():
    function = Function()
    gateway, _ = _gateway(function=function)
    gateway.handle(_request(extra=[("X-Multi", "1"), ("X-Multi", "2")]))
    (event,) = function.events
    assert set(event) == {
        "resource",
        "path",
        "httpMethod",
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "requestContext",
        "body",
        "isBase64Encoded",
    }
    context = event["requestContext"]
    assert {
        "accountId",
        "apiId",
        "deploymentId",
        "domainName",
        "domainPrefix",
        "extendedRequestId",
        "httpMethod",
        "identity",
        "path",
        "protocol",
        "requestId",
        "requestTime",
        "requestTimeEpoch",
        "resourceId",
        "resourcePath",
        "stage",
    } == set(context)
    identity = context["identity"]
    assert (context["path"], context["stage"], identity["apiKey"], identity["apiKeyId"]) == ("/v1/process", "v1", KEY, "key1")
    assert (event["headers"]["X-Multi"], event["multiValueHeaders"]["X-Multi"]) == ("2", ["1", "2"])
    # What the regional endpoint sets: its Host, its TLS front's X-Forwarded-*.
    headers = event["headers"]
    assert (headers["Host"], headers["X-Forwarded-Proto"], headers["X-Forwarded-Port"]) == (gateway.domain, "https", "443")
    assert headers["X-Forwarded-For"] == "127.0.0.1" and headers["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert event["multiValueHeaders"]["Host"] == [gateway.domain]
    assert (event["stageVariables"], context["accountId"], context["protocol"]) == ({"color": "blue"}, "123456789012", "HTTP/1.1")
    assert (event["body"], event["isBase64Encoded"], event["queryStringParameters"]) == ('{"id":"a"}', False, None)


@pytest.mark.parametrize(
    "function",
    [
        Function(error="Sandbox.Timedout: Task timed out"),
        Function(answer={"statusCode": "200", "body": "{}"}),
        Function(answer={"statusCode": 200, "body": {"not": "a string"}}),
        Function(answer=["not", "an", "object"]),
        Function(answer={"statusCode": 200, "body": "not base64!", "isBase64Encoded": True}),
    ],
)
def test_a_failed_function_or_a_malformed_proxy_response_answers_502(function):
    gateway, lines = _gateway(function=function)
    response = gateway.handle(_request())
    assert (response.status, json.loads(response.body)) == (502, {"message": "Internal server error"})
    entry = json.loads(lines[0])
    assert entry["integrationError"] != "-" and entry["integrationStatus"] == "200"  # Lambda's Invoke answered


def test_one_access_log_line_per_request_in_the_stages_format():
    gateway, lines = _gateway()
    response = gateway.handle(_request())
    (line,) = lines
    entry = json.loads(line)
    assert set(entry) == set(json.loads(ACCESS_LOG_FORMAT))
    assert (entry["requestId"], entry["status"], entry["apiKeyId"], entry["integrationStatus"]) == (
        response.headers["x-amzn-RequestId"],
        "200",
        "key1",
        "200",
    )
    assert (entry["integrationError"], entry["errorMessage"]) == ("-", "-")
    assert datetime.strptime(entry["requestTime"], "%d/%b/%Y:%H:%M:%S %z")


def test_render_replaces_each_variable_and_marks_those_without_a_value():
    values = {"$context.a": "A", "$context.a.b": "AB"}
    assert render('{"x":"$context.a.b","y":"$context.a","z":"$context.a.c"}', values, missing="-") == '{"x":"AB","y":"A","z":"-"}'


def test_the_configuration_is_read_from_the_deployed_stage():
    """GatewayConfig.read on an API made through the API Gateway API (moto, in process)."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        api = boto3.client("apigateway", region_name="us-east-1")
        rest = api.create_rest_api(name="r")["id"]
        root = api.get_resources(restApiId=rest)["items"][0]["id"]
        resource = api.create_resource(restApiId=rest, parentId=root, pathPart="process")["id"]
        validator = api.create_request_validator(restApiId=rest, name="body", validateRequestBody=True)["id"]
        api.create_model(restApiId=rest, name="Req", contentType="application/json", schema=json.dumps(SCHEMA))
        api.put_method(
            restApiId=rest,
            resourceId=resource,
            httpMethod="POST",
            authorizationType="NONE",
            apiKeyRequired=True,
            requestValidatorId=validator,
            requestModels={"application/json": "Req"},
        )
        uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION}/invocations"
        api.put_integration(restApiId=rest, resourceId=resource, httpMethod="POST", type="AWS_PROXY", integrationHttpMethod="POST", uri=uri)
        api.put_gateway_response(
            restApiId=rest, responseType="BAD_REQUEST_BODY", statusCode="400", responseTemplates={"application/json": "{}"}
        )
        deployment = api.create_deployment(restApiId=rest)["id"]
        api.create_stage(restApiId=rest, stageName="v1", deploymentId=deployment, variables={"color": "blue"})
        api.update_stage(
            restApiId=rest,
            stageName="v1",
            patchOperations=[
                {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "10"},
                {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "20"},
            ],
        )
        plan = api.create_usage_plan(
            name="p",
            apiStages=[{"apiId": rest, "stage": "v1"}],
            throttle={"rateLimit": 5, "burstLimit": 7},
            quota={"limit": 12, "period": "DAY"},
        )["id"]
        for name, enabled in (("on", True), ("off", False)):
            key = api.create_api_key(name=name, enabled=enabled, value=f"value-of-{name}-key-000000000000")["id"]
            api.create_usage_plan_key(usagePlanId=plan, keyId=key, keyType="API_KEY")
        config = GatewayConfig.read(api, rest, "v1", account="123456789012")

    route = config.routes[("/process", "POST")]
    assert (route.api_key_required, route.validate_body, route.function_arn) == (True, True, FUNCTION)
    assert route.models == {"application/json": SCHEMA}
    assert (route.throttle.rate, route.throttle.burst) == (10, 20)
    (usage,) = config.usage_plans
    assert list(usage.keys) == ["value-of-on-key-000000000000"]  # the disabled key admits nothing
    assert (usage.quota_limit, usage.quota_period, usage.throttle) == (12, "DAY", (5, 7))
    assert (set(config.responses), config.stage_variables, config.deployment_id) == ({"BAD_REQUEST_BODY"}, {"color": "blue"}, deployment)


def test_a_model_whose_pattern_is_no_ecma_262_expression_is_refused_when_it_is_loaded():
    check_patterns({"properties": {"id": {"type": "string", "pattern": "^[a-z]+$"}}}, "fine")
    for schema in ({"properties": {"id": {"pattern": "("}}}, {"patternProperties": {"[": {}}}):
        with pytest.raises(ValueError, match="model broken: pattern"):
            check_patterns(schema, "broken")
