"""Parameter patterns on RE2 (`google-re2`): matching in time linear in the input."""

from __future__ import annotations

import re2

from lamina.domain.patterns import Search

# Compiled programs beyond this are refused rather than allowed to eat memory.
MAX_PROGRAM_BYTES = 8 * 1024 * 1024


class Re2Engine:
    """domain.patterns.RegexEngine on RE2; refuses what RE2 cannot run (backreferences,
    lookarounds) instead of falling back to a backtracking engine."""

    def __init__(self) -> None:
        self._options = re2.Options()
        self._options.log_errors = False
        self._options.max_mem = MAX_PROGRAM_BYTES

    def compile(self, pattern: str) -> Search:
        try:
            compiled = re2.compile(pattern, self._options)
        except re2.error as error:
            reason = error.args[0] if error.args else error
            text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
            raise ValueError(f"{text} (patterns use the RE2 syntax)") from error

        def search(text: str) -> bool:
            return compiled.search(text) is not None

        return search
