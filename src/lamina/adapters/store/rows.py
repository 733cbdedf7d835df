"""Helpers for reading rows back."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)
