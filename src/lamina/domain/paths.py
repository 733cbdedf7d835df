"""Paths into documents, written the way users read them: `spec.layers[1].chart.version`."""

from __future__ import annotations

import re

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def child(base: str, key: str | int) -> str:
    """The path of `key` (a mapping key or a list index) under `base`."""
    if isinstance(key, int):
        return f"{base}[{key}]"
    if not _PLAIN_KEY.match(key):
        key = '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{base}[{key}]" if base else f"[{key}]"
    return f"{base}.{key}" if base else key


def named(base: str, name: str) -> str:
    """The path of the list entry called `name` (layers and parameters are matched by name)."""
    return f"{base}[{name}]"


def join(base: str, relative: str) -> str:
    """`relative` (a path from some sub-tree) as a path under `base`."""
    if not base or not relative:
        return base or relative
    return base + relative if relative.startswith("[") else f"{base}.{relative}"
