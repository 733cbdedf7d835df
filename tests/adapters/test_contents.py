"""Rendered objects and Git files stored once by content digest, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from lamina.config import Settings, build_services
from lamina.domain.models import StackDraft, StackRevision
from tests.conftest import Database

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OBJECTS = {
    "ConfigMap/apps/a": ["web/settings", "apiVersion: v1\nkind: ConfigMap\n"],
    "ConfigMap/apps/b": ["web/settings", "apiVersion: v1\nkind: ConfigMap\n"],
    "Secret/apps/c": ["web/secrets", "apiVersion: v1\nkind: Secret\n"],
}
FILES = {"kustomization.yaml": "resources: []\n", "01-web/a.yaml": "apiVersion: v1\n"}


def wired(database: Database, tmp_path: Path, *, migrate: bool = True):  # type: ignore[no-untyped-def]
    settings = Settings(
        database_url=database.url, schema=database.schema, demo=False, data_dir=tmp_path / "d"
    )
    return build_services(settings, migrate=migrate)


def seed_cluster(conn: sa.Connection) -> int:
    conn.execute(
        sa.text("INSERT INTO orgs (slug, name, created_at) VALUES ('acme', 'acme', :t)"), {"t": NOW}
    )
    conn.execute(
        sa.text(
            "INSERT INTO clusters (org_id, name, labels, kubernetes_version, git_url, git_branch,"
            " git_path, git_mode, revision, created_at, updated_at) VALUES (1, 'eu-1', '{}',"
            " '1.31.2', 'https://git.example.com/fleet.git', 'main', 'clusters', 'rendered', 1,"
            " :t, :t)"
        ),
        {"t": NOW},
    )
    return 1


def draft(cluster_id: int) -> StackDraft:
    return StackDraft(0, 1, cluster_id, 1, "instantiate", [], FILES, OBJECTS, [], NOW)


def test_each_text_is_stored_once_and_read_back_whole(database: Database, tmp_path: Path) -> None:
    services = wired(database, tmp_path)
    with services.store.unit_of_work(write=True) as uow:
        cluster_id = seed_cluster(uow.stacks._conn)  # type: ignore[attr-defined]
        first = uow.stacks.create_draft(draft(cluster_id))
        second = uow.stacks.create_draft(draft(cluster_id))
        uow.stacks.add_revision(StackRevision(cluster_id, 2, "f" * 40, "m", [], OBJECTS, NOW))
    with services.store.engine.connect() as conn:
        blobs = conn.execute(sa.text("SELECT count(*) FROM content_blobs")).scalar_one()
        stored = conn.execute(sa.text("SELECT objects FROM stack_drafts")).scalars().all()
    # Five distinct texts (two objects share one) for two drafts and a revision.
    assert blobs == 4
    for value in stored:
        refs = json.loads(value) if isinstance(value, str) else value
        assert all(v[1].startswith("sha256:") and len(v[1]) == 71 for v in refs.values())
    with services.store.unit_of_work() as uow:
        assert uow.stacks.draft(1, cluster_id, first.id) == replace(draft(cluster_id), id=first.id)
        assert uow.stacks.draft(1, cluster_id, second.id).objects == OBJECTS  # type: ignore[union-attr]
        assert uow.stacks.last_revision(cluster_id).objects == OBJECTS  # type: ignore[union-attr]
    services.store.dispose()


def test_the_migration_moves_existing_rows_to_references(
    database: Database, tmp_path: Path
) -> None:
    services = wired(database, tmp_path, migrate=False)
    services.store.migrate("0006")
    with services.store.engine.begin() as conn:
        cluster_id = seed_cluster(conn)
        conn.execute(
            sa.text(
                "INSERT INTO stack_revisions (cluster_id, revision, commit_sha, message, addons,"
                " objects, committed_at) VALUES (:c, 1, :sha, 'm', '[]', :objects, :t)"
            ),
            {"c": cluster_id, "sha": "a" * 40, "objects": json.dumps(OBJECTS), "t": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO stack_drafts (org_id, cluster_id, base_revision, action, addons,"
                " files, objects, warnings, created_at) VALUES (1, :c, 1, 'upgrade', '[]',"
                " :files, :objects, '[]', :t)"
            ),
            {"c": cluster_id, "files": json.dumps(FILES), "objects": json.dumps(OBJECTS), "t": NOW},
        )
    services.store.migrate()
    with services.store.unit_of_work() as uow:
        assert uow.stacks.last_revision(cluster_id).objects == OBJECTS  # type: ignore[union-attr]
        moved = uow.stacks.draft(1, cluster_id, 1)
        assert moved is not None and (moved.files, moved.objects) == (FILES, OBJECTS)
    with services.store.engine.connect() as conn:
        text = conn.execute(sa.text("SELECT objects FROM stack_revisions")).scalar_one()
        assert "kind: ConfigMap" not in (text if isinstance(text, str) else json.dumps(text))
    services.store.dispose()


def test_a_render_keeps_its_objects_when_json_holds_them_exactly(
    database: Database, tmp_path: Path
) -> None:
    services = wired(database, tmp_path)
    files = {"web/templates/cm.yaml": "---\nkind: ConfigMap\n"}
    plain = [("web/templates/cm.yaml", {"kind": "ConfigMap", "data": {"a": "1", "n": 1.5}})]
    with services.store.unit_of_work(write=True) as uow:
        uow.renders.put("sha256:" + "a" * 64, files, objects=plain, at=NOW)
        uow.renders.put("sha256:" + "b" * 64, files, objects=[("x", {1: "int key"})], at=NOW)
        uow.renders.put("sha256:" + "c" * 64, files, at=NOW)
        uow.renders.put("sha256:" + "a" * 64, {"other": "text"}, at=NOW)  # kept as first put
    with services.store.unit_of_work() as uow:
        assert uow.renders.get("sha256:" + "a" * 64) == (files, plain)
        assert uow.renders.get("sha256:" + "b" * 64) == (files, None)  # parsed again instead
        assert uow.renders.get("sha256:" + "c" * 64) == (files, None)
        assert uow.renders.get("sha256:" + "d" * 64) is None
    with services.store.engine.begin() as conn:  # written by another format: not trusted
        conn.execute(sa.text("UPDATE render_outputs SET objects = '{\"format\": 99}'"))
    with services.store.unit_of_work() as uow:
        assert uow.renders.get("sha256:" + "a" * 64) == (files, None)
    services.store.dispose()


def test_a_revision_read_against_known_objects_reads_only_the_texts_that_differ(
    database: Database, tmp_path: Path
) -> None:
    services = wired(database, tmp_path)
    with services.store.unit_of_work(write=True) as uow:
        cluster_id = seed_cluster(uow.stacks._conn)  # type: ignore[attr-defined]
        uow.stacks.add_revision(StackRevision(cluster_id, 2, "f" * 40, "m", [], OBJECTS, NOW))
    known = {
        "ConfigMap/apps/a": ["web/settings", str(OBJECTS["ConfigMap/apps/a"][1])],
        "Secret/apps/c": ["web/secrets", "apiVersion: v1\nkind: Secret\ndata: {}\n"],
    }
    with services.store.unit_of_work() as uow:
        last = uow.stacks.last_revision(cluster_id, known=known)
    assert last is not None and last.objects == OBJECTS
    assert last.objects["ConfigMap/apps/a"][1] is known["ConfigMap/apps/a"][1]  # not read
    services.store.dispose()


def blob_count(services) -> int:  # type: ignore[no-untyped-def]
    with services.store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM content_blobs")).scalar_one())


class Abandoned(Exception):
    pass


def test_texts_stored_by_a_rolled_back_unit_are_stored_again(
    database: Database, tmp_path: Path
) -> None:
    """The store remembers which texts are stored only once their unit has committed: a
    draft whose transaction rolled back leaves nothing behind, in the database or in
    memory, and the next draft stores its texts for real."""
    services = wired(database, tmp_path)
    with services.store.unit_of_work(write=True) as uow:
        cluster_id = seed_cluster(uow.stacks._conn)  # type: ignore[attr-defined]
    with pytest.raises(Abandoned), services.store.unit_of_work(write=True) as uow:
        uow.stacks.create_draft(draft(cluster_id))
        raise Abandoned
    assert blob_count(services) == 0
    with services.store.unit_of_work(write=True) as uow:
        made = uow.stacks.create_draft(draft(cluster_id))
    assert blob_count(services) == 4
    fresh = wired(database, tmp_path, migrate=False)  # another process: nothing in memory
    with fresh.store.unit_of_work() as uow:
        assert uow.stacks.draft(1, cluster_id, made.id).objects == OBJECTS  # type: ignore[union-attr]
    fresh.store.dispose()
    services.store.dispose()


def test_texts_known_to_be_stored_are_neither_read_nor_sent_again(
    database: Database, tmp_path: Path
) -> None:
    """Once a unit has committed them, a process knows its stored texts: it reads them from
    memory and does not send them again. (Blobs are never deleted; this is why whatever
    comes to delete them must make every process forget them.)"""
    services = wired(database, tmp_path)
    with services.store.unit_of_work(write=True) as uow:
        cluster_id = seed_cluster(uow.stacks._conn)  # type: ignore[attr-defined]
        first = uow.stacks.create_draft(draft(cluster_id))
    with services.store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM content_blobs"))
    with services.store.unit_of_work() as uow:
        assert uow.stacks.draft(1, cluster_id, first.id).objects == OBJECTS  # type: ignore[union-attr]
    with services.store.unit_of_work(write=True) as uow:
        uow.stacks.create_draft(draft(cluster_id))
    assert blob_count(services) == 0
    services.store.dispose()
