"""SQL implementations of the repository ports, on one connection per unit of work."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from lamina.adapters.store import tables as t
from lamina.adapters.store.audit import SqlAudit
from lamina.adapters.store.catalog import SqlCatalog
from lamina.adapters.store.clusters import SqlClusters, SqlStacks
from lamina.adapters.store.contents import ContentMemo, Contents, SqlRenders
from lamina.adapters.store.jobs import SqlJobs
from lamina.adapters.store.registries import SqlRegistries, text_search
from lamina.adapters.store.rows import aware
from lamina.adapters.store.tokens import SqlTokens
from lamina.domain.caches import ByteLru
from lamina.domain.errors import StaleWrite
from lamina.domain.models import (
    Draft,
    Org,
    Page,
    Profile,
    ProfileQuery,
    ProfileType,
    ProfileVersion,
    VersionSummary,
    Visibility,
)


class SqlOrgs:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get_by_slug(self, slug: str) -> Org | None:
        row = self._conn.execute(sa.select(t.orgs).where(t.orgs.c.slug == slug)).mappings().first()
        return Org(id=row["id"], slug=row["slug"], name=row["name"]) if row else None

    def create(self, *, slug: str, name: str) -> Org:
        now = datetime.now(UTC)
        org_id = self._conn.execute(
            sa.insert(t.orgs).values(slug=slug, name=name, created_at=now).returning(t.orgs.c.id)
        ).scalar_one()
        return Org(id=org_id, slug=slug, name=name)


def _profile(row: RowMapping) -> Profile:
    return Profile(
        id=row["id"],
        org_id=row["org_id"],
        name=row["name"],
        description=row["description"],
        category=row["category"],
        tags=list(row["tags"]),
        visibility=Visibility(row["visibility"]),
        type=ProfileType(row["type"]),
        latest_version=row["latest_version"],
        current_version=row["current_version"],
        created_at=aware(row["created_at"]),
        updated_at=aware(row["updated_at"]),
        archived_at=aware(row["archived_at"]) if row["archived_at"] else None,
    )


profile_of = _profile
"""A profile from a row holding the `profiles` columns (joins of other repositories)."""


def _visible(org_id: int | sa.BindParameter[Any], include_public: bool) -> sa.ColumnElement[bool]:
    """Profiles of the org (`org_id` a value or a bind parameter), and public ones too."""
    own: sa.ColumnElement[bool] = t.profiles.c.org_id == org_id
    if include_public:
        return sa.or_(own, t.profiles.c.visibility == Visibility.PUBLIC.value)
    return own


# The statements run for every cluster of a rollout, built once: a statement built anew each
# time costs more than its execution on an indexed key, and a built one keeps its cache key.
_P = t.profiles.c
_PROFILE_OWN = sa.select(t.profiles).where(
    _P.id == sa.bindparam("id"), _visible(sa.bindparam("org"), False)
)
_PROFILE_VISIBLE = sa.select(t.profiles).where(
    _P.id == sa.bindparam("id"), _visible(sa.bindparam("org"), True)
)
_PROFILE_EXISTS = sa.select(_P.id).where(_P.id == sa.bindparam("id"))
_VERSION = sa.select(t.profile_versions).where(
    t.profile_versions.c.profile_id == sa.bindparam("profile"),
    t.profile_versions.c.version == sa.bindparam("version"),
)


class SqlProfiles:
    def __init__(self, conn: Connection, found: set[int] | None = None) -> None:
        self._conn = conn
        self._found = found if found is not None else set()  # ids `get` found here

    def page(self, org_id: int, query: ProfileQuery) -> Page[Profile]:
        where = [_visible(org_id, query.include_public), t.profiles.c.archived_at.is_(None)]
        source: sa.FromClause = t.profiles
        if query.search:
            source, matches = text_search(self._conn, t.profiles, "profiles_fts", query.search)
            where.append(matches)
        if query.category:
            where.append(t.profiles.c.category == query.category)
        if query.tag:
            tagged = sa.select(t.profile_tags.c.profile_id).where(
                t.profile_tags.c.profile_id == t.profiles.c.id, t.profile_tags.c.tag == query.tag
            )
            where.append(tagged.exists())
        if query.names:
            where.append(t.profiles.c.name.in_(query.names))
        total = self._conn.execute(
            sa.select(sa.func.count()).select_from(source).where(*where)
        ).scalar_one()
        listed = (
            sa.select(t.profiles)
            .select_from(source)
            .where(*where)
            .order_by(t.profiles.c.name, t.profiles.c.id)
            .limit(query.page_size)
        )
        if query.after is not None:
            name, last = query.after
            p = t.profiles.c
            listed = listed.where(sa.or_(p.name > name, sa.and_(p.name == name, p.id > last)))
        else:
            listed = listed.offset((query.page - 1) * query.page_size)
        rows = self._conn.execute(listed).mappings()
        items = [_profile(row) for row in rows]
        return Page(items=items, total_count=total, page=query.page, page_size=query.page_size)

    def get(self, org_id: int, profile_id: int, *, include_public: bool = False) -> Profile | None:
        query = _PROFILE_VISIBLE if include_public else _PROFILE_OWN
        row = self._conn.execute(query, {"id": profile_id, "org": org_id}).mappings().first()
        if row is None:
            return None
        self._found.add(profile_id)
        return _profile(row)

    def get_by_name(self, org_id: int, name: str, *, for_update: bool = False) -> Profile | None:
        query = sa.select(t.profiles).where(
            t.profiles.c.org_id == org_id, t.profiles.c.name == name
        )
        if for_update:
            query = query.with_for_update()
        row = self._conn.execute(query).mappings().first()
        return _profile(row) if row else None

    def lock(self, profile_id: int) -> Profile:
        query = sa.select(t.profiles).where(t.profiles.c.id == profile_id).with_for_update()
        return _profile(self._conn.execute(query).mappings().one())

    def create(self, *, org_id: int, fields: dict[str, Any], now: datetime) -> Profile:
        values = {**fields, "org_id": org_id, "created_at": now, "updated_at": now}
        row = (
            self._conn.execute(sa.insert(t.profiles).values(**values).returning(t.profiles))
            .mappings()
            .one()
        )
        self._write_tags(row["id"], fields.get("tags", []))
        return _profile(row)

    def update(self, profile_id: int, *, fields: dict[str, Any], now: datetime) -> Profile:
        row = (
            self._conn.execute(
                sa.update(t.profiles)
                .where(t.profiles.c.id == profile_id)
                .values(**fields, updated_at=now)
                .returning(t.profiles)
            )
            .mappings()
            .one()
        )
        if "tags" in fields:
            self._conn.execute(
                sa.delete(t.profile_tags).where(t.profile_tags.c.profile_id == profile_id)
            )
            self._write_tags(profile_id, fields["tags"])
        return _profile(row)

    def _write_tags(self, profile_id: int, tags: list[str]) -> None:
        unique = list(dict.fromkeys(tags))
        if unique:
            self._conn.execute(
                sa.insert(t.profile_tags),
                [{"profile_id": profile_id, "tag": tag} for tag in unique],
            )

    def delete(self, profile_id: int) -> None:
        self._conn.execute(sa.delete(t.profiles).where(t.profiles.c.id == profile_id))

    def archive(self, profile_id: int, *, now: datetime) -> Profile:
        return self.update(profile_id, fields={"archived_at": now}, now=now)


def _version(row: RowMapping) -> ProfileVersion:
    return ProfileVersion(
        profile_id=row["profile_id"],
        version=row["version"],
        channel=row["channel"],
        changelog=row["changelog"],
        spec=row["spec"],
        metadata=row["metadata"],
        lock=row["lock"],
        created_at=aware(row["created_at"]),
    )


READ_OPTION = "lamina_read"  # set on the connections of read-only units of work


# Published versions by (profile id, version), kept across units of work: a version never
# changes once stored (the database refuses it), is never deleted alone, and ids are never
# reused, so what was read stays true. Only versions read by read-only units of work are
# kept, which see committed rows alone: a version written by a transaction that later rolls
# back is never kept. Bounded in bytes (the JSON of spec and lock).
VersionCache = ByteLru[tuple[int, int], ProfileVersion]
VERSION_CACHE_BYTES = 32 * 2**20


def version_cache() -> VersionCache:
    return ByteLru(VERSION_CACHE_BYTES, _weight)


def _weight(version: ProfileVersion) -> int:
    return len(json.dumps(version.spec, default=str)) + len(json.dumps(version.lock, default=str))


class SqlVersions:
    def __init__(
        self,
        conn: Connection,
        cache: VersionCache | None = None,
        profiles_found: set[int] | None = None,
    ) -> None:
        self._conn = conn
        read_only = bool(conn.get_execution_options().get(READ_OPTION, False))
        self._cache = cache if read_only else None
        self._profiles_found = profiles_found if profiles_found is not None else set()

    def summaries(self, profile_id: int) -> list[VersionSummary]:
        v = t.profile_versions.c
        rows = self._conn.execute(
            sa.select(v.version, v.channel, v.changelog, v.created_at)
            .where(v.profile_id == profile_id)
            .order_by(v.version.desc())
        ).mappings()
        return [
            VersionSummary(
                version=r["version"],
                channel=r["channel"],
                changelog=r["changelog"],
                created_at=aware(r["created_at"]),
            )
            for r in rows
        ]

    def get(self, profile_id: int, version: int) -> ProfileVersion | None:
        # From memory only while the profile is there for this unit of work: a deleted
        # profile's versions are gone from the database, and must not live on in the cache.
        if self._cache is not None:
            held = self._cache.get((profile_id, version))
            if held is not None and self._profile_exists(profile_id):
                return held
        found = self._read(profile_id, version)
        if found is not None and self._cache is not None:
            self._cache.put((profile_id, version), found)
        return found

    def _profile_exists(self, profile_id: int) -> bool:
        """Whether the profile is there in this unit of work: found by it, or asked now (a
        key lookup, cheaper than reading the version's document again)."""
        if profile_id in self._profiles_found:
            return True
        if self._conn.execute(_PROFILE_EXISTS, {"id": profile_id}).first() is None:
            return False
        self._profiles_found.add(profile_id)
        return True

    def _read(self, profile_id: int, version: int) -> ProfileVersion | None:
        found = self._conn.execute(_VERSION, {"profile": profile_id, "version": version})
        row = found.mappings().first()
        return _version(row) if row else None

    def find(self, org_id: int, name: str, version: int) -> ProfileVersion | None:
        v, p = t.profile_versions.c, t.profiles.c
        own_first = sa.case((p.org_id == org_id, 0), else_=1)
        row = (
            self._conn.execute(
                sa.select(t.profile_versions)
                .join(t.profiles, p.id == v.profile_id)
                .where(
                    p.name == name,
                    v.version == version,
                    sa.or_(p.org_id == org_id, p.visibility == Visibility.PUBLIC.value),
                )
                .order_by(own_first, p.id)
                .limit(1)
            )
            .mappings()
            .first()
        )
        return _version(row) if row else None

    def add(self, version: ProfileVersion) -> None:
        self._conn.execute(
            sa.insert(t.profile_versions).values(
                profile_id=version.profile_id,
                version=version.version,
                channel=version.channel,
                changelog=version.changelog,
                spec=version.spec,
                metadata=version.metadata,
                lock=version.lock,
                created_at=version.created_at,
                draft_id=version.draft_id,
            )
        )

    def published_draft(self, org_id: int, draft_id: int) -> tuple[str, int] | None:
        v, p = t.profile_versions.c, t.profiles.c
        row = self._conn.execute(
            sa.select(p.name, v.version)
            .join(t.profiles, p.id == v.profile_id)
            .where(v.draft_id == draft_id, p.org_id == org_id)
        ).first()
        return (row[0], row[1]) if row else None

    def mentioning(self, word: str, *, org_id: int | None) -> list[tuple[int, str, ProfileVersion]]:
        v, p = t.profile_versions.c, t.profiles.c
        quoted = json.dumps(word)
        where = [
            sa.or_(
                sa.cast(v.spec, sa.Text).contains(quoted, autoescape=True),
                sa.cast(v.lock, sa.Text).contains(quoted, autoescape=True),
            )
        ]
        if org_id is not None:
            where.append(p.org_id == org_id)
        rows = self._conn.execute(
            sa.select(t.profile_versions, p.org_id, p.name.label("profile_name"))
            .join(t.profiles, p.id == v.profile_id)
            .where(*where)
            .order_by(p.name, v.version)
        ).mappings()
        return [(r["org_id"], r["profile_name"], _version(r)) for r in rows]


def _draft(row: RowMapping) -> Draft:
    return Draft(
        id=row["id"],
        org_id=row["org_id"],
        name=row["name"],
        profile_id=row["profile_id"],
        base_version=row["base_version"],
        metadata=row["metadata"],
        spec=row["spec"],
        version=row["version"],
        created_at=aware(row["created_at"]),
        updated_at=aware(row["updated_at"]),
    )


class SqlDrafts:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def page(self, org_id: int, *, page: int, page_size: int, name: str | None) -> Page[Draft]:
        d = t.drafts.c
        where = [d.org_id == org_id]
        if name is not None:
            where.append(d.name == name)
        total = self._conn.execute(
            sa.select(sa.func.count()).select_from(t.drafts).where(*where)
        ).scalar_one()
        rows = self._conn.execute(
            sa.select(t.drafts)
            .where(*where)
            .order_by(d.updated_at.desc(), d.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).mappings()
        return Page(
            items=[_draft(r) for r in rows], total_count=total, page=page, page_size=page_size
        )

    def get(self, org_id: int, draft_id: int) -> Draft | None:
        d = t.drafts.c
        row = (
            self._conn.execute(sa.select(t.drafts).where(d.id == draft_id, d.org_id == org_id))
            .mappings()
            .first()
        )
        return _draft(row) if row else None

    def create(self, draft: Draft) -> Draft:
        row = (
            self._conn.execute(
                sa.insert(t.drafts)
                .values(
                    org_id=draft.org_id,
                    name=draft.name,
                    profile_id=draft.profile_id,
                    base_version=draft.base_version,
                    metadata=draft.metadata,
                    spec=draft.spec,
                    version=1,
                    created_at=draft.created_at,
                    updated_at=draft.updated_at,
                )
                .returning(t.drafts)
            )
            .mappings()
            .one()
        )
        return _draft(row)

    def update(self, draft: Draft, *, expected_version: int) -> Draft:
        d = t.drafts.c
        row = (
            self._conn.execute(
                sa.update(t.drafts)
                .where(d.id == draft.id, d.org_id == draft.org_id, d.version == expected_version)
                .values(
                    name=draft.name,
                    metadata=draft.metadata,
                    spec=draft.spec,
                    version=expected_version + 1,
                    updated_at=draft.updated_at,
                )
                .returning(t.drafts)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise StaleWrite(
                f"Draft {draft.id} changed since version {expected_version}; "
                "reload it and apply your change again"
            )
        return _draft(row)

    def delete(self, org_id: int, draft_id: int, *, expected_version: int | None = None) -> bool:
        d = t.drafts.c
        where = [d.id == draft_id, d.org_id == org_id]
        if expected_version is not None:
            where.append(d.version == expected_version)
        result = self._conn.execute(sa.delete(t.drafts).where(*where))
        return bool(result.rowcount)

    def mentioning(self, org_id: int, word: str) -> list[Draft]:
        d = t.drafts.c
        quoted = json.dumps(word)
        rows = self._conn.execute(
            sa.select(t.drafts)
            .where(d.org_id == org_id, sa.cast(d.spec, sa.Text).contains(quoted, autoescape=True))
            .order_by(d.name, d.id)
        ).mappings()
        return [_draft(r) for r in rows]


class SqlUnitOfWork:
    def __init__(
        self,
        conn: Connection,
        versions: VersionCache | None = None,
        contents: ContentMemo | None = None,
    ) -> None:
        self.orgs = SqlOrgs(conn)
        self.tokens = SqlTokens(conn)
        self.audit = SqlAudit(conn)
        found: set[int] = set()
        self.profiles = SqlProfiles(conn, found)
        self.versions = SqlVersions(conn, versions, found)
        self.drafts = SqlDrafts(conn)
        self.registries = SqlRegistries(conn)
        self.clusters = SqlClusters(conn)
        self._contents = Contents(conn, contents)
        self.stacks = SqlStacks(conn, self._contents)
        self.renders = SqlRenders(conn, self._contents)
        self.jobs = SqlJobs(conn)
        self.catalog = SqlCatalog(conn)

    def committed(self) -> None:
        """Told by the store once this unit's transaction has committed."""
        self._contents.committed()
