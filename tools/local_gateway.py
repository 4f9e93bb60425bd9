"""An API Gateway (REST, v1) stage on loopback, configured from the deployed API on the emulator.

Everything it enforces is read from the deployment, never from the stack's constants: the
resources and methods, whether a method needs an API key, the usage plans of the stage with
their keys, throttle and quota, the stage's method throttle, the request validator and the
models by content type, the gateway responses, the access-log format and its log group, and the
Lambda function behind each proxy integration (tools/lambda_runtime.py runs it).

AWS's behaviour it follows (docs/emulator.md, "The local API", lists the sources): a route that
does not exist answers 403 "Missing Authentication Token"; then the API key (403 "Forbidden"),
the usage plan's throttle and quota (429 "Too Many Requests" / "Limit Exceeded"), the stage's
method throttle, then body validation against the model of the request's media type (none
matching: no validation; no Content-Type: application/json), with json-schema-validator's
messages in $context.error.validationErrorString; a function error, timeout or malformed proxy
response answers 502. Not emulated: WAF rules, X-Ray, authorizers, mapping templates, binary
media types, caching.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jsonschema

ACCOUNT_ID = "123456789012"  # the emulator's account
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit

# AWS's defaults for the gateway responses this stand-in can give: status, message, error type
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
# A deployed gateway response of the same type replaces status and body.
DEFAULT_RESPONSES = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token", "MissingAuthenticationTokenException"),
    "INVALID_API_KEY": (403, "Forbidden", "ForbiddenException"),
    "THROTTLED": (429, "Too Many Requests", "TooManyRequestsException"),
    "QUOTA_EXCEEDED": (429, "Limit Exceeded", "LimitExceededException"),
    "BAD_REQUEST_BODY": (400, "Invalid request body", "BadRequestException"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", "RequestTooLongException"),
    # A Lambda proxy integration whose function failed, timed out or answered a malformed response.
    "DEFAULT_5XX": (502, "Internal server error", "InternalServerErrorException"),
}
DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'


class TokenBucket:
    """API Gateway's throttle: `burst` tokens at most, refilled at `rate` per second."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = float(burst)
        self.updated = clock()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


@dataclass
class UsagePlan:
    id: str
    keys: dict[str, str]  # key value -> key id (enabled keys only)
    quota_limit: int | None
    quota_period: str | None
    throttle: TokenBucket | None
    used: dict[tuple[str, str], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def within_quota(self, key_id: str, now: datetime) -> bool:
        """Counts the request; False once the key's quota for the period (UTC) is spent."""
        if self.quota_limit is None:
            return True
        period = {"DAY": now.strftime("%Y-%m-%d"), "WEEK": now.strftime("%G-W%V"), "MONTH": now.strftime("%Y-%m")}[self.quota_period]
        with self.lock:
            count = self.used.get((key_id, period), 0)
            if count >= self.quota_limit:
                return False
            self.used[(key_id, period)] = count + 1
            return True


@dataclass(frozen=True)
class Route:
    resource_id: str
    path: str
    method: str
    api_key_required: bool
    validate_body: bool
    models: Mapping[str, Mapping[str, Any]]  # content type -> JSON schema
    function_arn: str | None  # the AWS_PROXY integration's function


@dataclass(frozen=True)
class GatewayConfig:
    rest_api_id: str
    stage: str
    deployment_id: str
    routes: Mapping[tuple[str, str], Route]
    responses: Mapping[str, Mapping[str, Any]]  # deployed gateway responses by type
    access_log_format: str | None
    access_log_group: str | None
    method_throttle: TokenBucket | None
    usage_plans: list[UsagePlan]

    def without_usage_limits(self) -> GatewayConfig:
        """The same stage with no throttle and no quota (a benchmark of the local API itself)."""
        return dataclasses.replace(self, method_throttle=None, usage_plans=[_unlimited(p) for p in self.usage_plans])

    @classmethod
    def read(cls, apigateway, rest_api_id: str, stage_name: str) -> GatewayConfig:
        """The deployed configuration of one stage (an apigateway client on the emulator)."""
        stage = apigateway.get_stage(restApiId=rest_api_id, stageName=stage_name)
        validators = {v["id"]: v for v in apigateway.get_request_validators(restApiId=rest_api_id)["items"]}
        schemas = {m["name"]: json.loads(m["schema"]) for m in apigateway.get_models(restApiId=rest_api_id)["items"] if m.get("schema")}
        routes = {}
        for resource in apigateway.get_resources(restApiId=rest_api_id)["items"]:
            for method in resource.get("resourceMethods", {}):
                spec = apigateway.get_method(restApiId=rest_api_id, resourceId=resource["id"], httpMethod=method)
                validator = validators.get(spec.get("requestValidatorId", ""), {})
                integration = spec.get("methodIntegration", {})
                arn = re.search(r"functions/(arn:[^/]+)/invocations", integration.get("uri", ""))
                proxy = integration.get("type") == "AWS_PROXY"
                routes[(resource["path"], method)] = Route(
                    resource_id=resource["id"],
                    path=resource["path"],
                    method=method,
                    api_key_required=spec.get("apiKeyRequired", False),
                    validate_body=validator.get("validateRequestBody", False),
                    models={ct.lower(): schemas[name] for ct, name in spec.get("requestModels", {}).items() if name in schemas},
                    function_arn=arn.group(1) if arn and proxy else None,
                )
        responses = {r["responseType"]: r for r in apigateway.get_gateway_responses(restApiId=rest_api_id)["items"]}
        settings = stage.get("methodSettings", {}).get("*/*", {})
        method_throttle = None
        if "throttlingRateLimit" in settings:
            method_throttle = TokenBucket(settings["throttlingRateLimit"], settings["throttlingBurstLimit"])
        access = stage.get("accessLogSettings", {})
        keys = {k["id"]: k for k in apigateway.get_api_keys(includeValues=True)["items"]}
        plans = []
        for plan in apigateway.get_usage_plans()["items"]:
            if not any(s["apiId"] == rest_api_id and s["stage"] == stage_name for s in plan.get("apiStages", [])):
                continue
            plan_keys = apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
            throttle = plan.get("throttle")
            plans.append(
                UsagePlan(
                    id=plan["id"],
                    keys={keys[k["id"]]["value"]: k["id"] for k in plan_keys if keys.get(k["id"], {}).get("enabled")},
                    quota_limit=plan.get("quota", {}).get("limit"),
                    quota_period=plan.get("quota", {}).get("period"),
                    throttle=TokenBucket(throttle["rateLimit"], throttle["burstLimit"]) if throttle else None,
                )
            )
        return cls(
            rest_api_id=rest_api_id,
            stage=stage_name,
            deployment_id=stage["deploymentId"],
            routes=routes,
            responses=responses,
            access_log_format=access.get("format"),
            access_log_group=access["destinationArn"].split(":log-group:")[1] if access.get("destinationArn") else None,
            method_throttle=method_throttle,
            usage_plans=plans,
        )


def _unlimited(plan: UsagePlan) -> UsagePlan:
    return dataclasses.replace(plan, throttle=None, quota_limit=None, used={}, lock=threading.Lock())


def render(template: str, variables: Mapping[str, str], missing: str = "") -> str:
    """`$context.x.y` variables replaced by their values; one without a value by `missing`."""
    return re.sub(r"\$context(?:\.[A-Za-z0-9_]+)+", lambda match: variables.get(match.group(0), missing), template)


def _fge_type(value: Any) -> str:
    """json-schema-validator's name for a JSON value's type (integers are "integer")."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string", dict: "object", list: "array", type(None): "null"}[type(value)]


def _message(error: jsonschema.ValidationError) -> str:
    """An error as json-schema-validator (API Gateway's) words it."""
    dump = lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":"))  # noqa: E731
    kind, instance, expected = error.validator, error.instance, error.validator_value
    if kind == "required":
        missing = sorted(name for name in expected if name not in instance)
        return f"object has missing required properties ({dump(missing)})"
    if kind == "additionalProperties":
        extra = sorted(name for name in instance if name not in error.schema.get("properties", {}))
        return f"object instance has properties which are not allowed by the schema: {dump(extra)}"
    if kind == "type":
        allowed = expected if isinstance(expected, list) else [expected]
        return f"instance type ({_fge_type(instance)}) does not match any allowed primitive type (allowed: {dump(allowed)})"
    if kind == "maxLength":
        return f"string {dump(instance)} is too long (length: {len(instance)}, maximum allowed: {expected})"
    if kind == "minLength":
        return f"string {dump(instance)} is too short (length: {len(instance)}, required minimum: {expected})"
    if kind == "pattern":
        return f"ECMA 262 regex {dump(expected)} does not match input string {dump(instance)}"
    return error.message


def validation_errors(schema: Mapping[str, Any], body: bytes) -> str | None:
    """None when the body is valid; else $context.error.validationErrorString's text."""

    def refuse(constant: str) -> None:
        raise ValueError(constant)

    try:
        document = json.loads(body.decode("utf-8"), parse_constant=refuse) if body.strip() else refuse("empty")
    except ValueError:
        return "[Unknown error parsing request body]"
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
    return f"[{', '.join(_message(e) for e in errors)}]" if errors else None


@dataclass
class Request:
    method: str
    stage: str  # the path's first segment
    path: str  # the rest
    query: Mapping[str, list[str]]
    headers: list[tuple[str, str]]  # as received: names in their case, repeated names repeated
    body: bytes
    source_ip: str

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[-1] if values else None


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


Invoke = Callable[[str, Mapping[str, Any]], tuple[Mapping[str, Any] | None, str | None]]


class Gateway:
    """Answers requests as the deployed stage would. `invoke(function_arn, event)` returns the
    function's proxy response, or None and an error; `access_log(line)` receives one line per
    request in the stage's access-log format."""

    def __init__(self, config: GatewayConfig, invoke: Invoke, access_log: Callable[[str], None], domain: str) -> None:
        self.config = config
        self.invoke = invoke
        self.access_log = access_log
        self.domain = domain

    def handle(self, request: Request) -> Response:
        started = time.monotonic()
        now = datetime.now(UTC)
        context = {
            "$context.requestId": str(uuid.uuid4()),
            "$context.extendedRequestId": base64.b64encode(os.urandom(11)).decode().rstrip("=")[:14] + "=",
            "$context.requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "$context.requestTimeEpoch": str(int(now.timestamp() * 1000)),
            "$context.identity.sourceIp": request.source_ip,
            "$context.identity.userAgent": request.header("User-Agent") or "",
            "$context.httpMethod": request.method,
            "$context.resourcePath": request.path,
            "$context.path": f"/{self.config.stage}{request.path}",
            "$context.protocol": "HTTP/1.1",
            "$context.stage": self.config.stage,
            "$context.apiId": self.config.rest_api_id,
            "$context.domainName": self.domain,
            "$context.accountId": ACCOUNT_ID,
        }
        response = self._route(request, context)
        context["$context.status"] = str(response.status)
        context["$context.responseLength"] = str(len(response.body))
        context["$context.responseLatency"] = str(round((time.monotonic() - started) * 1000))
        response.headers["x-amzn-RequestId"] = context["$context.requestId"]
        response.headers["x-amz-apigw-id"] = context["$context.extendedRequestId"]
        if self.config.access_log_format:
            self.access_log(render(self.config.access_log_format, {k: _escape(v) for k, v in context.items()}, missing="-"))
        return response

    def _route(self, request: Request, context: dict[str, str]) -> Response:
        route = self.config.routes.get((request.path, request.method)) if request.stage == self.config.stage else None
        if route is None:
            return self._gateway_response("MISSING_AUTHENTICATION_TOKEN", context)
        context["$context.resourceId"] = route.resource_id
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return self._gateway_response("REQUEST_TOO_LARGE", context)
        if route.api_key_required:
            refusal = self._usage_plan(request, context)
            if refusal:
                return refusal
        if self.config.method_throttle and not self.config.method_throttle.take():
            return self._gateway_response("THROTTLED", context)
        if route.validate_body:
            media_type = (request.header("Content-Type") or "application/json").split(";")[0].strip().lower()
            schema = route.models.get(media_type) or route.models.get("$default")
            problem = validation_errors(schema, request.body) if schema is not None else None
            if problem:
                context["$context.error.validationErrorString"] = problem.replace("\\", "\\\\").replace('"', '\\"')
                return self._gateway_response("BAD_REQUEST_BODY", context)
        return self._integrate(route, request, context)

    def _usage_plan(self, request: Request, context: dict[str, str]) -> Response | None:
        value = request.header("x-api-key")
        plan = next((p for p in self.config.usage_plans if value in p.keys), None) if value else None
        if plan is None:
            return self._gateway_response("INVALID_API_KEY", context)
        key_id = plan.keys[value]
        context.update({"$context.identity.apiKey": value, "$context.identity.apiKeyId": key_id})
        if plan.throttle and not plan.throttle.take():
            return self._gateway_response("THROTTLED", context)
        if not plan.within_quota(key_id, datetime.now(UTC)):
            return self._gateway_response("QUOTA_EXCEEDED", context)
        return None

    def _integrate(self, route: Route, request: Request, context: dict[str, str]) -> Response:
        started = time.monotonic()
        result, error = self.invoke(route.function_arn, self._event(route, request, context))
        context["$context.integration.latency"] = str(round((time.monotonic() - started) * 1000))
        context["$context.integration.status"] = "200"
        response = _proxy_response(result) if error is None else None
        if response is None:
            context["$context.integration.error"] = error or "Malformed Lambda proxy response"
            context["$context.integration.status"] = "200" if error is None else "500"
            return self._gateway_response("DEFAULT_5XX", context)
        return response

    def _event(self, route: Route, request: Request, context: Mapping[str, str]) -> dict[str, Any]:
        """The Lambda proxy integration's event (payload format 1.0)."""
        headers: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        received = [*request.headers, ("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}")]
        for name, value in received:
            headers[name] = value
            multi.setdefault(name, []).append(value)
        query = {name: values[-1] for name, values in request.query.items()} or None
        return {
            "resource": route.path,
            "path": request.path,
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": multi or None,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": {name: list(values) for name, values in request.query.items()} or None,
            "pathParameters": None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": route.resource_id,
                "resourcePath": route.path,
                "httpMethod": request.method,
                "extendedRequestId": context["$context.extendedRequestId"],
                "requestTime": context["$context.requestTime"],
                "path": context["$context.path"],
                "accountId": ACCOUNT_ID,
                "protocol": context["$context.protocol"],
                "stage": self.config.stage,
                "domainPrefix": self.domain.split(".")[0],
                "requestTimeEpoch": int(context["$context.requestTimeEpoch"]),
                "requestId": context["$context.requestId"],
                "identity": {
                    "cognitoIdentityPoolId": None,
                    "accountId": None,
                    "cognitoIdentityId": None,
                    "caller": None,
                    "apiKey": context.get("$context.identity.apiKey"),
                    "apiKeyId": context.get("$context.identity.apiKeyId"),
                    "sourceIp": request.source_ip,
                    "principalOrgId": None,
                    "accessKey": None,
                    "cognitoAuthenticationType": None,
                    "cognitoAuthenticationProvider": None,
                    "userArn": None,
                    "userAgent": request.header("User-Agent"),
                    "user": None,
                },
                "domainName": self.domain,
                "deploymentId": self.config.deployment_id,
                "apiId": self.config.rest_api_id,
            },
            "body": request.body.decode("utf-8", errors="replace") if request.body else None,
            "isBase64Encoded": False,
        }

    def _gateway_response(self, response_type: str, context: dict[str, str]) -> Response:
        status, message, error_type = DEFAULT_RESPONSES[response_type]
        deployed = self.config.responses.get(response_type, {})
        context["$context.error.message"] = message
        context["$context.error.messageString"] = json.dumps(message)
        context["$context.error.responseType"] = response_type
        template = deployed.get("responseTemplates", {}).get("application/json", DEFAULT_TEMPLATE)
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": error_type}
        headers.update({k.removeprefix("gatewayresponse.header."): v.strip("'") for k, v in deployed.get("responseParameters", {}).items()})
        return Response(int(deployed.get("statusCode", status)), headers, render(template, context).encode())


def _escape(value: str) -> str:
    """A value as it may sit inside a JSON string of the access-log format."""
    return json.dumps(value)[1:-1]


def _proxy_response(result: Any) -> Response | None:
    """The HTTP response a Lambda proxy result stands for; None when API Gateway would refuse it."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int) or not 100 <= result["statusCode"] <= 599:
        return None
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        return None
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(name)] = ", ".join(map(str, values))
    data = base64.b64decode(body) if body and result.get("isBase64Encoded") else (body or "").encode()
    headers.setdefault("Content-Type", "application/json")
    return Response(result["statusCode"], headers, data)
