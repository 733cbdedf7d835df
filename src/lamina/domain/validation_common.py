"""Shared pieces of the document validator: JSON type names, field checks and name rules.

Throughout the validator a field whose value is null counts as absent, the way YAML authors
write `key:` with nothing after it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from lamina.domain.errors import Issue
from lamina.domain.paths import child

DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
DNS_RULE = (
    "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63"
)

QUOTE_HINT = "; quote it in YAML so it stays a string"


def type_name(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def is_int(value: Any) -> bool:
    """True for integers; booleans are not numbers in a document."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_list(value: Any) -> bool:
    """True for a JSON array (a list, or a tuple from programmatic callers)."""
    return isinstance(value, list | tuple)


def key_path(base: str, key: Any) -> str:
    """Path of a mapping key of any type (YAML allows numbers and booleans as keys)."""
    return child(base, key if isinstance(key, str) else str(key))


def wrong_type(path: str, value: Any, expected: str, hint: str = "") -> Issue:
    """A wrong_type issue saying what was `expected` and which JSON type arrived."""
    return Issue(path, "wrong_type", f"expected {expected}, got {type_name(value)}{hint}")


def check_fields(
    obj: Mapping[Any, Any], path: str, allowed: Sequence[str], required: Sequence[str]
) -> list[Issue]:
    """unknown_field for keys outside `allowed`, missing_field for absent or null `required`."""
    issues = [
        Issue(
            key_path(path, key),
            "unknown_field",
            f"unknown field {key!r}; expected one of " + ", ".join(allowed),
        )
        for key in obj
        if key not in allowed
    ]
    for key in required:
        if obj.get(key) is None:
            issues.append(Issue(child(path, key), "missing_field", f"{key!r} is required"))
    return issues


def check_string(obj: Mapping[Any, Any], key: str, path: str, hint: str = "") -> list[Issue]:
    """wrong_type unless `obj[key]` is a string or absent."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return []
    return [wrong_type(child(path, key), value, "a string", hint)]


def check_nonempty(obj: Mapping[Any, Any], key: str, path: str) -> list[Issue]:
    """Like check_string, and an empty string is an invalid_value."""
    value = obj.get(key)
    if value == "":
        return [Issue(child(path, key), "invalid_value", f"{key!r} must not be empty")]
    return check_string(obj, key, path, QUOTE_HINT if type_name(value) == "number" else "")


def check_label(value: Any, path: str, code: str, what: str) -> list[Issue]:
    """`code` unless `value` (absent, a string, or wrong_type) is a DNS-1123 label."""
    if value is None:
        return []
    if not isinstance(value, str):
        return [wrong_type(path, value, "a string")]
    if DNS_LABEL.fullmatch(value):
        return []
    return [Issue(path, code, f"{what} {value!r} is not a DNS-1123 label ({DNS_RULE} characters)")]


def check_string_list(value: Any, path: str) -> list[Issue]:
    """wrong_type unless `value` is absent or a list of strings (one issue per bad item)."""
    if value is None:
        return []
    if not is_list(value):
        return [wrong_type(path, value, "a list of strings")]
    return [
        wrong_type(child(path, i), item, "a string")
        for i, item in enumerate(value)
        if not isinstance(item, str)
    ]
