"""SQL repository of catalog sources and of the origins of installed profiles."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from lamina.adapters.store import tables as t
from lamina.adapters.store.rows import aware
from lamina.domain.catalog import (
    Access,
    CatalogEntry,
    CatalogSource,
    Origin,
    SourceKind,
)
from lamina.domain.models import Page, Profile


def _source(row: RowMapping) -> CatalogSource:
    return CatalogSource(
        id=row["id"],
        org_id=row["org_id"],
        name=row["name"],
        kind=SourceKind(row["kind"]),
        url=row["url"],
        branch=row["branch"],
        path=row["path"],
        access=Access(row["access"]),
        created_at=aware(row["created_at"]),
        synced_at=aware(row["synced_at"]) if row["synced_at"] else None,
        last_error=row["last_error"],
        entries=tuple(CatalogEntry.from_dict(e) for e in row["entries"]),
    )


def _origin(row: RowMapping) -> Origin:
    return Origin(
        profile_id=row["profile_id"],
        source_id=row["source_id"],
        source_name=row["source_name"],
        entry=row["entry"],
        version=row["version"],
        url=row["url"],
        installed_at=aware(row["installed_at"]),
    )


class SqlCatalog:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def page(self, org_id: int, *, page: int, page_size: int) -> Page[CatalogSource]:
        c = t.catalog_sources.c
        total = self._conn.execute(
            sa.select(sa.func.count()).select_from(t.catalog_sources).where(c.org_id == org_id)
        ).scalar_one()
        rows = self._conn.execute(
            sa.select(t.catalog_sources)
            .where(c.org_id == org_id)
            .order_by(c.name, c.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).mappings()
        items = [_source(row) for row in rows]
        return Page(items=items, total_count=total, page=page, page_size=page_size)

    def all(self, org_id: int) -> list[CatalogSource]:
        c = t.catalog_sources.c
        rows = self._conn.execute(
            sa.select(t.catalog_sources).where(c.org_id == org_id).order_by(c.name, c.id)
        ).mappings()
        return [_source(row) for row in rows]

    def get(self, org_id: int, source_id: int) -> CatalogSource | None:
        c = t.catalog_sources.c
        return self._one(sa.and_(c.org_id == org_id, c.id == source_id))

    def get_by_name(self, org_id: int, name: str) -> CatalogSource | None:
        c = t.catalog_sources.c
        return self._one(sa.and_(c.org_id == org_id, c.name == name))

    def _one(self, where: sa.ColumnElement[bool]) -> CatalogSource | None:
        row = self._conn.execute(sa.select(t.catalog_sources).where(where)).mappings().first()
        return _source(row) if row else None

    def create(self, source: CatalogSource) -> CatalogSource:
        row = (
            self._conn.execute(
                sa.insert(t.catalog_sources)
                .values(
                    org_id=source.org_id,
                    name=source.name,
                    kind=source.kind.value,
                    url=source.url,
                    branch=source.branch,
                    path=source.path,
                    access=source.access.value,
                    entries=[e.as_dict() for e in source.entries],
                    synced_at=None,
                    last_error=None,
                    created_at=source.created_at,
                )
                .returning(t.catalog_sources)
            )
            .mappings()
            .one()
        )
        return _source(row)

    def set_access(self, source_id: int, access: Access) -> None:
        c = t.catalog_sources.c
        self._conn.execute(
            sa.update(t.catalog_sources).where(c.id == source_id).values(access=access.value)
        )

    def delete(self, org_id: int, source_id: int) -> bool:
        c = t.catalog_sources.c
        result = self._conn.execute(
            sa.delete(t.catalog_sources).where(c.org_id == org_id, c.id == source_id)
        )
        return bool(result.rowcount)

    def record_sync(
        self, source_id: int, *, at: datetime, entries: list[CatalogEntry] | None, error: str | None
    ) -> None:
        values: dict[str, object] = {"synced_at": at, "last_error": error}
        if entries is not None:
            values["entries"] = [e.as_dict() for e in entries]
        c = t.catalog_sources.c
        self._conn.execute(sa.update(t.catalog_sources).where(c.id == source_id).values(values))

    def origin(self, profile_id: int) -> Origin | None:
        i = t.catalog_installs.c
        row = (
            self._conn.execute(sa.select(t.catalog_installs).where(i.profile_id == profile_id))
            .mappings()
            .first()
        )
        return _origin(row) if row else None

    def origins(self, org_id: int) -> list[tuple[Origin, Profile]]:
        from lamina.adapters.store.repositories import profile_of

        i, p = t.catalog_installs.c, t.profiles.c
        rows = self._conn.execute(
            sa.select(t.catalog_installs, t.profiles)
            .join(t.profiles, p.id == i.profile_id)
            .where(p.org_id == org_id, p.archived_at.is_(None))
            .order_by(p.name)
        ).mappings()
        return [(_origin(row), profile_of(row)) for row in rows]

    def set_origin(self, origin: Origin) -> None:
        i = t.catalog_installs.c
        self._conn.execute(sa.delete(t.catalog_installs).where(i.profile_id == origin.profile_id))
        self._conn.execute(
            sa.insert(t.catalog_installs).values(
                profile_id=origin.profile_id,
                source_id=origin.source_id,
                source_name=origin.source_name,
                entry=origin.entry,
                version=origin.version,
                url=origin.url,
                installed_at=origin.installed_at,
            )
        )
