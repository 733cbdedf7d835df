"""Nested profiles expanded into one flat, ordered list of layers.

A nested layer `web` holding profile `web-platform` becomes that profile's layers named
`web/ingress`, `web/issuer`… to any depth. Depending on `web` means depending on every
layer it expanded into; the expanded layers inherit `web`'s own dependencies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lamina.domain import layering, paths
from lamina.domain.errors import InvalidInput, Issue

MAX_DEPTH = 16


@dataclass(frozen=True)
class FlatLayer:
    """One layer ready to render: its full name, where it came from, and its source."""

    name: str
    category: str
    namespace: str
    kind: str  # chart | manifests | kustomize | os | kubernetes
    source: Any
    values: dict[str, Any]
    depends_on: tuple[str, ...]
    path: str  # where the layer stands in its document: spec.layers[2]
    profile: tuple[str, int] | None = None  # (name, version) of the nested profile it came from
    lock_key: str = ""  # key of its chart in the lock of the version it came from
    create_namespace: bool = True  # whether the GitOps tree writes Namespaces it uses


SOURCE_KINDS = ("chart", "manifests", "kustomize", "os", "kubernetes")

NestedSpecs = Mapping[tuple[str, int], dict[str, Any]]


def expand(spec: dict[str, Any], nested: NestedSpecs) -> list[FlatLayer]:
    """Every layer of `spec` with nested profiles expanded, in install order."""
    flat = _expand(spec, nested, prefix="", base_deps=(), trail=(), profile=None)
    order = layering.order_layers(
        [{"name": f.name, "category": f.category, "dependsOn": list(f.depends_on)} for f in flat]
    )
    by_name = {f.name: f for f in flat}
    return [by_name[name] for name in order]


def _expand(
    spec: dict[str, Any],
    nested: NestedSpecs,
    *,
    prefix: str,
    base_deps: tuple[str, ...],
    trail: tuple[tuple[str, int], ...],
    profile: tuple[str, int] | None,
) -> list[FlatLayer]:
    layers = [layer for layer in spec.get("layers") or [] if isinstance(layer, dict)]
    groups = {layer["name"]: _group(layer, nested, prefix, trail) for layer in layers}
    out: list[FlatLayer] = []
    for index, layer in enumerate(layers):
        deps = base_deps + tuple(
            member for _, _, dep in layering.needs(layer) for member in groups.get(dep, ())
        )
        if "profile" in layer:
            out += _expand_nested(layer, nested, prefix, deps, trail)
            continue
        out.append(_flat(layer, index, prefix, deps, profile))
    return out


def _group(
    layer: dict[str, Any], nested: NestedSpecs, prefix: str, trail: tuple[tuple[str, int], ...]
) -> tuple[str, ...]:
    """The full names a layer stands for: itself, or every layer its nested profile holds."""
    name = prefix + layer["name"]
    ref = layering.nested_ref(layer)
    if ref is None:
        return (name,)
    child = nested.get(ref)
    if child is None or ref in trail:
        return ()
    inner = [entry for entry in child.get("layers") or [] if isinstance(entry, dict)]
    return tuple(m for entry in inner for m in _group(entry, nested, name + "/", (*trail, ref)))


def _expand_nested(
    layer: dict[str, Any],
    nested: NestedSpecs,
    prefix: str,
    deps: tuple[str, ...],
    trail: tuple[tuple[str, int], ...],
) -> list[FlatLayer]:
    ref = layering.nested_ref(layer)
    where = f"{prefix}{layer['name']}"
    if ref is None or ref not in nested:
        shown = f"{ref[0]} version {ref[1]}" if ref else "a malformed reference"
        raise InvalidInput(
            "A nested profile is missing",
            issues=[Issue(where, "nested_profile_not_found", f"Profile {shown} does not exist")],
        )
    if ref in trail or len(trail) >= MAX_DEPTH:
        chain = " -> ".join(f"{n}@{v}" for n, v in (*trail, ref))
        raise InvalidInput(
            "Nested profiles form a cycle",
            issues=[Issue(where, "nested_profile_cycle", f"Profiles include themselves: {chain}")],
        )
    return _expand(
        nested[ref], nested, prefix=where + "/", base_deps=deps, trail=(*trail, ref), profile=ref
    )


def _flat(
    layer: dict[str, Any],
    index: int,
    prefix: str,
    deps: tuple[str, ...],
    profile: tuple[str, int] | None,
) -> FlatLayer:
    kind = next((k for k in SOURCE_KINDS if k in layer), "manifests")
    return FlatLayer(
        name=prefix + layer["name"],
        category=str(layer.get("category") or ""),
        namespace=str(layer.get("namespace") or "default"),
        kind=kind,
        source=layer.get(kind),
        values=dict(layer.get("values") or {}),
        depends_on=tuple(dict.fromkeys(deps)),
        path=paths.child(paths.child("spec", "layers"), index),
        profile=profile,
        lock_key=layer["name"],
        create_namespace=layer.get("createNamespace") is not False,
    )
