"""How layers fit together: dependencies, the infra stack and nested profiles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lamina.domain.errors import Issue
from lamina.domain.layering import INFRA_CATEGORIES, find_cycle, needs, nested_ref
from lamina.domain.paths import child

NestedGraph = Mapping[tuple[str, int], Sequence[tuple[str, int]] | None]
Ref = tuple[str, int]

_STACK_TYPES = ("infra", "full")


def check_graph(
    spec: Mapping[str, Any], path: str, own_name: str | None, nested: NestedGraph | None
) -> list[Issue]:
    """Dependency, infra-stack and nested-profile problems of readable layers."""
    layers = spec.get("layers")
    if not isinstance(layers, list):
        return []
    base = child(path, "layers")
    issues = _check_dependencies(layers, base)
    issues += _check_infra(spec.get("type"), layers, base)
    return issues + _check_nested(layers, base, own_name, nested)


def _layer_names(layers: Sequence[Any]) -> dict[str, int]:
    """Index of the first layer carrying each string name."""
    names: dict[str, int] = {}
    for index, layer in enumerate(layers):
        name = layer.get("name") if isinstance(layer, Mapping) else None
        if isinstance(name, str) and name not in names:
            names[name] = index
    return names


def _check_dependencies(layers: Sequence[Any], base: str) -> list[Issue]:
    names = _layer_names(layers)
    graph: dict[str, list[str]] = {name: [] for name in names}
    issues: list[Issue] = []
    for index, layer in enumerate(layers):
        if not isinstance(layer, Mapping):
            continue
        owner = layer.get("name")
        for field, j, dep in needs(layer):
            if dep not in names:
                parent = child(child(base, index), "dependsOn")
                if field == "bases":
                    parent = child(child(child(base, index), "kustomize"), "bases")
                message = f"names layer {dep!r}, which the profile does not have"
                issues.append(Issue(child(parent, j), "unknown_dependency", message))
            elif isinstance(owner, str) and names[owner] == index:
                graph[owner].append(dep)
    return issues + _cycle_issues(graph, names, base)


def _cycle_issues(graph: dict[str, list[str]], names: dict[str, int], base: str) -> list[Issue]:
    """One issue per disjoint cycle: each found cycle is taken out before looking again."""
    issues: list[Issue] = []
    while (cycle := find_cycle(graph)) is not None:
        where = child(child(base, names[cycle[0]]), "dependsOn")
        message = f"layers depend on each other in a cycle: {' -> '.join(cycle)}"
        issues.append(Issue(where, "dependency_cycle", message))
        for name in cycle:
            graph.pop(name, None)
    return issues


def _categories(layers: Sequence[Any]) -> list[tuple[int, str, Any]]:
    """(index, display name, category) of every mapping layer."""
    found: list[tuple[int, str, Any]] = []
    for index, layer in enumerate(layers):
        if isinstance(layer, Mapping):
            name = layer.get("name")
            shown = repr(name) if isinstance(name, str) else f"#{index}"
            found.append((index, shown, layer.get("category")))
    return found


def _is_infra(category: Any) -> bool:
    return isinstance(category, str) and category in INFRA_CATEGORIES


def _check_infra(kind: Any, layers: Sequence[Any], base: str) -> list[Issue]:
    entries = _categories(layers)
    if kind in _STACK_TYPES:
        return _check_stack(str(kind), entries, base)
    if kind != "add-on":
        return []
    return [
        Issue(
            child(child(base, index), "category"),
            "infra_layer_not_allowed",
            f"an add-on profile cannot hold a {category} layer; use an infra or full profile",
        )
        for index, _, category in entries
        if _is_infra(category)
    ]


def _check_stack(kind: str, entries: list[tuple[int, str, Any]], base: str) -> list[Issue]:
    """Exactly one layer of each infra category, in INFRA_CATEGORIES order, before add-ons."""
    issues: list[Issue] = []
    seen: set[str] = set()
    first_add_on: str | None = None
    highest = -1
    for index, shown, category in entries:
        if not _is_infra(category):
            first_add_on = first_add_on or shown
            continue
        if category in seen:
            message = f"a {kind!r} profile holds one {category} layer; layer {shown} is another"
            where = child(child(base, index), "category")
            issues.append(Issue(where, "duplicate_infra_layer", message))
            continue
        seen.add(category)
        rank = INFRA_CATEGORIES.index(category)
        problem = _order_problem(category, rank, highest, first_add_on)
        if problem:
            issues.append(Issue(child(base, index), "infra_layer_order", problem))
        highest = max(highest, rank)
    return issues + _missing_infra(kind, seen, base)


def _missing_infra(kind: str, seen: set[str], base: str) -> list[Issue]:
    return [
        Issue(base, "missing_infra_layer", f"a {kind!r} profile needs a layer of category {cat!r}")
        for cat in INFRA_CATEGORIES
        if cat not in seen
    ]


def _order_problem(category: str, rank: int, highest: int, first_add_on: str | None) -> str:
    order = " -> ".join(INFRA_CATEGORIES)
    if first_add_on is not None:
        return (
            f"the {category} layer must come before every add-on layer, but follows {first_add_on}"
        )
    if rank < highest:
        later = INFRA_CATEGORIES[highest]
        return f"the {category} layer must come before the {later} layer (order: {order})"
    return ""


def _check_nested(
    layers: Sequence[Any], base: str, own_name: str | None, nested: NestedGraph | None
) -> list[Issue]:
    """Self-inclusion always; missing versions and indirect cycles only when `nested` is known."""
    issues: list[Issue] = []
    for index, layer in enumerate(layers):
        ref = nested_ref(layer)
        if ref is None:
            continue
        where = child(child(base, index), "profile")
        if ref[0] == own_name:
            message = f"the profile includes itself: {own_name} -> {_show(ref)}"
            issues.append(Issue(where, "nested_profile_cycle", message))
        elif nested is not None:
            issues += _check_nested_ref(ref, where, own_name, nested)
    return issues


def _check_nested_ref(
    ref: Ref, path: str, own_name: str | None, nested: NestedGraph
) -> list[Issue]:
    if nested.get(ref) is None:  # absent from the graph is as good as not stored
        message = f"nested profile {ref[0]!r} has no version {ref[1]}"
        return [Issue(path, "nested_profile_not_found", message)]
    chain = _path_to(ref, own_name, nested) if own_name is not None else None
    if chain is None:
        return []
    shown = " -> ".join([str(own_name), *(_show(r) for r in chain)])
    message = f"nested profiles include this profile again: {shown}"
    return [Issue(path, "nested_profile_cycle", message)]


def _path_to(start: Ref, name: str, nested: NestedGraph) -> list[Ref] | None:
    """The first chain of references from `start` to any version of profile `name`."""
    parents: dict[Ref, Ref | None] = {start: None}
    queue = [start]
    for current in queue:  # breadth first, so the shortest chain is shown
        if current[0] == name:
            return _chain(current, parents)
        for target in nested.get(current) or ():
            if target not in parents:
                parents[target] = current
                queue.append(target)
    return None


def _chain(end: Ref, parents: Mapping[Ref, Ref | None]) -> list[Ref]:
    chain: list[Ref] = []
    node: Ref | None = end
    while node is not None:
        chain.append(node)
        node = parents[node]
    return chain[::-1]


def _show(ref: Ref) -> str:
    return f"{ref[0]}@{ref[1]}"
