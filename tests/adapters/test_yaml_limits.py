"""The YAML adapter refuses alias abuse on the composed graph, before building values."""

from __future__ import annotations

import gc
import time

import pytest

from lamina.adapters import yamlio
from lamina.domain import document
from lamina.domain.errors import InvalidInput


def laughs(levels: int, width: int = 10) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines)


def codes(text: str) -> list[str]:
    with pytest.raises(InvalidInput) as refused:
        yamlio.load(text)
    return [issue.code for issue in refused.value.issues]


def test_a_billion_laughs_is_refused_at_once() -> None:
    started = time.monotonic()
    assert codes(laughs(9)) == ["too_large"]
    assert time.monotonic() - started < 0.5


def test_shared_aliases_within_the_limits_load() -> None:
    loaded = yamlio.load(laughs(3))
    assert loaded["l2"][0] == loaded["l1"] and len(loaded["l2"]) == 10


def test_alias_uses_are_counted() -> None:
    uses = ", ".join(["*a"] * (document.MAX_ALIASES + 1))
    assert codes(f"x: &a 1\ny: [{uses}]") == ["too_many_aliases"]
    ok = ", ".join(["*a"] * document.MAX_ALIASES)
    assert len(yamlio.load(f"x: &a 1\ny: [{ok}]")["y"]) == document.MAX_ALIASES


def test_a_recursive_alias_is_refused() -> None:
    assert codes("&a [1, *a]") == ["recursive_alias"]


def test_nesting_is_refused_before_construction() -> None:
    deep = "[" * (document.MAX_DEPTH + 5) + "]" * (document.MAX_DEPTH + 5)
    assert codes(deep) == ["too_deep"]


def test_the_collector_is_left_as_found() -> None:
    yamlio.load("a: 1")
    assert gc.isenabled()
