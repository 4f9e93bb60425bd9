"""Request body validation as API Gateway's validator does it: JSON schema draft 4, patterns as
ECMA 262 regular expressions, and java-json-tools json-schema-validator's wording for
$context.error.validationErrorString (docs/emulator.md, "The local API", has the sources)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jsonschema
import regress

UNPARSABLE = "[Unknown error parsing request body]"


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> regress.Regex:
    """An ECMA 262 pattern, compiled by an ECMA 262 engine (regress): `$`, `.`, `\\s`, `\\d`,
    `[^]` and the rest mean what they mean to API Gateway. An invalid pattern raises, as API
    Gateway refuses such a model."""
    return regress.Regex(pattern)


def check_patterns(schema: Any, model: str) -> None:
    """Compile every pattern of a model (`pattern` and `patternProperties` keys) when it is loaded:
    API Gateway refuses a model whose pattern is no ECMA 262 expression, so the local API stops
    with the model's name instead of answering 500 to the first request that reaches it."""
    if isinstance(schema, list):
        for item in schema:
            check_patterns(item, model)
    elif isinstance(schema, dict):
        patterns = [schema["pattern"]] if isinstance(schema.get("pattern"), str) else []
        patterns += list(schema.get("patternProperties") or {}) if isinstance(schema.get("patternProperties"), dict) else []
        for pattern in patterns:
            try:
                _compiled(pattern)
            except regress.RegressError as error:
                raise ValueError(f"model {model}: pattern {pattern!r} is no ECMA 262 regular expression ({error})") from None
        for value in schema.values():
            check_patterns(value, model)


def _ecma_pattern(validator, pattern: str, instance: Any, schema: Mapping[str, Any]):
    if validator.is_type(instance, "string") and _compiled(pattern).find(instance) is None:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _ecma_pattern_properties(validator, patterns: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]):
    """patternProperties with property names judged by ECMA 262, as `pattern` is."""
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for name, value in instance.items():
            if _compiled(pattern).find(name) is not None:
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


Draft4Ecma = jsonschema.validators.extend(
    jsonschema.Draft4Validator, {"pattern": _ecma_pattern, "patternProperties": _ecma_pattern_properties}
)


def _fge_type(value: Any) -> str:
    """json-schema-validator's name for a JSON value's type (integers are "integer")."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string", dict: "object", list: "array", type(None): "null"}[type(value)]


def _message(error: jsonschema.ValidationError) -> str:
    """An error as json-schema-validator words it."""
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
        errors = sorted(Draft4Ecma(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
    except (ValueError, RecursionError):  # not JSON, or nested past what a parser takes
        return UNPARSABLE
    return f"[{', '.join(_message(e) for e in errors)}]" if errors else None
