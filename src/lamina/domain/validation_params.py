"""`spec.parameters` declarations and the `${{ … }}` references that use them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.domain import patterns
from lamina.domain.errors import Issue
from lamina.domain.params import NAME_PATTERN, PARAMETER_TYPES, Parameter, check_value
from lamina.domain.paths import child
from lamina.domain.validation_common import (
    check_fields,
    check_string,
    is_list,
    type_name,
    wrong_type,
)
from lamina.domain.values import Reference, find_references

PARAM_FIELDS = ("name", "type", "required", "default", "enum", "pattern", "description")
REFERENCE_FIELDS = ("values", "manifests", "kustomize")

_TEXT_TYPES = ("string", "secret")
_DEFAULT_CODES = {
    "wrong_type": "default_wrong_type",
    "pattern_mismatch": "default_pattern_mismatch",
    "not_in_enum": "default_not_in_enum",
}


def check_parameters(raw: Any, path: str) -> list[Issue]:
    """Every problem of the parameter declarations, including defaults that do not fit them."""
    if raw is None:
        return []
    if not is_list(raw):
        return [wrong_type(path, raw, "a list of parameters")]
    issues: list[Issue] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = child(path, index)
        issues += _check_parameter(item, where)
        name = item.get("name") if isinstance(item, Mapping) else None
        if isinstance(name, str):
            if name in seen:
                message = f"parameter name {name!r} is declared twice"
                issues.append(Issue(child(where, "name"), "duplicate_name", message))
            seen.add(name)
    return issues


def _check_parameter(item: Any, path: str) -> list[Issue]:
    if not isinstance(item, Mapping):
        return [wrong_type(path, item, "a mapping (a parameter)")]
    issues = check_fields(item, path, PARAM_FIELDS, ("name", "type"))
    issues += _check_name(item.get("name"), child(path, "name"))
    kind = item.get("type")
    issues += _check_type(kind, child(path, "type"))
    required = item.get("required")
    if required is not None and not isinstance(required, bool):
        issues.append(wrong_type(child(path, "required"), required, "a boolean"))
    issues += check_string(item, "description", path)
    enum_issues, enum = _check_enum(item.get("enum"), child(path, "enum"), kind)
    pattern_issues, pattern = _check_pattern(item.get("pattern"), child(path, "pattern"), kind)
    issues += enum_issues + pattern_issues
    if item.get("default") is None:  # a null default is no default
        return issues
    return issues + _check_default(item, child(path, "default"), enum, pattern)


def _check_name(name: Any, path: str) -> list[Issue]:
    if name is None:
        return []
    if not isinstance(name, str):
        return [wrong_type(path, name, "a string")]
    if NAME_PATTERN.fullmatch(name):
        return []
    message = f"parameter name {name!r} must be a letter or '_' followed by letters, digits, '_'"
    return [Issue(path, "invalid_name", message)]


def _check_type(kind: Any, path: str) -> list[Issue]:
    if kind is None:
        return []
    if not isinstance(kind, str):
        return [wrong_type(path, kind, "a string")]
    if kind in PARAMETER_TYPES:
        return []
    message = f"unknown parameter type {kind!r}; expected one of {', '.join(PARAMETER_TYPES)}"
    return [Issue(path, "invalid_value", message)]


def _check_enum(raw: Any, path: str, kind: Any) -> tuple[list[Issue], tuple[Any, ...] | None]:
    """Issues of `enum`, and its members when they are usable for checking a default."""
    if kind == "enum" and (raw is None or (is_list(raw) and not raw)):
        return [
            Issue(path, "enum_without_values", "an enum parameter needs a non-empty enum")
        ], None
    if raw is None:
        return [], None
    if not is_list(raw):
        return [wrong_type(path, raw, "a list of values")], None
    issues = [
        wrong_type(child(path, i), member, "a string, number or boolean")
        for i, member in enumerate(raw)
        if type_name(member) not in ("string", "number", "boolean")
    ]
    if kind in PARAMETER_TYPES and kind != "enum":
        message = f"'enum' only applies to enum parameters, not {kind}"
        issues.append(Issue(path, "invalid_value", message))
    return issues, (None if issues else tuple(raw))


def _check_pattern(raw: Any, path: str, kind: Any) -> tuple[list[Issue], str | None]:
    """Issues of `pattern`, and the pattern when it compiles."""
    if raw is None:
        return [], None
    if not isinstance(raw, str):
        return [wrong_type(path, raw, "a string (a regular expression)")], None
    issues: list[Issue] = []
    if kind in PARAMETER_TYPES and kind not in _TEXT_TYPES:
        message = f"'pattern' only applies to string and secret parameters, not {kind}"
        issues.append(Issue(path, "invalid_value", message))
    refused = patterns.problem(raw)
    if refused is not None:
        message = f"pattern {raw!r} is not a usable regular expression: {refused}"
        return [*issues, Issue(path, "invalid_pattern", message)], None
    return issues, raw


def _check_default(
    item: Mapping[str, Any], path: str, enum: tuple[Any, ...] | None, pattern: str | None
) -> list[Issue]:
    """Whether the default has the declared type (without coercion), pattern and enum."""
    kind, default = item.get("type"), item.get("default")
    if kind == "secret":
        message = "a secret parameter cannot have a default; supply the value when rendering"
        return [Issue(path, "secret_with_default", message)]
    if not isinstance(kind, str) or kind not in PARAMETER_TYPES:
        return []  # the type itself is already reported
    if kind == "enum" and enum is None:
        return []  # the enum itself is already reported
    name = item.get("name")
    param = Parameter(
        name=name if isinstance(name, str) else "",
        type=kind,
        default=default,
        has_default=True,
        enum=enum,
        pattern=pattern if kind in _TEXT_TYPES else None,
    )
    _, found = check_value(param, default, path=path, coerce=False)
    return [Issue(i.path, _DEFAULT_CODES.get(i.code, i.code), i.message) for i in found]


def check_references(spec: Mapping[str, Any], path: str) -> list[Issue]:
    """Malformed references and references to undeclared parameters in layer values,
    manifests and kustomize; a warning for each parameter nothing refers to."""
    declared = _declared(spec.get("parameters"))
    used: set[str] = set()
    issues: list[Issue] = []
    for where, ref in _layer_references(spec.get("layers"), child(path, "layers")):
        if ref.scope == "params":
            used.add(ref.name)
        issues += _check_reference(where, ref, declared)
    for name, index in (declared or {}).items():
        if name not in used:
            where = child(child(path, "parameters"), index)
            message = f"parameter {name!r} is declared but no layer refers to it"
            issues.append(Issue(where, "unused_parameter", message))
    return issues


def _declared(raw: Any) -> dict[str, int] | None:
    """Index of each declared parameter name; None when the list itself is unreadable."""
    if raw is None:
        return {}
    if not is_list(raw):
        return None  # every reference would look undeclared; the wrong_type says enough
    names: dict[str, int] = {}
    for index, item in enumerate(raw):
        name = item.get("name") if isinstance(item, Mapping) else None
        # Only well-formed names: a bad one is already an error, not also "unused".
        if isinstance(name, str) and NAME_PATTERN.fullmatch(name) and name not in names:
            names[name] = index
    return names


def _layer_references(layers: Any, path: str) -> list[tuple[str, Reference]]:
    if not is_list(layers):
        return []
    found: list[tuple[str, Reference]] = []
    for index, layer in enumerate(layers):
        if not isinstance(layer, Mapping):
            continue
        for key in REFERENCE_FIELDS:
            if layer.get(key) is not None:
                found += find_references(layer[key], child(child(path, index), key))
    return found


def _check_reference(path: str, ref: Reference, declared: dict[str, int] | None) -> list[Issue]:
    if not ref.valid:
        message = (
            f"malformed reference '${{{{ {ref.expression} }}}}'; "
            "expected ${{ params.NAME }}, ${{ cluster.name }} or ${{ cluster.labels.KEY }}"
        )
        return [Issue(path, "invalid_reference", message)]
    if ref.scope == "params" and declared is not None and ref.name not in declared:
        message = f"reference to parameter {ref.name!r}, which spec.parameters does not declare"
        return [Issue(path, "unknown_parameter", message)]
    return []
