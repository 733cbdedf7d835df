"""What a version's lock pinned: one row per chart, beside the chart the layer asked for.

A version's lock is `{"charts": {layer name: {repository, name, version, digest}}}`; the
layers of nested profiles appear under `parent/child` names with the nested version's pins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lamina.domain import layering


@dataclass(frozen=True)
class LockRow:
    """One chart of a version: what its layer requested and what publishing pinned.

    `constraint` is the version (or range) the layer wrote; None for a chart of a nested
    profile, whose request lives in that profile's version (`profile`). `version` and
    `digest` are None when the lock holds no pin for the chart.
    """

    layer: str
    repository: str | None
    chart: str | None
    constraint: str | None
    version: str | None
    digest: str | None
    profile: tuple[str, int] | None = None


def lock_rows(spec: Mapping[str, Any], lock: Mapping[str, Any] | None) -> list[LockRow] | None:
    """The rows of a version's lock in layer order, or None for a version published unlocked."""
    if lock is None:
        return None
    pins = lock.get("charts")
    pins = pins if isinstance(pins, Mapping) else {}
    rows: list[LockRow] = []
    for layer in _layers(spec):
        name = str(layer.get("name") or "")
        ref = layering.nested_ref(layer)
        if ref is not None:
            rows += _nested_rows(name, ref, pins)
        elif isinstance(layer.get("chart"), Mapping):
            rows.append(_chart_row(name, layer["chart"], pins.get(name)))
    return rows


def _layers(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    layers = spec.get("layers")
    if not isinstance(layers, list):
        return []
    return [layer for layer in layers if isinstance(layer, Mapping)]


def _chart_row(name: str, chart: Mapping[str, Any], pin: Any) -> LockRow:
    pin = pin if isinstance(pin, Mapping) else {}
    return LockRow(
        layer=name,
        repository=_text(chart.get("repository")),
        chart=_text(chart.get("name")),
        constraint=_text(chart.get("version")),
        version=_text(pin.get("version")),
        digest=_text(pin.get("digest")),
    )


def _nested_rows(name: str, ref: tuple[str, int], pins: Mapping[str, Any]) -> list[LockRow]:
    """The pins of a nested profile's charts, or one row naming the version it points to."""
    rows = [
        LockRow(
            layer=key,
            repository=_text(pin.get("repository")),
            chart=_text(pin.get("name")),
            constraint=None,
            version=_text(pin.get("version")),
            digest=_text(pin.get("digest")),
            profile=ref,
        )
        for key, pin in pins.items()
        if key.startswith(name + "/") and isinstance(pin, Mapping)
    ]
    return rows or [LockRow(name, None, None, None, None, None, profile=ref)]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
