"""The RE2 engine behind parameter patterns: linear time, and refusing what RE2 cannot run."""

from __future__ import annotations

import time

import pytest

from lamina.adapters.regex import Re2Engine


def test_nested_quantifiers_run_in_linear_time() -> None:
    search = Re2Engine().compile("^(a+)+$")
    started = time.monotonic()
    assert search("a" * 10_000) is True
    assert search("a" * 10_000 + "b") is False
    assert time.monotonic() - started < 0.5


def test_search_semantics_and_anchors() -> None:
    search = Re2Engine().compile("[0-9]")
    assert search("abc1def") is True
    assert search("abcdef") is False


@pytest.mark.parametrize("pattern", [r"(a)\1", r"^(?=a)a$", r"(?<!x)y", r"(?P<n>a)(?P=n)"])
def test_backtracking_only_constructs_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="RE2"):
        Re2Engine().compile(pattern)
