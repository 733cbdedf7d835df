"""LAMINA_DATABASE_SCHEMA: Lamina's tables in a PostgreSQL schema of their own."""

from __future__ import annotations

import pytest

from lamina.adapters.store.engine import create_store
from lamina.config import Settings
from lamina.domain.errors import LaminaError


def test_the_schema_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMINA_DATABASE_SCHEMA", "team_a")
    assert Settings().schema == "team_a"
    monkeypatch.setenv("LAMINA_DATABASE_SCHEMA", "")
    assert Settings().schema is None


@pytest.mark.parametrize("name", ["a b", "x;drop", "-coptions", "1abc", "é", "a" * 64])
def test_a_schema_must_be_a_plain_name(name: str) -> None:
    with pytest.raises(LaminaError, match="not a plain name"):
        create_store("postgresql://postgres@127.0.0.1:5432/test", schema=name)


def test_a_schema_is_refused_with_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LaminaError, match="PostgreSQL only"):
        create_store(f"sqlite:///{tmp_path / 'x.db'}", schema="team_a")
