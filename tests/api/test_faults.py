"""Faults are loud: a store or data directory that cannot be used answers 503 naming it,
and nothing is reported as recorded."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from lamina.adapters.store import SqlStore
from lamina.config import Services, Settings, build_services
from lamina.domain.errors import StoreUnavailable
from lamina.domain.models import Role
from lamina.services import auth
from tests.api.test_journey import PROFILES, import_doc
from tests.conftest import LiveServer
from tests.documents import numbered, web_platform

HEALTH = "/api/v1/health"
CHARTS = Path(__file__).parents[1] / "charts"


def wire(tmp_path: Path, **changes: object) -> Services:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'lamina.db'}",
        demo=False,
        data_dir=tmp_path / "data",
        local_roots=(CHARTS,),
    )
    return build_services(Settings(**{**settings.__dict__, **changes}))


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[tuple[httpx.Client, Path]]:
    wired = wire(tmp_path)
    token = auth.create_token(wired.store, org_slug="acme", role=Role.ADMIN)
    try:
        with (
            LiveServer(wired) as url,
            httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            ) as http,
        ):
            yield http, tmp_path / "lamina.db"
    finally:
        wired.store.dispose()


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def test_a_deleted_database_file_is_unhealthy_and_refuses_writes(
    sqlite_server: tuple[httpx.Client, Path],
) -> None:
    http, database = sqlite_server
    assert http.get(HEALTH).status_code == 200
    assert import_doc(http, numbered("before")).status_code == 201
    remove_database(database)

    health = http.get(HEALTH)
    assert health.status_code == 503, health.text
    [issue] = health.json()["errors"]
    assert issue["path"] == "database" and str(database) in issue["message"]
    assert "deleted" in issue["message"]

    write = import_doc(http, numbered("after"))
    assert write.status_code == 503, write.text
    assert write.headers["content-type"] == "application/problem+json"
    assert "deleted" in write.json()["detail"]
    assert http.get(PROFILES).status_code == 503  # nothing served from a doomed file
    assert not database.exists()  # and no empty database quietly created in its place


def test_a_replaced_database_file_is_refused(sqlite_server: tuple[httpx.Client, Path]) -> None:
    http, database = sqlite_server
    assert import_doc(http, numbered("before")).status_code == 201
    copy = database.with_name("copy.db")
    shutil.copyfile(database, copy)
    remove_database(database)
    copy.rename(database)

    health = http.get(HEALTH)
    assert health.status_code == 503 and "replaced" in health.json()["detail"]
    assert import_doc(http, numbered("after")).status_code == 503


def test_a_read_only_sqlite_database_is_unavailable(tmp_path: Path) -> None:
    # Tests run as root, for whom file modes do not stop writes; SQLite's own read-only
    # mode gives the very error a read-only file or mount gives.
    path = tmp_path / "lamina.db"
    wire(tmp_path).store.dispose()
    store = SqlStore(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with (
            pytest.raises(StoreUnavailable, match="readonly"),
            store.unit_of_work(write=True) as uow,
        ):
            uow.orgs.create(slug="acme", name="Acme")
    finally:
        store.dispose()


def test_an_unreachable_postgresql_is_unavailable() -> None:
    store = SqlStore("postgresql://postgres@127.0.0.1:1/lamina")
    try:
        with pytest.raises(StoreUnavailable, match="unreachable"):
            store.check()
    finally:
        store.dispose()


def test_an_unusable_data_directory_is_named(tmp_path: Path) -> None:
    # Tests run as root, so a chmod-ed directory would still be writable. A data directory
    # below a regular file is honestly unusable for anyone: every mkdir under it fails with
    # ENOTDIR, as on a read-only mount it fails with EROFS.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    data_dir = blocker / "data"
    wired = wire(tmp_path, data_dir=data_dir, secret_key=Fernet.generate_key().decode())
    token = auth.create_token(wired.store, org_slug="acme", role=Role.ADMIN)
    try:
        with (
            LiveServer(wired) as url,
            httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            ) as http,
        ):
            health = http.get(HEALTH)
            assert health.status_code == 503, health.text
            [issue] = health.json()["errors"]
            assert issue["path"] == "data_dir" and str(data_dir) in issue["message"]

            # Importing a chart layer caches the chart archive in the data directory.
            answer = import_doc(http, web_platform())
            assert answer.status_code == 503, answer.text
            assert str(data_dir) in answer.json()["detail"]
            assert http.get(PROFILES).json()["total_count"] == 0
    finally:
        wired.store.dispose()


def test_a_key_file_in_an_unusable_data_directory_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(StoreUnavailable, match="not-a-directory"):
        wire(tmp_path, data_dir=blocker / "data")
