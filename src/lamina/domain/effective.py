"""Effective values of a chart layer and which level set each key.

Levels, lowest first: the chart's defaults, the layer's values in the profile, the
per-cluster overrides. References are substituted in the two upper levels before merging,
so chart defaults are never scanned for `${{ … }}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lamina.domain import paths, values


@dataclass(frozen=True)
class Origin:
    path: str
    level: str
    value: Any


def effective_values(
    defaults: dict[str, Any],
    layer_values: dict[str, Any],
    overrides: dict[str, Any],
    context: values.Context,
    *,
    path: str = "",
) -> dict[str, Any]:
    """Chart defaults ⊕ substituted layer values ⊕ substituted overrides (Helm coalesce)."""
    profile = values.substitute(layer_values, context, paths.child(path, "values"))
    cluster = values.substitute(overrides, context, "overrides")
    merged: dict[str, Any] = values.coalesce(defaults, profile, cluster)
    return merged


def origins(layer_values: dict[str, Any], overrides: dict[str, Any]) -> list[Origin]:
    """For each key the profile or the cluster sets, the level whose value wins."""
    found: dict[str, Origin] = {}
    for level, tree in (("profile", layer_values), ("cluster", overrides)):
        for path, value in _leaves(tree, ""):
            found[path] = Origin(path, level, value)
    return sorted(found.values(), key=lambda origin: origin.path)


def _leaves(tree: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(tree, dict) and not tree and not path:
        return []  # nothing set at this level
    if isinstance(tree, dict) and tree:
        out: list[tuple[str, Any]] = []
        for key, value in tree.items():
            out += _leaves(value, paths.child(path, str(key)))
        return out
    return [(path, tree)]


def overlay(*trees: dict[str, Any]) -> dict[str, Any]:
    """User values merged for Helm: maps merge, later levels win, and a None is kept so that
    Helm itself deletes that key from the chart defaults (as `helm template -f` would)."""
    merged: dict[str, Any] = {}
    for tree in trees:
        merged = _overlay(merged, tree)
    return merged


def _overlay(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _overlay(out[key], value)
        else:
            out[key] = value
    return out
