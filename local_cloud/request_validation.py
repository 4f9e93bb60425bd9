"""Request body validation as API Gateway's validator does it: JSON schema draft 4, patterns as
ECMA 262 regular expressions, and java-json-tools json-schema-validator's wording for
$context.error.validationErrorString (docs/emulator.md, "The local API", has the sources)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jsonschema

UNPARSABLE = "[Unknown error parsing request body]"


def ecma_to_python(pattern: str) -> str:
    """An ECMA 262 pattern (no flags) in Python's syntax: `$` matches only at the very end, where
    Python's also matches before a final newline; `.` matches no line terminator, where Python's
    matches \\r and U+2028/9; used with re.ASCII, as ECMA's \\d, \\w and \\b are.

    Not translated (a model using them answers 500 or may judge differently here; the stack's
    model uses none): \\s's Unicode spaces, \\A and \\Z (letters in ECMA), `[^]` and `[]`, \\cX,
    named groups, and patternProperties."""
    out, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif char == "[" and not in_class:
            in_class = True
            out.append(char)
        elif char == "]" and in_class:
            in_class = False
            out.append(char)
        elif char == "$" and not in_class:
            out.append(r"\Z")
        elif char == "." and not in_class:
            out.append("[^\n\r\u2028\u2029]")
        else:
            out.append(char)
    return "".join(out)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(ecma_to_python(pattern), re.ASCII)


def _ecma_pattern(validator, pattern: str, instance: Any, schema: Mapping[str, Any]):
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


Draft4Ecma = jsonschema.validators.extend(jsonschema.Draft4Validator, {"pattern": _ecma_pattern})


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
