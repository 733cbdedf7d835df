"""Typed profile parameters: reading their declarations, checking values and binding them.

A parameter declares a type; values supplied from a CLI or an HTTP form arrive as text and
are converted ("coerced") to that type, while defaults written in the document must already
have it. Secret values are never echoed in messages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lamina.domain import patterns
from lamina.domain.errors import InvalidInput, Issue
from lamina.domain.paths import child

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PARAMETER_TYPES = ("string", "number", "boolean", "enum", "secret")

# Patterns are user-supplied regexes; bounding the subject keeps a pathological pattern from
# spending unbounded time on an enormous value.
MAX_PATTERN_SUBJECT = 64 * 1024
REDACTED = "<redacted>"

_INT_TEXT = re.compile(r"^[+-]?[0-9]+$")
_FLOAT_TEXT = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_TEXT_TYPES = ("string", "secret")
_SHOWN_CHARS = 60


@dataclass(frozen=True)
class Parameter:
    """One declared parameter of a profile (an entry of `spec.parameters`)."""

    name: str
    type: str
    required: bool = False
    default: Any = None
    has_default: bool = False
    enum: tuple[Any, ...] | None = None
    pattern: str | None = None
    description: str = ""


def parse_parameters(raw: Sequence[Mapping[str, Any]]) -> list[Parameter]:
    """Build Parameters from document entries (`spec.parameters`) that already passed structural
    validation; ignores unknown keys. A `default: null` counts as no default."""
    return [_parse_parameter(entry) for entry in raw]


def _parse_parameter(entry: Mapping[str, Any]) -> Parameter:
    enum = entry.get("enum")
    pattern = entry.get("pattern")
    # A null default cannot be told apart from "not supplied" when binding, so it is no default.
    default = entry.get("default")
    return Parameter(
        name=str(entry["name"]),
        type=str(entry["type"]),
        required=bool(entry.get("required", False)),
        default=default,
        has_default=default is not None,
        enum=tuple(enum) if isinstance(enum, list | tuple) else None,
        pattern=pattern if isinstance(pattern, str) else None,
        description=str(entry.get("description") or ""),
    )


def check_value(
    param: Parameter, value: Any, *, path: str, coerce: bool
) -> tuple[Any, list[Issue]]:
    """Check (and with coerce=True convert) one value for `param`; returns (typed value, issues).

    `path` is the path of the value itself; every issue carries it. The value is returned
    unchanged when it has issues.
    """
    if param.type in _TEXT_TYPES:
        return _check_text(param, value, path)
    if param.type == "number":
        return _check_number(param, value, path, coerce)
    if param.type == "boolean":
        return _check_boolean(param, value, path, coerce)
    if param.type == "enum":
        return _check_enum(param, value, path, coerce)
    message = f"Parameter {param.name!r} has unknown type {param.type!r}."
    return value, [Issue(path, "wrong_type", message)]


def bind(
    parameters: Sequence[Parameter], supplied: Mapping[str, Any], *, path: str = "parameters"
) -> dict[str, Any]:
    """Typed values for every declared parameter, or InvalidInput listing every problem at once.

    Supplied values are coerced from text; a supplied None counts as not supplied.
    """
    declared = {param.name for param in parameters}
    issues = [
        Issue(child(path, name), "unknown_parameter", f"Parameter {name!r} is not declared.")
        for name in supplied
        if name not in declared
    ]
    values: dict[str, Any] = {}
    for param in parameters:
        value, found = _bind_one(param, supplied.get(param.name), child(path, param.name))
        values[param.name] = value
        issues.extend(found)
    if issues:
        issues.sort(key=lambda issue: (issue.path, issue.code))
        raise InvalidInput("Parameters are invalid", issues=issues)
    return values


def _bind_one(param: Parameter, value: Any, path: str) -> tuple[Any, list[Issue]]:
    if value is not None:
        return check_value(param, value, path=path, coerce=True)
    if param.has_default:
        return param.default, []
    if param.required:
        message = f"Parameter {param.name!r} is required and has no default; supply a value."
        return None, [Issue(path, "missing_required", message)]
    return None, []


def redact(parameters: Sequence[Parameter], values: Mapping[str, Any]) -> dict[str, Any]:
    """Copy of values with every secret parameter's value replaced by "<redacted>"."""
    secrets = {param.name for param in parameters if param.type == "secret"}
    return {name: (REDACTED if name in secrets else value) for name, value in values.items()}


def _check_text(param: Parameter, value: Any, path: str) -> tuple[Any, list[Issue]]:
    if not isinstance(value, str):
        return value, [_wrong_type(param, "text", value, path)]
    if param.pattern is None:
        return value, []
    if len(value) > MAX_PATTERN_SUBJECT:
        message = (
            f"Parameter {param.name!r} is {len(value)} characters long; values checked against "
            f"a pattern may be at most {MAX_PATTERN_SUBJECT} characters."
        )
        return value, [Issue(path, "value_too_long", message)]
    # An unusable pattern is the document's problem, reported by validation; values pass.
    if patterns.search(param.pattern, value) is not False:
        return value, []
    message = f"Parameter {param.name!r} does not match the pattern {param.pattern!r}."
    return value, [Issue(path, "pattern_mismatch", message)]


def _check_number(param: Parameter, value: Any, path: str, coerce: bool) -> tuple[Any, list[Issue]]:
    if coerce and isinstance(value, str):
        number = _parse_number(value)
        if number is not None:
            return number, []
    elif _is_number(value):
        return value, []
    return value, [_wrong_type(param, "a number", value, path)]


def _is_number(value: Any) -> bool:
    # bool is a subclass of int, but `true` is not a number to a profile author.
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def _parse_number(text: str) -> int | float | None:
    """The int or finite float written in `text`, or None. Only plain ASCII decimal notation."""
    try:
        if _INT_TEXT.match(text):
            return int(text)
        if _FLOAT_TEXT.match(text):
            number = float(text)
            return number if math.isfinite(number) else None
    except ValueError:  # ints beyond Python's digit limit
        return None
    return None


def _check_boolean(
    param: Parameter, value: Any, path: str, coerce: bool
) -> tuple[Any, list[Issue]]:
    if isinstance(value, bool):
        return value, []
    if coerce and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true", []
    return value, [_wrong_type(param, 'a boolean ("true" or "false")', value, path)]


def _check_enum(param: Parameter, value: Any, path: str, coerce: bool) -> tuple[Any, list[Issue]]:
    members = param.enum or ()
    for member in members:
        if _same(member, value):
            return member, []
    if coerce and isinstance(value, str):
        for member in members:
            if _enum_text(member) == value:
                return member, []
    choices = ", ".join(_enum_text(member) for member in members) or "(none declared)"
    message = f"Parameter {param.name!r} must be one of: {choices}; got {_describe(param, value)}."
    return value, [Issue(path, "not_in_enum", message)]


def _same(a: Any, b: Any) -> bool:
    # Python says True == 1; an enum of numbers must not accept a boolean, nor the reverse.
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def _enum_text(member: Any) -> str:
    if isinstance(member, bool):
        return "true" if member else "false"
    return str(member)


def _wrong_type(param: Parameter, expected: str, value: Any, path: str) -> Issue:
    message = (
        f"Parameter {param.name!r} ({param.type}) expects {expected}; "
        f"got {_describe(param, value)}."
    )
    return Issue(path, "wrong_type", message)


def _describe(param: Parameter, value: Any) -> str:
    """What was supplied, in words; a secret's value is never shown, other text is shortened."""
    if param.type == "secret":
        return f"{_kind(value)} (not shown: the parameter is secret)"
    if isinstance(value, str):
        shown = value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "…"
        return f"the text {shown!r}"
    if isinstance(value, bool):
        return f"the boolean {_enum_text(value)}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return _kind(value)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a value of type {type(value).__name__}"
