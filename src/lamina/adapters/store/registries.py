"""SQL repository of registries and the pack versions their indexes list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.ext.compiler import compiles

from lamina.adapters.store import tables as t
from lamina.adapters.store.rows import aware
from lamina.domain.models import PackSummary, PackVersion, Page, Registry, RegistryKind


def _registry(row: RowMapping) -> Registry:
    return Registry(
        id=row["id"],
        org_id=row["org_id"],
        name=row["name"],
        kind=RegistryKind(row["kind"]),
        url=row["url"],
        username=row["username"],
        password_sealed=row["password_sealed"],
        charts=tuple(row["charts"]),
        synced_at=aware(row["synced_at"]) if row["synced_at"] else None,
        sync_error=row["sync_error"],
        created_at=aware(row["created_at"]),
    )


def _pack(row: RowMapping) -> PackVersion:
    return PackVersion(
        name=row["name"],
        version=row["version"],
        app_version=row["app_version"],
        description=row["description"],
        digest=row["digest"],
        kube_version=row["kube_version"],
        deprecated=row["deprecated"],
        urls=tuple(row["urls"]),
        created=row["created"],
    )


# FTS5 trigram MATCH finds nothing for fewer than three characters: shorter search text scans.
_TRIGRAM = 3


class _DrivingJoin(sa.Join):
    """An inner join whose left side is read first: SQLite's CROSS JOIN fixes the order, so
    that the few rows an index found drive the query instead of a scan of an org's rows."""

    inherit_cache = True


@compiles(_DrivingJoin, "sqlite")
def _compile_driving_join(join: _DrivingJoin, compiler: Any, **kw: Any) -> str:
    # The left side is the FTS5 subquery below, which holds no JOIN of its own.
    return str(compiler.visit_join(join, **kw)).replace(" JOIN ", " CROSS JOIN ", 1)


def _has_table(conn: Connection, name: str) -> bool:
    """Whether the SQLite database has table `name`; asked once per connection."""
    key = f"lamina_has_table_{name}"
    if key not in conn.info:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        conn.info[key] = conn.exec_driver_sql(query, (name,)).first() is not None
    return bool(conn.info[key])


def text_search(
    conn: Connection, table: sa.Table, fts: str, text: str
) -> tuple[sa.FromClause, sa.ColumnElement[bool]]:
    """The FROM and the condition for the rows whose name or description contains `text`:
    LIKE wildcards in it are literal, ASCII case is ignored (ILIKE on PostgreSQL, whose
    pg_trgm indexes of migration 0011 serve it).

    On SQLite the FTS5 trigram table `fts` (migration 0011) finds the candidate rows; its
    Unicode case folding finds a superset of what LIKE finds, and the LIKE kept on the
    candidates makes the answer exactly that of a scan. Text shorter than three characters
    (trigrams find nothing) or a database without the FTS5 table scans with LIKE alone."""
    like = sa.or_(
        table.c.name.icontains(text, autoescape=True),
        table.c.description.icontains(text, autoescape=True),
    )
    if conn.dialect.name != "sqlite" or len(text) < _TRIGRAM or not _has_table(conn, fts):
        return table, like
    # One FTS5 string (a phrase): no operator, column filter or prefix syntax of the input.
    phrase = '"' + text.replace('"', '""') + '"'
    matched = (
        sa.text(f"SELECT rowid FROM {fts} WHERE {fts} MATCH :phrase")
        .bindparams(sa.bindparam("phrase", phrase, unique=True))
        .columns(sa.column("rowid", sa.Integer))
        .subquery(f"{fts}_match")
    )
    return _DrivingJoin(matched, table, table.c.id == matched.c.rowid), like


class SqlRegistries:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def page(self, org_id: int, *, page: int, page_size: int) -> Page[Registry]:
        r = t.registries.c
        total = self._conn.execute(
            sa.select(sa.func.count()).select_from(t.registries).where(r.org_id == org_id)
        ).scalar_one()
        rows = self._conn.execute(
            sa.select(t.registries)
            .where(r.org_id == org_id)
            .order_by(r.name)
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).mappings()
        items = [_registry(row) for row in rows]
        return Page(items=items, total_count=total, page=page, page_size=page_size)

    def get(self, org_id: int, registry_id: int) -> Registry | None:
        r = t.registries.c
        query = sa.select(t.registries).where(r.org_id == org_id, r.id == registry_id)
        row = self._conn.execute(query).mappings().first()
        return _registry(row) if row else None

    def get_by_name(self, org_id: int, name: str) -> Registry | None:
        r = t.registries.c
        query = sa.select(t.registries).where(r.org_id == org_id, r.name == name)
        row = self._conn.execute(query).mappings().first()
        return _registry(row) if row else None

    def create(self, registry: Registry) -> Registry:
        row = (
            self._conn.execute(
                sa.insert(t.registries)
                .values(
                    org_id=registry.org_id,
                    name=registry.name,
                    kind=registry.kind.value,
                    url=registry.url,
                    username=registry.username,
                    password_sealed=registry.password_sealed,
                    charts=list(registry.charts),
                    created_at=registry.created_at,
                )
                .returning(t.registries)
            )
            .mappings()
            .one()
        )
        return _registry(row)

    def delete(self, org_id: int, registry_id: int) -> bool:
        r = t.registries.c
        result = self._conn.execute(
            sa.delete(t.registries).where(r.org_id == org_id, r.id == registry_id)
        )
        return bool(result.rowcount)

    def mark_synced(self, registry_id: int, *, at: datetime, error: str | None) -> None:
        self._conn.execute(
            sa.update(t.registries)
            .where(t.registries.c.id == registry_id)
            .values(synced_at=at, sync_error=error)
        )

    def replace_packs(
        self, registry_id: int, packs: list[PackVersion], latest: set[tuple[str, str]]
    ) -> None:
        self._conn.execute(
            sa.delete(t.pack_versions).where(t.pack_versions.c.registry_id == registry_id)
        )
        if not packs:
            return
        self._conn.execute(
            sa.insert(t.pack_versions),
            [
                {
                    "registry_id": registry_id,
                    "name": p.name,
                    "version": p.version,
                    "app_version": p.app_version,
                    "description": p.description,
                    "digest": p.digest,
                    "kube_version": p.kube_version,
                    "deprecated": p.deprecated,
                    "urls": list(p.urls),
                    "created": p.created,
                    "is_latest": (p.name, p.version) in latest,
                }
                for p in packs
            ],
        )

    def packs(
        self, org_id: int, *, search: str | None, registry: str | None, page: int, page_size: int
    ) -> Page[PackSummary]:
        p, r = t.pack_versions.c, t.registries.c
        where = [r.org_id == org_id, p.is_latest.is_(True)]
        source: sa.FromClause = t.pack_versions
        if search:
            source, matches = text_search(self._conn, t.pack_versions, "pack_versions_fts", search)
            where.append(matches)
        if registry:
            where.append(r.name == registry)
        joined = source.join(t.registries, r.id == p.registry_id)
        total = self._conn.execute(
            sa.select(sa.func.count()).select_from(joined).where(*where)
        ).scalar_one()
        rows = self._conn.execute(
            sa.select(t.pack_versions, r.name.label("registry_name"))
            .select_from(joined)
            .where(*where)
            .order_by(p.name, r.name)
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).mappings()
        items = [PackSummary(registry=row["registry_name"], pack=_pack(row)) for row in rows]
        return Page(items=items, total_count=total, page=page, page_size=page_size)

    def pack_counts(self, org_id: int) -> dict[str, int]:
        p, r = t.pack_versions.c, t.registries.c
        rows = self._conn.execute(
            sa.select(r.name, sa.func.count())
            .select_from(t.pack_versions.join(t.registries, r.id == p.registry_id))
            .where(r.org_id == org_id, p.is_latest.is_(True))
            .group_by(r.name)
        )
        return {str(name): int(count) for name, count in rows}

    def versions(self, registry_id: int, name: str) -> list[PackVersion]:
        p = t.pack_versions.c
        rows = self._conn.execute(
            sa.select(t.pack_versions).where(p.registry_id == registry_id, p.name == name)
        ).mappings()
        return [_pack(row) for row in rows]
