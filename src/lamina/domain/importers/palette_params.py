"""Palette profile variables as typed Lamina parameters."""

from __future__ import annotations

import re
from typing import Any

from lamina.domain import paths
from lamina.domain.importers.macros import param_name
from lamina.domain.importers.report import Report, mapping, text_of

_NUMBER = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_UNMAPPED_FLAGS = ("hidden", "immutable")


def parameters(source: dict[str, Any], referenced: set[str], report: Report) -> list[Any]:
    """The parameters of `spec.variables` (or `spec.template.variables`), then an optional
    string parameter for each variable the values reference but no list declares."""
    declared: list[Any] = []
    names: set[str] = set()
    for base, variables in _variable_lists(source):
        for index, raw in enumerate(variables):
            path = paths.child(base, index)
            if isinstance(raw, dict) and param_name(text_of(raw.get("name"))) in names:
                report.unmapped(path, "duplicate_variable", "Declared twice: left out")
                continue
            parameter = _parameter(raw, path, report)
            if parameter is None:
                continue
            names.add(parameter["name"])
            declared.append(parameter)
    for variable in sorted(referenced):
        if param_name(variable) not in names:
            names.add(param_name(variable))
            declared.append({"name": param_name(variable), "type": "string"})
            report.approximated(
                "spec.variables",
                "variable_undeclared",
                f"'{variable}' is referenced but not declared: an optional string parameter",
            )
    return declared


def _variable_lists(source: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    spec = mapping(source.get("spec"))
    found = []
    if isinstance(spec.get("variables"), list):
        found.append(("spec.variables", spec["variables"]))
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("variables"), list):
        found.append(("spec.template.variables", template["variables"]))
    return found


def _parameter(raw: Any, path: str, report: Report) -> dict[str, Any] | None:
    """One variable as a parameter: its format gives the type (`isSensitive` makes a secret,
    `options` an enum), `regex` the pattern, `defaultValue` the default."""
    if not isinstance(raw, dict) or not text_of(raw.get("name")):
        report.unmapped(path, "missing_field", "A variable without a name: left out")
        return None
    written = text_of(raw["name"])
    name = param_name(written)
    if name != written:
        report.approximated(
            paths.child(path, "name"), "name_changed", f"The parameter is named '{name}'"
        )
    kind = _type(raw, path, report)
    parameter: dict[str, Any] = {"name": name, "type": kind}
    if raw.get("required") is True:
        parameter["required"] = True
    if kind == "enum":
        parameter["enum"] = [_option(o) for o in raw["options"]]
    if text_of(raw.get("regex")) and kind in ("string", "secret"):
        parameter["pattern"] = text_of(raw["regex"])
    default = _default(raw, kind, path, report)
    if default is not None:
        parameter["default"] = default
    description = _description(raw, path, report)
    if description:
        parameter["description"] = description
    for flag in _UNMAPPED_FLAGS:
        if raw.get(flag) is True:
            report.unmapped(
                paths.child(path, flag), "variable_flag", f"Lamina parameters have no '{flag}'"
            )
    report.mapped(path, "variable", f"The {kind} parameter '{name}'")
    return parameter


def _type(raw: dict[str, Any], path: str, report: Report) -> str:
    fmt = text_of(raw.get("format")) or text_of(raw.get("type")) or "string"
    if raw.get("isSensitive") is True:
        return "secret"
    options = raw.get("options")
    if isinstance(options, list) and options and all(_option(o) for o in options):
        return "enum"
    if fmt in ("string", "number", "boolean"):
        return fmt
    report.approximated(
        paths.child(path, "format"),
        "variable_format",
        f"Lamina has no '{fmt}' type: a string parameter (add a pattern to check it)",
    )
    return "string"


def _option(option: Any) -> str:
    return text_of(option.get("value")) if isinstance(option, dict) else text_of(option)


def _default(raw: dict[str, Any], kind: str, path: str, report: Report) -> Any:
    value = raw.get("defaultValue")
    if value is None or value == "":
        return None
    where = paths.child(path, "defaultValue")
    if kind == "secret":
        report.approximated(
            where, "secret_default_dropped", "A secret parameter has no default: dropped"
        )
        return None
    text = text_of(value)
    if kind == "number" and _NUMBER.match(text):
        number = float(text)
        return int(number) if number.is_integer() and "." not in text else number
    if kind == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if kind in ("number", "boolean"):
        report.unmapped(where, "default_wrong_type", f"'{text}' is not a {kind}: dropped")
        return None
    return text


def _description(raw: dict[str, Any], path: str, report: Report) -> str:
    description, display = text_of(raw.get("description")), text_of(raw.get("displayName"))
    if display and display != text_of(raw.get("name")):
        report.approximated(
            paths.child(path, "displayName"),
            "display_name",
            "Lamina parameters have no display name: it leads the description",
        )
        return f"{display}: {description}" if description else display
    return description
