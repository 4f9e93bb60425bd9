"""An API Gateway (REST, v1) stage on loopback, configured from the deployed API on the emulator.

Everything it enforces is read from the deployment, never from the stack's constants: the
resources and methods, whether a method needs an API key, the usage plans of the stage with
their keys, throttle and quota, the stage's method throttle, the request validator and the
models by content type, the gateway responses, the access-log format and its log group, and the
Lambda function behind each proxy integration (local_cloud/lambda_runtime.py runs it).

AWS's behaviour it follows (docs/emulator.md, "The local API", lists the sources): a route that
does not exist answers 403 "Missing Authentication Token"; then the API key (403 "Forbidden"),
the usage plan's throttle (per key) and quota (429 "Too Many Requests" / "Limit Exceeded"), the
stage's method throttle, then body validation against the model of the request's media type
(none matching: no validation; no Content-Type: application/json; local_cloud/request_validation.py);
a function error, Lambda timeout or malformed proxy response answers 502, the integration's
timeout 504. Not emulated: WAF rules, X-Ray, authorizers, mapping templates, binary media
types, caching.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local_cloud.http_server import Outgoing
from local_cloud.request_validation import check_patterns, validation_errors

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
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out", "InternalServerErrorException"),
}
# A deployed DEFAULT_4XX or DEFAULT_5XX applies to the types of its class not set on their own.
DEFAULT_OF_CLASS = {4: "DEFAULT_4XX", 5: "DEFAULT_5XX"}
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
    """A usage plan of the stage: its throttle and quota apply to each of its keys on its own."""

    id: str
    keys: dict[str, str]  # key value -> key id (enabled keys only)
    quota_limit: int | None
    quota_period: str | None
    throttle: tuple[float, int] | None  # (rate, burst) for each key
    method_throttles: Mapping[tuple[str, str], tuple[float, int]] = field(default_factory=dict)  # (path, method) -> limits
    buckets: dict[tuple[str, tuple[str, str] | None], TokenBucket] = field(default_factory=dict)
    used: dict[tuple[str, str], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def admits(self, key_id: str, route: tuple[str, str]) -> bool:
        """Takes a token from the key's bucket (the method's own limits first); False when empty."""
        limits, scope = (self.method_throttles[route], route) if route in self.method_throttles else (self.throttle, None)
        if limits is None:
            return True
        with self.lock:
            bucket = self.buckets.setdefault((key_id, scope), TokenBucket(*limits))
        return bucket.take()

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
    timeout_ms: int  # the integration's timeout
    throttle: TokenBucket | None  # the stage's method settings for this method (or */*)


def _all(apigateway, operation: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paginated GET (25 a page by default on AWS)."""
    return [item for page in apigateway.get_paginator(operation).paginate(**params) for item in page.get("items", [])]


def _limits(settings: Mapping[str, Any] | None) -> tuple[float, int] | None:
    """(rate, burst) of a usage plan's throttle or of a stage's method settings, if set."""
    settings = {k.removeprefix("throttling").lower(): v for k, v in (settings or {}).items()}
    return (settings["ratelimit"], settings["burstlimit"]) if "ratelimit" in settings else None


def _route_key(method_path: str) -> tuple[str, str]:
    """A usage plan's or a stage's "process/POST" (the resource path without its first slash)."""
    path, _, method = method_path.rpartition("/")
    return "/" + path.lstrip("/"), method


@dataclass(frozen=True)
class GatewayConfig:
    rest_api_id: str
    stage: str
    deployment_id: str
    account: str
    routes: Mapping[tuple[str, str], Route]
    responses: Mapping[str, Mapping[str, Any]]  # deployed gateway responses by type
    access_log_format: str | None
    access_log_group: str | None
    usage_plans: list[UsagePlan]
    stage_variables: Mapping[str, str] = field(default_factory=dict)

    def without_usage_limits(self) -> GatewayConfig:
        """The same stage with no throttle and no quota (a benchmark of the local API itself)."""
        routes = {key: dataclasses.replace(route, throttle=None) for key, route in self.routes.items()}
        return dataclasses.replace(self, routes=routes, usage_plans=[_unlimited(p) for p in self.usage_plans])

    @classmethod
    def read(cls, apigateway, rest_api_id: str, stage_name: str, account: str) -> GatewayConfig:
        """The deployed configuration of one stage (an apigateway client on the emulator)."""
        stage = apigateway.get_stage(restApiId=rest_api_id, stageName=stage_name)
        validators = {v["id"]: v for v in _all(apigateway, "get_request_validators", restApiId=rest_api_id)}
        schemas = {m["name"]: json.loads(m["schema"]) for m in _all(apigateway, "get_models", restApiId=rest_api_id) if m.get("schema")}
        for model, schema in schemas.items():
            check_patterns(schema, model)
        settings = stage.get("methodSettings", {})
        routes = {}
        for resource in _all(apigateway, "get_resources", restApiId=rest_api_id):
            for method in resource.get("resourceMethods", {}):
                spec = apigateway.get_method(restApiId=rest_api_id, resourceId=resource["id"], httpMethod=method)
                validator = validators.get(spec.get("requestValidatorId", ""), {})
                integration = spec.get("methodIntegration", {})
                arn = re.search(r"functions/(arn:[^/]+)/invocations", integration.get("uri", ""))
                proxy = integration.get("type") == "AWS_PROXY"
                throttle = _limits(settings.get(f"{resource['path'].lstrip('/')}/{method}") or settings.get("*/*"))
                routes[(resource["path"], method)] = Route(
                    resource_id=resource["id"],
                    path=resource["path"],
                    method=method,
                    api_key_required=spec.get("apiKeyRequired", False),
                    validate_body=validator.get("validateRequestBody", False),
                    models={ct.lower(): schemas[name] for ct, name in spec.get("requestModels", {}).items() if name in schemas},
                    function_arn=arn.group(1) if arn and proxy else None,
                    timeout_ms=integration.get("timeoutInMillis", 29000),
                    throttle=TokenBucket(*throttle) if throttle else None,
                )
        access = stage.get("accessLogSettings", {})
        keys = {k["id"]: k for k in _all(apigateway, "get_api_keys", includeValues=True)}
        plans = []
        for plan in _all(apigateway, "get_usage_plans"):
            (ours,) = [s for s in plan.get("apiStages", []) if s["apiId"] == rest_api_id and s["stage"] == stage_name] or [None]
            if ours is None:
                continue
            plan_keys = _all(apigateway, "get_usage_plan_keys", usagePlanId=plan["id"])
            plans.append(
                UsagePlan(
                    id=plan["id"],
                    keys={keys[k["id"]]["value"]: k["id"] for k in plan_keys if keys.get(k["id"], {}).get("enabled")},
                    quota_limit=plan.get("quota", {}).get("limit"),
                    quota_period=plan.get("quota", {}).get("period"),
                    throttle=_limits(plan.get("throttle")),
                    method_throttles={_route_key(k): _limits(v) for k, v in (ours.get("throttle") or {}).items() if _limits(v)},
                )
            )
        return cls(
            rest_api_id=rest_api_id,
            stage=stage_name,
            deployment_id=stage["deploymentId"],
            account=account,
            routes=routes,
            responses={r["responseType"]: r for r in _all(apigateway, "get_gateway_responses", restApiId=rest_api_id)},
            access_log_format=access.get("format"),
            access_log_group=access["destinationArn"].split(":log-group:")[1] if access.get("destinationArn") else None,
            usage_plans=plans,
            stage_variables=stage.get("variables") or {},
        )


def _unlimited(plan: UsagePlan) -> UsagePlan:
    return dataclasses.replace(plan, throttle=None, method_throttles={}, quota_limit=None, buckets={}, used={}, lock=threading.Lock())


def render(template: str, variables: Mapping[str, str], missing: str = "") -> str:
    """`$context.x.y` variables replaced by their values; one without a value by `missing`."""
    return re.sub(r"\$context(?:\.[A-Za-z0-9_]+)+", lambda match: variables.get(match.group(0), missing), template)


@dataclass
class Request:
    method: str
    stage: str  # the path's first segment
    path: str  # the rest
    query: Mapping[str, list[str]]
    headers: list[tuple[str, str]]  # as received: names in their case, repeated names repeated
    body: bytes | None  # None: larger than the server takes
    source_ip: str
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[-1] if values else None


# (function ARN, event, timeout in ms) -> (proxy response, None) or (None, "ErrorType: message");
# the error "Timeout" when the integration's timeout passed first.
Invoke = Callable[[str, Mapping[str, Any], int], tuple[Mapping[str, Any] | None, str | None]]
INTEGRATION_TIMED_OUT = "Timeout"


class Gateway:
    """Answers requests as the deployed stage would: `invoke` runs a function (see Invoke);
    `access_log(line)` receives one line per request in the stage's access-log format."""

    def __init__(self, config: GatewayConfig, invoke: Invoke, access_log: Callable[[str], None], domain: str) -> None:
        self.config = config
        self.invoke = invoke
        self.access_log = access_log
        self.domain = domain

    def handle(self, request: Request) -> Outgoing:
        started = time.monotonic()
        now = datetime.now(UTC)
        context = {
            "$context.requestId": str(uuid.uuid4()),
            "$context.extendedRequestId": base64.b64encode(os.urandom(11)).decode().rstrip("=")[:14] + "=",
            "$context.requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "$context.requestTimeEpoch": str(int(now.timestamp() * 1000)),
            "$context.identity.sourceIp": request.source_ip,
            **({"$context.identity.userAgent": request.header("User-Agent")} if request.header("User-Agent") else {}),
            "$context.httpMethod": request.method,
            "$context.resourcePath": request.path,
            "$context.path": f"/{self.config.stage}{request.path}",
            "$context.protocol": request.protocol,
            "$context.stage": self.config.stage,
            "$context.apiId": self.config.rest_api_id,
            "$context.domainName": self.domain,
            "$context.accountId": self.config.account,
        }
        try:
            response = self._route(request, context)
        except Exception:  # a bug of ours: logged, answered as API Gateway answers its own failures
            traceback.print_exc(file=sys.stderr)
            response = self._gateway_response("DEFAULT_5XX", context, status=500)
        context["$context.status"] = str(response.status)
        context["$context.responseLength"] = str(len(response.body))
        context["$context.responseLatency"] = str(round((time.monotonic() - started) * 1000))
        response.headers["x-amzn-RequestId"] = context["$context.requestId"]
        response.headers["x-amz-apigw-id"] = context["$context.extendedRequestId"]
        if self.config.access_log_format:
            self.access_log(render(self.config.access_log_format, {k: _escape(v) for k, v in context.items()}, missing="-"))
        return response

    def _route(self, request: Request, context: dict[str, str]) -> Outgoing:
        route = self.config.routes.get((request.path, request.method)) if request.stage == self.config.stage else None
        if route is None:
            return self._gateway_response("MISSING_AUTHENTICATION_TOKEN", context)
        context["$context.resourceId"] = route.resource_id
        if request.body is None or len(request.body) > MAX_PAYLOAD_BYTES:
            return self._gateway_response("REQUEST_TOO_LARGE", context)
        if route.api_key_required:
            refusal = self._usage_plan(route, request, context)
            if refusal:
                return refusal
        if route.throttle and not route.throttle.take():
            return self._gateway_response("THROTTLED", context)
        if route.validate_body:
            media_type = (request.header("Content-Type") or "application/json").split(";")[0].strip().lower()
            schema = route.models.get(media_type) or route.models.get("$default")
            problem = validation_errors(schema, request.body) if schema is not None else None
            if problem:
                context["$context.error.validationErrorString"] = problem.replace("\\", "\\\\").replace('"', '\\"')
                return self._gateway_response("BAD_REQUEST_BODY", context)
        return self._integrate(route, request, context)

    def _usage_plan(self, route: Route, request: Request, context: dict[str, str]) -> Outgoing | None:
        value = request.header("x-api-key")
        plan = next((p for p in self.config.usage_plans if value in p.keys), None) if value else None
        if plan is None:
            return self._gateway_response("INVALID_API_KEY", context)
        key_id = plan.keys[value]
        context.update({"$context.identity.apiKey": value, "$context.identity.apiKeyId": key_id})
        if not plan.admits(key_id, (route.path, route.method)):
            return self._gateway_response("THROTTLED", context)
        if not plan.within_quota(key_id, datetime.now(UTC)):
            return self._gateway_response("QUOTA_EXCEEDED", context)
        return None

    def _integrate(self, route: Route, request: Request, context: dict[str, str]) -> Outgoing:
        started = time.monotonic()
        result, error = self.invoke(route.function_arn, self._event(route, request, context), route.timeout_ms)
        context["$context.integration.latency"] = str(round((time.monotonic() - started) * 1000))
        if error == INTEGRATION_TIMED_OUT:
            return self._gateway_response("INTEGRATION_TIMEOUT", context)
        # Lambda's Invoke answered (a function error is a 200 with X-Amz-Function-Error).
        context["$context.integration.status"] = "200"
        response = _proxy_response(result) if error is None else None
        if response is None:
            context["$context.integration.error"] = error or "Malformed Lambda proxy response"
            return self._gateway_response("DEFAULT_5XX", context)
        return response

    def _event(self, route: Route, request: Request, context: Mapping[str, str]) -> dict[str, Any]:
        """The Lambda proxy integration's event (payload format 1.0)."""
        headers: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        # What a regional endpoint sets itself: its own Host, the X-Forwarded-* of its TLS front.
        added = {
            "Host": self.domain,
            "X-Amzn-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
            "X-Forwarded-For": request.source_ip,
            "X-Forwarded-Port": "443",
            "X-Forwarded-Proto": "https",
        }
        replaced = {name.lower() for name in added}
        received = [(name, value) for name, value in request.headers if name.lower() not in replaced] + list(added.items())
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
            "stageVariables": dict(self.config.stage_variables) or None,
            "requestContext": {
                "resourceId": route.resource_id,
                "resourcePath": route.path,
                "httpMethod": request.method,
                "extendedRequestId": context["$context.extendedRequestId"],
                "requestTime": context["$context.requestTime"],
                "path": context["$context.path"],
                "accountId": self.config.account,
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

    def _gateway_response(self, response_type: str, context: dict[str, str], status: int | None = None) -> Outgoing:
        default_status, message, error_type = DEFAULT_RESPONSES[response_type]
        status = status or default_status
        deployed = self.config.responses.get(response_type) or self.config.responses.get(DEFAULT_OF_CLASS[status // 100], {})
        context["$context.error.message"] = message
        context["$context.error.messageString"] = json.dumps(message)
        context["$context.error.responseType"] = response_type
        template = deployed.get("responseTemplates", {}).get("application/json", DEFAULT_TEMPLATE)
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": error_type}
        headers.update({k.removeprefix("gatewayresponse.header."): v.strip("'") for k, v in deployed.get("responseParameters", {}).items()})
        return Outgoing(int(deployed.get("statusCode", status)), headers, render(template, context).encode())


def _escape(value: str) -> str:
    """A value as it may sit inside a JSON string of the access-log format."""
    return json.dumps(value)[1:-1]


def _proxy_response(result: Any) -> Outgoing | None:
    """The HTTP response a Lambda proxy result stands for; None when API Gateway would refuse it."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int) or not 100 <= result["statusCode"] <= 599:
        return None
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        return None
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(name)] = ", ".join(map(str, values))
    try:
        data = base64.b64decode(body, validate=True) if body and result.get("isBase64Encoded") else (body or "").encode()
    except binascii.Error:
        return None
    headers.setdefault("Content-Type", "application/json")
    return Outgoing(result["statusCode"], headers, data)
