"""Parameter `pattern`s: checked and matched by a pluggable, linear-time regex engine.

Patterns are user input that the server runs against user input, so a backtracking engine
would let one profile freeze the process (`^(a+)+$`). The bootstrap installs an RE2 engine
(`lamina.adapters.regex`); without one, only patterns that cannot backtrack badly are
accepted (no quantified groups, backreferences or lookarounds).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Protocol

Search = Callable[[str], bool]

# Quantified groups (nested quantifiers live only there), backreferences, lookarounds.
_BACKTRACKING = re.compile(r"\)[*+?{]|\\[1-9]|\(\?(?:[=!]|<[=!]|P=)")


class RegexEngine(Protocol):
    def compile(self, pattern: str) -> Search:
        """A search function for `pattern`; ValueError (saying why) when it is refused."""
        ...


class _GuardedStdlib:
    """The fallback: Python's `re`, refusing every construct that can backtrack badly."""

    def compile(self, pattern: str) -> Search:
        if _BACKTRACKING.search(pattern):
            raise ValueError("quantified groups, backreferences and lookarounds are not allowed")
        try:
            compiled = re.compile(pattern)
        except (re.error, RecursionError, OverflowError) as error:
            raise ValueError(str(error)) from error
        return lambda text: compiled.search(text) is not None


_engine: list[RegexEngine] = [_GuardedStdlib()]


def use(engine: RegexEngine) -> RegexEngine:
    """Make `engine` check and match every pattern from now on; returns the one it replaces."""
    previous, _engine[0] = _engine[0], engine
    _searcher.cache_clear()
    return previous


def problem(pattern: str) -> str | None:
    """Why `pattern` cannot be used, or None when it can."""
    try:
        _searcher(pattern)
    except ValueError as error:
        return str(error)
    return None


def search(pattern: str, text: str) -> bool | None:
    """Whether `pattern` matches somewhere in `text`; None when the pattern is unusable."""
    try:
        return _searcher(pattern)(text)
    except ValueError:
        return None


@functools.lru_cache(maxsize=256)
def _searcher(pattern: str) -> Search:
    return _engine[0].compile(pattern)
