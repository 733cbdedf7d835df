"""Layer relations: cycle detection, install order and nested profile references."""

from __future__ import annotations

from typing import Any

import pytest

from lamina.domain.layering import INFRA_CATEGORIES, find_cycle, nested_refs, order_layers


def layer(name: str, category: str = "app", *deps: str) -> dict[str, Any]:
    return {"name": name, "category": category, "dependsOn": list(deps)}


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({}, None),
        ({"a": ["b"], "b": ["c"], "c": []}, None),
        ({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}, None),
        ({"a": ["a"]}, ["a", "a"]),
        ({"a": ["b"], "b": ["a"]}, ["a", "b", "a"]),
        ({"x": ["a"], "a": ["b"], "b": ["c"], "c": ["a"]}, ["a", "b", "c", "a"]),
        ({"a": ["ghost"], "b": ["b"]}, ["b", "b"]),
        # The first cycle in key order wins, however many there are.
        ({"p": ["q"], "q": ["p"], "a": ["a"]}, ["p", "q", "p"]),
    ],
)
def test_find_cycle(graph: dict[str, list[str]], cycle: list[str] | None) -> None:
    assert find_cycle(graph) == cycle


def test_find_cycle_handles_long_chains_without_recursion() -> None:
    size = 20_000
    graph = {f"n{i}": [f"n{i + 1}"] for i in range(size)}
    assert find_cycle(graph) is None
    graph[f"n{size}"] = ["n0"]
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1] == "n0" and len(cycle) == size + 2


def test_order_keeps_document_order_without_constraints() -> None:
    assert order_layers([layer("c"), layer("a"), layer("b")]) == ["c", "a", "b"]


def test_order_puts_dependencies_first() -> None:
    layers = [layer("app", "app", "db", "cache"), layer("db"), layer("cache", "app", "db")]
    assert order_layers(layers) == ["db", "cache", "app"]


def test_order_puts_infra_first_in_category_order() -> None:
    layers = [
        layer("mon", "monitoring"),
        layer("storage", "csi"),
        layer("node", "os"),
        layer("net", "cni"),
        layer("kube", "k8s"),
    ]
    assert order_layers(layers) == ["node", "kube", "net", "storage", "mon"]
    assert INFRA_CATEGORIES == ("os", "k8s", "cni", "csi")


def test_dependencies_win_over_infra_rank() -> None:
    layers = [layer("node", "os", "bootstrap"), layer("bootstrap", "tools"), layer("kube", "k8s")]
    assert order_layers(layers) == ["kube", "bootstrap", "node"]


def test_ready_layers_are_taken_by_document_order() -> None:
    layers = [layer("z", "app", "base"), layer("base"), layer("a", "app", "base"), layer("m")]
    assert order_layers(layers) == ["base", "z", "a", "m"]


def test_order_ignores_unknown_dependencies_and_keeps_cycles_last() -> None:
    layers = [layer("a", "app", "b"), layer("b", "app", "a"), layer("c", "app", "ghost")]
    assert order_layers(layers) == ["c", "a", "b"]


def test_order_skips_unreadable_layers() -> None:
    layers: list[Any] = ["junk", {"category": "os"}, layer("a"), layer("a"), {"name": "b"}]
    assert order_layers(layers) == ["a", "b"]


def test_nested_refs_lists_well_formed_profile_layers_once() -> None:
    spec = {
        "layers": [
            {"name": "one", "profile": {"name": "base", "version": 2}},
            {"name": "two", "profile": {"name": "base", "version": 2}},
            {"name": "three", "profile": {"name": "extra", "version": 1}},
            {"name": "bad-version", "profile": {"name": "x", "version": 0}},
            {"name": "bool-version", "profile": {"name": "x", "version": True}},
            {"name": "bad-name", "profile": {"name": "Bad", "version": 1}},
            {"name": "chart", "chart": {"name": "x", "version": "1.0.0"}},
            "junk",
        ]
    }
    assert nested_refs(spec) == [("base", 2), ("extra", 1)]


@pytest.mark.parametrize("spec", [None, [], {"layers": "x"}, {}, {"layers": [{"profile": 3}]}])
def test_nested_refs_of_unreadable_specs_is_empty(spec: Any) -> None:
    assert nested_refs(spec) == []
