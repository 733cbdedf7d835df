"""Validation of a whole profile document: every problem at once, in document order.

The document may be any JSON-like value; wrong types become issues, never exceptions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lamina.domain import document, refs
from lamina.domain.document import API_VERSION, KIND, METADATA_FIELDS, SPEC_FIELDS
from lamina.domain.errors import Issue
from lamina.domain.models import ProfileType, Visibility
from lamina.domain.paths import child
from lamina.domain.validation_common import (
    check_fields,
    check_label,
    check_string,
    check_string_list,
    is_int,
    key_path,
    wrong_type,
)
from lamina.domain.validation_graph import NestedGraph, check_graph
from lamina.domain.validation_layers import check_layers
from lamina.domain.validation_params import check_parameters, check_references

__all__ = ["WARNING_CODES", "NestedGraph", "Report", "validate_document"]

WARNING_CODES = frozenset({"unused_parameter", "empty_profile"})
TOP_FIELDS = ("apiVersion", "kind", "metadata", "spec")

CHANNEL = re.compile(r"[a-z0-9][a-z0-9.-]{0,31}")
_VISIBILITIES = tuple(v.value for v in Visibility)
_PROFILE_TYPES = tuple(t.value for t in ProfileType)


@dataclass(frozen=True)
class Report:
    """The outcome of validating one document; it is valid when it has no errors."""

    errors: list[Issue]
    warnings: list[Issue]

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [issue.as_dict() for issue in self.errors],
            "warnings": [issue.as_dict() for issue in self.warnings],
        }


def validate_document(doc: Any, *, nested: NestedGraph | None = None) -> Report:
    """Every problem of a profile document at once, each with a path, a stable code and a message.

    `nested` maps each (name, version) reachable through nested `profile:` layers to that
    version's own nested references (None: no such version); without it those checks are skipped.
    """
    document.check_limits(doc)
    issues = _sorted_by_document(doc, _document_issues(doc, nested))
    errors = [issue for issue in issues if issue.code not in WARNING_CODES]
    warnings = [issue for issue in issues if issue.code in WARNING_CODES]
    return Report(errors=errors, warnings=warnings)


def _document_issues(doc: Any, nested: NestedGraph | None) -> list[Issue]:
    if not isinstance(doc, Mapping):
        return [wrong_type("", doc, "a mapping (a StackProfile document)")]
    issues = check_fields(doc, "", TOP_FIELDS, TOP_FIELDS)
    issues += _check_constant(doc.get("apiVersion"), "apiVersion", API_VERSION)
    issues += _check_constant(doc.get("kind"), "kind", KIND)
    metadata = doc.get("metadata")
    issues += _check_metadata(metadata, "metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    own_name = name if isinstance(name, str) else None
    return issues + _check_spec(doc.get("spec"), "spec", own_name, nested)


def _check_constant(value: Any, path: str, expected: str) -> list[Issue]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [wrong_type(path, value, f"the string {expected!r}")]
    if value == expected:
        return []
    return [Issue(path, "invalid_value", f"{path} must be {expected!r}, got {value!r}")]


def _check_metadata(metadata: Any, path: str) -> list[Issue]:
    if metadata is None:
        return []
    if not isinstance(metadata, Mapping):
        return [wrong_type(path, metadata, "a mapping")]
    issues = check_fields(metadata, path, METADATA_FIELDS, ("name",))
    name = metadata.get("name")
    issues += check_label(name, child(path, "name"), "invalid_name", "profile name")
    clash = isinstance(name, str) and refs.name_problem(
        name, "profile", reserved=refs.RESERVED_PROFILE_NAMES
    )
    if clash:
        issues.append(Issue(child(path, "name"), "invalid_name", clash))
    for key in ("description", "category", "changelog"):
        issues += check_string(metadata, key, path)
    issues += check_string_list(metadata.get("tags"), child(path, "tags"))
    issues += _check_choice(metadata.get("visibility"), child(path, "visibility"), _VISIBILITIES)
    issues += _check_version(metadata.get("version"), child(path, "version"))
    return issues + _check_channel(metadata.get("channel"), child(path, "channel"))


def _check_choice(value: Any, path: str, choices: tuple[str, ...]) -> list[Issue]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [wrong_type(path, value, "a string")]
    if value in choices:
        return []
    message = f"{value!r} is not one of {', '.join(choices)}"
    return [Issue(path, "invalid_value", message)]


def _check_version(value: Any, path: str) -> list[Issue]:
    if value is None:
        return []
    if not is_int(value):
        return [wrong_type(path, value, "an integer")]
    if value >= 1:
        return []
    return [Issue(path, "invalid_value", f"version must be 1 or more, got {value}")]


def _check_channel(value: Any, path: str) -> list[Issue]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [wrong_type(path, value, "a string")]
    if CHANNEL.fullmatch(value):
        return []
    message = (
        f"channel {value!r} must be 1-32 lowercase letters, digits, '.' or '-', "
        "starting with a letter or digit"
    )
    return [Issue(path, "invalid_value", message)]


def _check_spec(
    spec: Any, path: str, own_name: str | None, nested: NestedGraph | None
) -> list[Issue]:
    if spec is None:
        return []
    if not isinstance(spec, Mapping):
        return [wrong_type(path, spec, "a mapping")]
    issues = check_fields(spec, path, SPEC_FIELDS, ("type", "layers"))
    issues += _check_choice(spec.get("type"), child(path, "type"), _PROFILE_TYPES)
    issues += check_parameters(spec.get("parameters"), child(path, "parameters"))
    issues += check_layers(spec.get("layers"), child(path, "layers"))
    issues += check_references(spec, path)
    return issues + check_graph(spec, path, own_name, nested)


def _sorted_by_document(doc: Any, issues: list[Issue]) -> list[Issue]:
    """Issues ordered by where they point in the document; ties keep the order found.

    A path that does not exist (a missing field) sorts at its nearest existing ancestor.
    """
    order = _document_order(doc)
    keyed = [(_position(issue.path, order), seq, issue) for seq, issue in enumerate(issues)]
    return [issue for _, _, issue in sorted(keyed, key=lambda item: (item[0], item[1]))]


def _document_order(doc: Any) -> dict[str, int]:
    """Pre-order index of every path in the document (iterative: documents can nest deeply)."""
    order: dict[str, int] = {}
    stack: list[tuple[str, Any]] = [("", doc)]
    while stack:
        path, node = stack.pop()
        order.setdefault(path, len(order))
        if isinstance(node, Mapping):
            stack.extend(reversed([(key_path(path, k), v) for k, v in node.items()]))
        elif isinstance(node, list | tuple):
            stack.extend(reversed([(child(path, i), v) for i, v in enumerate(node)]))
    return order


def _position(path: str, order: Mapping[str, int]) -> int:
    if path in order:
        return order[path]
    for cut in range(len(path) - 1, 0, -1):
        if path[cut] in ".[" and path[:cut] in order:
            return order[path[:cut]]
    return 0
