"""The SQL store on SQLite and PostgreSQL: immutability, concurrency, constant query counts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from lamina.adapters.store import engine as engine_module
from lamina.config import Services
from lamina.domain.errors import DuplicateKey, ImmutableVersion, LaminaError, StaleWrite
from lamina.domain.models import Draft, ProfileQuery, ProfileVersion, Role
from lamina.services import auth
from tests.documents import numbered

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@contextmanager
def count_statements(services: Services) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(services.store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(services.store.engine, "before_cursor_execute", record)


def publish(services: Services, org: str, name: str, versions: int = 1) -> int:
    principal = auth.authenticate(
        services.store, auth.create_token(services.store, org_slug=org, role=Role.EDITOR)
    )
    profile_id = 0
    for _ in range(versions):
        profile, _version = services.profiles.import_document(principal, numbered(name))
        profile_id = profile.id
    return profile_id


def test_migrations_are_idempotent(services: Services) -> None:
    services.store.migrate()
    services.store.migrate()
    with services.store.engine.connect() as conn:
        heads = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    assert heads == ["0015"]
    with services.store.unit_of_work() as uow:
        assert uow.clusters.all(org_id=1) == []


def test_the_database_refuses_to_change_a_version(services: Services) -> None:
    profile_id = publish(services, "acme", "frozen")
    with pytest.raises(ImmutableVersion), services.store.unit_of_work(write=True) as uow:
        uow.versions._conn.execute(  # type: ignore[attr-defined]
            sa.text("UPDATE profile_versions SET changelog = 'rewritten' WHERE profile_id = :p"),
            {"p": profile_id},
        )
    with services.store.unit_of_work() as uow:
        assert uow.versions.get(profile_id, 1).changelog == ""  # type: ignore[union-attr]


def test_version_numbers_are_unique_per_profile(services: Services) -> None:
    profile_id = publish(services, "acme", "numbered")
    with services.store.unit_of_work() as uow:
        existing = uow.versions.get(profile_id, 1)
    assert existing is not None
    with pytest.raises(DuplicateKey), services.store.unit_of_work(write=True) as uow:
        uow.versions.add(existing)


def test_stale_draft_update_is_refused_and_changes_nothing(services: Services) -> None:
    with services.store.unit_of_work(write=True) as uow:
        org = uow.orgs.create(slug="acme", name="Acme")
        draft = uow.drafts.create(
            Draft(0, org.id, "d", None, None, {"name": "d"}, {"type": "add-on"}, 1, NOW, NOW)
        )
    with services.store.unit_of_work(write=True) as uow:
        uow.drafts.update(draft, expected_version=1)
    with pytest.raises(StaleWrite), services.store.unit_of_work(write=True) as uow:
        uow.drafts.update(
            Draft(draft.id, org.id, "x", None, None, {"name": "x"}, {}, 1, NOW, NOW),
            expected_version=1,
        )
    with services.store.unit_of_work() as uow:
        stored = uow.drafts.get(org.id, draft.id)
    assert stored is not None and stored.version == 2 and stored.name == "d"


def test_documents_keep_key_order(services: Services) -> None:
    spec = {"type": "add-on", "zeta": 1, "alpha": {"z": 1, "a": 2}, "layers": []}
    with services.store.unit_of_work(write=True) as uow:
        org = uow.orgs.create(slug="acme", name="Acme")
        profile = uow.profiles.create(
            org_id=org.id,
            fields={
                "name": "p",
                "description": "",
                "category": "",
                "tags": [],
                "visibility": "organisation",
                "type": "add-on",
                "latest_version": 1,
                "current_version": 1,
            },
            now=NOW,
        )
        uow.versions.add(ProfileVersion(profile.id, 1, "stable", "", spec, {"name": "p"}, NOW))
    with services.store.unit_of_work() as uow:
        stored = uow.versions.get(profile.id, 1)
    assert stored is not None
    assert list(stored.spec) == ["type", "zeta", "alpha", "layers"]
    assert list(stored.spec["alpha"]) == ["z", "a"]


def test_list_uses_the_same_statements_for_any_page_size(services: Services) -> None:
    for i in range(30):
        publish(services, "acme", f"p-{i:02d}", versions=1)
    with services.store.unit_of_work() as uow:
        org = uow.orgs.get_by_slug("acme")
    assert org is not None
    counts = []
    for size in (1, 5, 30, 200):
        with count_statements(services) as seen, services.store.unit_of_work() as uow:
            page = uow.profiles.page(org.id, ProfileQuery(page_size=size, tag=None, search="p-"))
        assert len(page.items) == min(size, 30)
        counts.append(len(seen))
    assert len(set(counts)) == 1, counts


def test_concurrent_writers_on_one_profile(services: Services) -> None:
    publish(services, "acme", "busy")
    token = auth.create_token(services.store, org_slug="acme", role=Role.EDITOR)
    principal = auth.authenticate(services.store, token)
    errors: list[BaseException] = []

    def run(writer: int) -> None:
        doc = numbered("busy")
        doc["metadata"]["changelog"] = f"Writer {writer}"  # each a change worth a version
        try:
            services.profiles.import_document(principal, doc)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with services.store.unit_of_work() as uow:
        profile = uow.profiles.get_by_name(principal.org_id, "busy")
        assert profile is not None
        assert [v.version for v in uow.versions.summaries(profile.id)] == [6, 5, 4, 3, 2, 1]


def test_ids_of_deleted_rows_are_never_reused(services: Services) -> None:
    first = publish(services, "acme", "first")
    with services.store.unit_of_work(write=True) as uow:
        uow.profiles.delete(first)
    assert publish(services, "acme", "second") != first


def test_a_pooled_connection_the_server_dropped_is_replaced_unseen(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    if services.store.dialect != "postgresql":
        pytest.skip("PostgreSQL's pool checks idle connections; SQLite has no server")
    with services.store.unit_of_work() as uow:
        assert uow.orgs.get_by_slug("acme") is None
    engine = services.store.engine
    pooled = [engine.connect() for _ in range(engine.pool.checkedin())]  # type: ignore[attr-defined]
    pids = [int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()) for conn in pooled]
    for conn in pooled:
        conn.close()
    admin = sa.create_engine(engine.url)
    with admin.begin() as conn:  # the server ends every idle pooled connection
        for pid in pids:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
    admin.dispose()
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.0)
    with services.store.unit_of_work() as uow:  # pinged, found dead, replaced
        assert uow.orgs.get_by_slug("acme") is None


def test_a_unit_of_work_not_opened_for_writing_cannot_write(services: Services) -> None:
    profile_id = publish(services, "acme", "readonly")
    with services.store.unit_of_work() as uow:
        first = uow.versions.get(profile_id, 1)
        assert first is not None
        with pytest.raises(LaminaError, match="read-only unit of work"):
            uow.versions.add(replace(first, version=2))
    with services.store.unit_of_work() as uow:
        assert uow.versions.get(profile_id, 2) is None
        assert [v.version for v in uow.versions.summaries(profile_id)] == [1]


def test_a_version_read_by_a_transaction_that_rolls_back_is_not_remembered(
    services: Services,
) -> None:
    profile_id = publish(services, "acme", "phantom")

    def found(uow: Any) -> None:  # versions are served from memory once the profile is found
        org = uow.orgs.get_by_slug("acme")
        assert uow.profiles.get(org.id, profile_id) is not None

    with services.store.unit_of_work() as uow:  # read, and remembered
        found(uow)
        first = uow.versions.get(profile_id, 1)
    assert first is not None
    with pytest.raises(RuntimeError), services.store.unit_of_work(write=True) as uow:
        uow.versions.add(replace(first, version=2, changelog="never committed"))
        assert uow.versions.get(profile_id, 2) is not None  # seen inside, not remembered
        raise RuntimeError("roll back")
    with services.store.unit_of_work() as uow:
        found(uow)
        assert uow.versions.get(profile_id, 2) is None
        again = uow.versions.get(profile_id, 1)
    assert again is first  # from memory
