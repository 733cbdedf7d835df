"""SQL repository of registries and the pack versions their indexes list."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

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
        if search:
            where.append(
                sa.or_(
                    p.name.icontains(search, autoescape=True),
                    p.description.icontains(search, autoescape=True),
                )
            )
        if registry:
            where.append(r.name == registry)
        joined = t.pack_versions.join(t.registries, r.id == p.registry_id)
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

    def versions(self, registry_id: int, name: str) -> list[PackVersion]:
        p = t.pack_versions.c
        rows = self._conn.execute(
            sa.select(t.pack_versions).where(p.registry_id == registry_id, p.name == name)
        ).mappings()
        return [_pack(row) for row in rows]
