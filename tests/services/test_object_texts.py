"""The YAML text memo of composition: one dump per object, never another object's text."""

from __future__ import annotations

from typing import Any

from lamina.adapters import yamlio
from lamina.services.delivery.compose import ObjectTexts


def test_an_object_is_dumped_once_and_an_equal_copy_gets_its_own_text() -> None:
    dumped: list[Any] = []

    def dump(value: Any) -> str:
        dumped.append(value)
        return yamlio.dump(value)

    texts = ObjectTexts(dump)
    obj = {"kind": "ConfigMap", "metadata": {"name": "a"}}
    assert texts.dump(obj) == texts.dump(obj) == yamlio.dump(obj)
    assert len(dumped) == 1
    copy = {"kind": "ConfigMap", "metadata": {"name": "b"}}
    assert texts.dump(copy) == yamlio.dump(copy)  # not the first object's text
    assert len(dumped) == 2


def test_placing_gives_the_same_placed_object_for_the_same_object_and_scope() -> None:
    texts = ObjectTexts(yamlio.dump)
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}
    placed = texts.place(obj, "apps", lambda _: True)
    assert placed["metadata"] == {"name": "a", "namespace": "apps"}
    assert texts.place(obj, "apps", lambda _: True) is placed
    other = texts.place(obj, "web", lambda _: True)
    assert other["metadata"]["namespace"] == "web"
    assert texts.place(obj, "apps", lambda _: False) is obj  # cluster-scoped: unchanged
    assert obj["metadata"] == {"name": "a"}  # the rendered object itself is never changed


def test_an_equal_object_made_anew_reuses_the_text_and_values_of_other_types_do_not() -> None:
    dumped: list[Any] = []

    def dump(value: Any) -> str:
        dumped.append(value)
        return yamlio.dump(value)

    texts = ObjectTexts(dump)
    first = {"kind": "Namespace", "metadata": {"name": "apps", "labels": {"a": "1"}}}
    again = {"kind": "Namespace", "metadata": {"name": "apps", "labels": {"a": "1"}}}
    assert texts.dump(first) == texts.dump(again) == yamlio.dump(first)
    assert len(dumped) == 1
    # Equal under == but not the same text: another type, another key order.
    for other in (
        {"kind": "Namespace", "metadata": {"name": "apps", "labels": {"a": 1}}},
        {"kind": "Namespace", "metadata": {"name": "apps", "labels": {"a": True}}},
        {"metadata": {"name": "apps", "labels": {"a": "1"}}, "kind": "Namespace"},
        {"kind": "Namespace", "metadata": {"name": "apps", "labels": {"a": 1.0}}},
    ):
        assert texts.dump(other) == yamlio.dump(other)
    assert len(dumped) == 5
