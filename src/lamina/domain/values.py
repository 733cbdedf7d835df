"""References like `${{ params.replicas }}` in profile values: finding, substituting, merging.

Everything here works on parsed trees (dicts, lists and scalars), never on YAML text, and only
string leaves are examined. A substituted value becomes (part of) one string leaf and is never
scanned again, so a parameter value cannot inject YAML structure or further references.

Choices:
- A malformed reference (`${{ foo.bar }}`, `${{ params.1x }}`, an unclosed `${{`) is reported
  with scope "" and name "" (so `valid` is False) and keeps its stripped text as `expression`.
- Interpolated floats use Python's shortest round-trip form, `repr`: 2.0 -> "2.0", 2.5 -> "2.5",
  1e+20 -> "1e+20", matching what JSON and YAML writers emit.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lamina.domain.errors import InvalidInput, Issue
from lamina.domain.paths import child

# `$${{` is the escape for a literal `${{`; it is tried first so its `${{` is never a reference.
# An unclosed `${{` runs to the end of the string and is reported as malformed.
_TOKEN = re.compile(r"\$\$\{\{|\$\{\{(?P<body>.*?)(?:(?P<close>\}\})|\Z)", re.DOTALL)
_PARAM = re.compile(r"params\.([A-Za-z_][A-Za-z0-9_]*)")
_CLUSTER = re.compile(r"cluster\.(name|labels\.[A-Za-z0-9._/-]+)")
_ESCAPE = "$${{"
_SHOWN_CHARS = 80


@dataclass(frozen=True)
class Reference:
    """One `${{ … }}`: `scope` is "params" or "cluster", both it and `name` are "" if malformed."""

    expression: str
    scope: str
    name: str

    @property
    def valid(self) -> bool:
        return self.scope != ""


@dataclass(frozen=True)
class Context:
    """What references resolve against: bound parameter values and the target cluster."""

    params: Mapping[str, Any]
    cluster_name: str = ""
    cluster_labels: Mapping[str, str] = field(default_factory=dict)


def parse_reference(expression: str) -> Reference:
    """The Reference for the text between `${{` and `}}`; malformed text gives an invalid one."""
    text = expression.strip()
    param = _PARAM.fullmatch(text)
    if param:
        return Reference(text, "params", param.group(1))
    cluster = _CLUSTER.fullmatch(text)
    if cluster:
        return Reference(text, "cluster", cluster.group(1))
    return Reference(text, "", "")


def _pieces(text: str) -> list[str | Reference]:
    """`text` split into literal runs (escapes resolved) and references, in order."""
    pieces: list[str | Reference] = []
    literal = ""
    end = 0
    for match in _TOKEN.finditer(text):
        literal += text[end : match.start()]
        end = match.end()
        if match.group(0) == _ESCAPE:
            literal += "${{"
            continue
        if literal:
            pieces.append(literal)
        literal = ""
        body = match.group("body")
        closed = match.group("close") is not None
        pieces.append(parse_reference(body) if closed else Reference(body.strip(), "", ""))
    literal += text[end:]
    if literal:
        pieces.append(literal)
    return pieces


def find_references(tree: Any, path: str = "") -> list[tuple[str, Reference]]:
    """Every `${{ … }}` in the string leaves of a parsed tree, with the path of its string."""
    found: list[tuple[str, Reference]] = []
    for leaf_path, text in _string_leaves(tree, path):
        if "${{" in text:
            found.extend((leaf_path, p) for p in _pieces(text) if isinstance(p, Reference))
    return found


def _string_leaves(tree: Any, path: str) -> list[tuple[str, str]]:
    leaves: list[tuple[str, str]] = []
    stack: list[tuple[str, Any]] = [(path, tree)]
    while stack:
        here, node = stack.pop()
        if isinstance(node, str):
            leaves.append((here, node))
        elif isinstance(node, dict):
            items = [(_key_path(here, key), value) for key, value in node.items()]
            stack.extend(reversed(items))
        elif isinstance(node, list):
            stack.extend(reversed([(child(here, i), item) for i, item in enumerate(node)]))
    return leaves


def _key_path(base: str, key: Any) -> str:
    # YAML allows non-string keys (`1: x`); quoting them keeps them apart from list indexes.
    return child(base, key if isinstance(key, str) else str(key))


def substitute(tree: Any, context: Context, path: str = "") -> Any:
    """A copy of the tree with references replaced; InvalidInput lists every unresolvable reference.

    A string that is exactly one reference takes the referenced value with its type; references
    inside longer strings are interpolated as text.
    """
    issues: list[Issue] = []
    result = _substitute_node(tree, context, path, issues)
    if issues:
        raise InvalidInput("References cannot be resolved", issues=issues)
    return result


def _substitute_node(node: Any, context: Context, path: str, issues: list[Issue]) -> Any:
    if isinstance(node, str):
        return _substitute_string(node, context, path, issues)
    if isinstance(node, dict):
        return {
            key: _substitute_node(value, context, _key_path(path, key), issues)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [
            _substitute_node(item, context, child(path, i), issues) for i, item in enumerate(node)
        ]
    return node if isinstance(node, _IMMUTABLE) else copy.deepcopy(node)


def _substitute_string(text: str, context: Context, path: str, issues: list[Issue]) -> Any:
    if "${{" not in text:
        return text  # the common case, and strings are immutable so no copy is needed
    pieces = _pieces(text)
    if len(pieces) == 1 and isinstance(pieces[0], Reference):
        return _resolve(pieces[0], context, path, issues)
    parts = [
        piece if isinstance(piece, str) else render(_resolve(piece, context, path, issues))
        for piece in pieces
    ]
    return "".join(parts)


_MISSING = object()
_IMMUTABLE = (str, int, float, bool, type(None))


def _resolve(ref: Reference, context: Context, path: str, issues: list[Issue]) -> Any:
    """The value `ref` stands for (a fresh copy), or None after recording why it has none."""
    value = _lookup(ref, context)
    if value is not _MISSING:
        return value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value)
    shown = "Reference '${{ " + _shown(ref.expression) + " }}'"
    if not ref.valid:
        message = (
            f"{shown} is malformed; use params.NAME, cluster.name or cluster.labels.KEY "
            "(write $${{ for a literal ${{)."
        )
        issues.append(Issue(path, "invalid_reference", message))
    elif ref.scope == "params":
        message = f"{shown} names parameter {ref.name!r}, which is not declared."
        issues.append(Issue(path, "unknown_parameter", message))
    else:
        label = ref.name.removeprefix("labels.")
        message = f"{shown} names cluster label {label!r}, which the cluster does not have."
        issues.append(Issue(path, "unknown_label", message))
    return None


def _lookup(ref: Reference, context: Context) -> Any:
    if ref.scope == "params":
        return context.params.get(ref.name, _MISSING)
    if ref.scope == "cluster" and ref.name == "name":
        return context.cluster_name
    if ref.scope == "cluster":
        return context.cluster_labels.get(ref.name.removeprefix("labels."), _MISSING)
    return _MISSING


def _shown(expression: str) -> str:
    return expression if len(expression) <= _SHOWN_CHARS else expression[:_SHOWN_CHARS] + "…"


def render(value: Any) -> str:
    """`value` as text inside a longer string: booleans as true/false, None as "", floats by
    `repr`, text as is, and lists or mappings as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def coalesce(base: Any, *overlays: Any) -> Any:
    """Helm's value merge: maps merge deeply, lists and scalars replace, a None in an overlay
    deletes the key. The result shares nothing with the inputs; a None overlay is skipped."""
    result = copy.deepcopy(base)
    for overlay in overlays:
        if overlay is not None:
            result = _merge(result, overlay)
    return result


def _merge(base: Any, overlay: Any) -> Any:
    """`overlay` laid over `base`; `base` is already a private copy and may be reused."""
    if not (isinstance(base, dict) and isinstance(overlay, dict)):
        # A mapping coming only from the overlay still loses its None-valued keys.
        return _merge({}, overlay) if isinstance(overlay, dict) else copy.deepcopy(overlay)
    merged = dict(base)
    for key, value in overlay.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(merged.get(key), value)
    return merged
