"""Characters Lamina refuses in names and text: they break stores, terminals and YAML."""

from __future__ import annotations

import re

# C0 and C1 control characters, DEL, and lone UTF-16 surrogates (which no store can encode).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same, but tab, newline and carriage return are fine in multi-line text.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def forbidden_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character `value` may not hold, written as `U+XXXX`, or None."""
    found = (_CONTROL_IN_TEXT if multiline else _CONTROL).search(value)
    return f"U+{ord(found.group()):04X}" if found else None


def message(character: str) -> str:
    return f"Control character {character} is not allowed here"
