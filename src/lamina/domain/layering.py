"""How layers relate: dependency cycles, install order and nested profile references."""

from __future__ import annotations

import heapq
import re
from collections.abc import Mapping, Sequence
from typing import Any

INFRA_CATEGORIES = ("os", "k8s", "cni", "csi")

_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """The first cycle met by a depth-first walk in key order, as `[a, b, a]`; None if acyclic.

    Nodes named only as neighbours count as having no edges.
    """
    done: set[str] = set()
    for start in graph:
        if start not in done:
            cycle = _walk(graph, start, done)
            if cycle is not None:
                return cycle
    return None


def _walk(graph: Mapping[str, Sequence[str]], start: str, done: set[str]) -> list[str] | None:
    """Iterative depth-first walk from `start`; the stack doubles as the current path."""
    path: list[str] = [start]
    on_path: set[str] = {start}
    cursors: list[int] = [0]
    while path:
        node = path[-1]
        edges = graph.get(node, ())
        if cursors[-1] >= len(edges):
            done.add(node)
            on_path.discard(node)
            path.pop()
            cursors.pop()
            continue
        target = edges[cursors[-1]]
        cursors[-1] += 1
        if target in on_path:
            return [*path[path.index(target) :], target]
        if target not in done:
            path.append(target)
            on_path.add(target)
            cursors.append(0)
    return None


def order_layers(layers: Sequence[Mapping[str, Any]]) -> list[str]:
    """Layer names in install order: dependencies first, then infra category rank, then
    document order. Assumes a validated, acyclic document; leftovers keep document order."""
    entries = _named_entries(layers)
    names = {name for name, _, _ in entries}
    deps = {name: [d for d in dict.fromkeys(needs) if d in names] for name, _, needs in entries}
    keys = {name: key for name, key, _ in entries}
    waiting = {name: len(needed) for name, needed in deps.items()}
    users: dict[str, list[str]] = {name: [] for name in deps}
    for name, needed in deps.items():
        for dep in needed:
            users[dep].append(name)
    ready = [(keys[name], name) for name, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    ordered: list[str] = []
    while ready:
        _, name = heapq.heappop(ready)
        ordered.append(name)
        for user in users[name]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, (keys[user], user))
    placed = set(ordered)
    return ordered + [name for name, _, _ in entries if name not in placed]


def _named_entries(layers: Sequence[Any]) -> list[tuple[str, tuple[int, int], list[str]]]:
    """(name, sort key, dependsOn names) of each mapping layer with a first-seen string name."""
    entries: list[tuple[str, tuple[int, int], list[str]]] = []
    seen: set[str] = set()
    for index, layer in enumerate(layers):
        if not isinstance(layer, Mapping):
            continue
        name = layer.get("name")
        if not isinstance(name, str) or name in seen:
            continue
        seen.add(name)
        entries.append((name, (_rank(layer.get("category")), index), _depends_on(layer)))
    return entries


def _rank(category: Any) -> int:
    """Infra categories sort by their place in INFRA_CATEGORIES; every other layer after them."""
    if isinstance(category, str) and category in INFRA_CATEGORIES:
        return INFRA_CATEGORIES.index(category)
    return len(INFRA_CATEGORIES)


def _depends_on(layer: Mapping[str, Any]) -> list[str]:
    return [name for _, _, name in needs(layer)]


def needs(layer: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    """Layers this one must follow: its `dependsOn`, and the `bases` its kustomization
    consumes, as (field, index, name) so callers can point at the entry."""
    found: list[tuple[str, int, str]] = []
    kustomize = layer.get("kustomize")
    bases = kustomize.get("bases") if isinstance(kustomize, Mapping) else None
    for field, raw in (("dependsOn", layer.get("dependsOn")), ("bases", bases)):
        if isinstance(raw, list):
            found += [(field, i, name) for i, name in enumerate(raw) if isinstance(name, str)]
    return found


def nested_ref(layer: Any) -> tuple[str, int] | None:
    """(name, version) of a layer whose `profile:` source is well formed, else None."""
    if not isinstance(layer, Mapping):
        return None
    ref = layer.get("profile")
    if not isinstance(ref, Mapping):
        return None
    name, version = ref.get("name"), ref.get("version")
    if not isinstance(name, str) or not _DNS_LABEL.fullmatch(name):
        return None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return None
    return name, version


def nested_refs(spec: Any) -> list[tuple[str, int]]:
    """Each distinct (name, version) of the well-formed nested `profile:` layers, in order."""
    if not isinstance(spec, Mapping):
        return []
    layers = spec.get("layers")
    if not isinstance(layers, list):
        return []
    refs = (nested_ref(layer) for layer in layers)
    return list(dict.fromkeys(ref for ref in refs if ref is not None))
