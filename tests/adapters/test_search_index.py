"""Profile and pack search answer from the search index (FTS5 trigram on SQLite, pg_trgm on
PostgreSQL) with exactly the rows of a substring scan."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from lamina.adapters.store import tables as t
from lamina.config import Services
from lamina.domain.models import PackVersion, ProfileQuery, Registry, RegistryKind

NOW = datetime(2026, 1, 1, tzinfo=UTC)

WORDS = [
    "redis",
    "Redis-Cluster",
    "REDIS_cache",
    "postgres",
    "PostgreSQL operator",
    "100% uptime",
    "50%_off",
    "under_score",
    "back\\slash",
    'say "hello"',
    "it's quoted",
    "a*b star",
    "AND OR NOT",
    "col:on",
    "minus-sign",
    "NEAR(x y)",
    "café crème",
    "CAFÉ",
    "Größe",
    "日本語テキスト",
    "emoji 🚀 rocket",
    "ÉCOLE école",
    "  spaced  out ",
    "x",
    "ab",
]

SEARCHES = [
    "r",
    "R",
    "re",
    "RE",
    "%",
    "_",
    "\\",
    '"',
    "'",
    "*",
    "%_",
    "redis",
    "REDIS",
    "rEdIs-c",
    "cache",
    "100%",
    "0%_",
    "%_o",
    "r_s",
    "der_",
    "back\\",
    "\\sl",
    '"hello"',
    'say "',
    '""',
    "it's",
    "a*b",
    "a*",
    "AND",
    "and or",
    "NOT",
    "col:on",
    "col:",
    "-sign",
    "minus-",
    "NEAR(",
    "x y)",
    "café",
    "CAFÉ",
    "afé",
    "größe",
    "GRÖSSE",
    "日本",
    "本語テ",
    "🚀",
    "🚀 r",
    "école",
    "ÉCOLE",
    "  spaced",
    "  ",
    "number 7",
    "profile-01",
    "absent-text",
    "zzz",
    "qq",
]


def _ascii_fold(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def _fold(services: Services) -> Any:
    # Today's semantics: SQLite's LIKE ignores ASCII case only; PostgreSQL's ILIKE ignores
    # the case of any letter its locale knows.
    return _ascii_fold if services.store.dialect == "sqlite" else str.lower


def _seed_profiles(services: Services) -> tuple[int, dict[int, tuple[str, str]]]:
    rows: dict[int, tuple[str, str]] = {}
    with services.store.unit_of_work(write=True) as uow:
        org = uow.orgs.create(slug="acme", name="Acme")
        other = uow.orgs.create(slug="other", name="Other")
        for i in range(300):
            word = WORDS[i % len(WORDS)]
            other_word = WORDS[(i * 7 + 3) % len(WORDS)]
            name = f"{word[:40]} profile-{i:03d}" if i % 3 else f"profile-{i:03d}"
            description = f"{other_word} number {i}" if i % 2 else word
            owner = other.id if i % 10 == 9 else org.id
            visibility = "public" if i % 20 == 19 else "organisation"
            profile = uow.profiles.create(
                org_id=owner,
                fields={
                    "name": name,
                    "description": description,
                    "category": "apps",
                    "tags": [],
                    "visibility": visibility,
                    "type": "add-on",
                    "latest_version": 1,
                    "current_version": 1,
                },
                now=NOW,
            )
            if owner == org.id or visibility == "public":
                rows[profile.id] = (name, description)
            if i % 25 == 24 and owner == org.id:
                uow.profiles.archive(profile.id, now=NOW)
                del rows[profile.id]
    return org.id, rows


def _in_store_order(services: Services, ids: set[int]) -> list[int]:
    """`ids` in the order the list uses (name, id), as the database collates names."""
    with services.store.engine.connect() as conn:
        ordered = conn.execute(
            sa.select(t.profiles.c.id).order_by(t.profiles.c.name, t.profiles.c.id)
        ).scalars()
        return [i for i in ordered if i in ids]


def _legacy_scan(services: Services, org_id: int, text: str) -> list[int]:
    """The search as it was before the index: a LIKE scan of the table."""
    p = t.profiles.c
    query = (
        sa.select(p.id)
        .where(
            sa.or_(p.org_id == org_id, p.visibility == "public"),
            p.archived_at.is_(None),
            sa.or_(
                p.name.icontains(text, autoescape=True),
                p.description.icontains(text, autoescape=True),
            ),
        )
        .order_by(p.name, p.id)
    )
    with services.store.engine.connect() as conn:
        return list(conn.execute(query).scalars())


def _search(
    services: Services, org_id: int, text: str, *, size: int = 1000, page: int = 1
) -> tuple[list[int], int]:
    query = ProfileQuery(search=text, include_public=True, page_size=size, page=page)
    with services.store.unit_of_work() as uow:
        page = uow.profiles.page(org_id, query)
    return [p.id for p in page.items], page.total_count


def test_search_returns_the_rows_of_a_substring_filter(services: Services) -> None:
    org_id, rows = _seed_profiles(services)
    fold = _fold(services)
    for text in SEARCHES:
        wanted = {i for i, (n, d) in rows.items() if fold(text) in fold(n) or fold(text) in fold(d)}
        expected = _in_store_order(services, wanted)
        found, total = _search(services, org_id, text)
        assert (found, total) == (expected, len(expected)), text
        assert found == _legacy_scan(services, org_id, text), text
    assert any(_search(services, org_id, text)[1] for text in SEARCHES if len(text) >= 3)


def test_search_pages_keep_their_order(services: Services) -> None:
    org_id, _rows = _seed_profiles(services)
    everything, total = _search(services, org_id, "profile-")
    assert total == len(everything) > 100
    paged: list[int] = []
    for number in range(1, total // 40 + 2):
        ids, page_total = _search(services, org_id, "profile-", size=40, page=number)
        assert page_total == total
        paged.extend(ids)
    assert paged == everything


def test_a_renamed_or_deleted_profile_leaves_the_index(services: Services) -> None:
    with services.store.unit_of_work(write=True) as uow:
        org = uow.orgs.create(slug="acme", name="Acme")
        fields = {
            "category": "apps",
            "tags": [],
            "visibility": "organisation",
            "type": "add-on",
            "latest_version": 1,
            "current_version": 1,
        }
        first = uow.profiles.create(
            org_id=org.id,
            fields={**fields, "name": "alpha-old", "description": "first text"},
            now=NOW,
        )
        second = uow.profiles.create(
            org_id=org.id,
            fields={**fields, "name": "bravo", "description": "doomed words"},
            now=NOW,
        )
    assert _search(services, org.id, "alpha-old") == ([first.id], 1)
    with services.store.unit_of_work(write=True) as uow:
        uow.profiles.update(
            first.id, fields={"name": "gamma-new", "description": "second text"}, now=NOW
        )
        uow.profiles.update(second.id, fields={"latest_version": 2}, now=NOW)
    assert _search(services, org.id, "alpha-old") == ([], 0)
    assert _search(services, org.id, "first text") == ([], 0)
    assert _search(services, org.id, "gamma-new") == ([first.id], 1)
    assert _search(services, org.id, "second t") == ([first.id], 1)
    assert _search(services, org.id, "doomed") == ([second.id], 1)
    with services.store.unit_of_work(write=True) as uow:
        uow.profiles.delete(second.id)
    assert _search(services, org.id, "doomed") == ([], 0)
    assert _search(services, org.id, "text") == ([first.id], 1)


def test_pack_search_returns_the_rows_of_a_substring_filter(services: Services) -> None:
    with services.store.unit_of_work(write=True) as uow:
        org = uow.orgs.create(slug="acme", name="Acme")
        registries = [
            uow.registries.create(
                Registry(
                    0,
                    org.id,
                    name,
                    RegistryKind.HELM,
                    f"https://{name}.test",
                    None,
                    None,
                    (),
                    None,
                    None,
                    NOW,
                )
            )
            for name in ("main", "mirror")
        ]
        packs: list[tuple[str, str, str]] = []
        for n, registry in enumerate(registries):
            versions = []
            latest = set()
            for i in range(120):
                name = f"{WORDS[(i + n) % len(WORDS)][:30]}-{i:03d}"
                description = WORDS[(i * 5 + n) % len(WORDS)]
                for version in ("1.0.0", "2.0.0"):
                    # The older version says something else: only the latest is searched.
                    text = description if version == "2.0.0" else "stale words"
                    versions.append(PackVersion(name, version, description=text))
                latest.add((name, "2.0.0"))
                packs.append((registry.name, name, description))
            uow.registries.replace_packs(registry.id, versions, latest)
    fold = _fold(services)
    for text in [*SEARCHES, "stale"]:
        wanted = {(r, n) for r, n, d in packs if fold(text) in fold(n) or fold(text) in fold(d)}
        with services.store.unit_of_work() as uow:
            page = uow.registries.packs(org.id, search=text, registry=None, page=1, page_size=1000)
        found = [(s.registry, s.pack.name) for s in page.items]
        assert set(found) == wanted and len(found) == len(wanted) == page.total_count, text
        assert all(s.pack.version == "2.0.0" for s in page.items)
    with services.store.unit_of_work() as uow:
        first = uow.registries.packs(org.id, search="redis", registry="main", page=1, page_size=2)
    assert first.total_count > 2 and [s.registry for s in first.items] == ["main", "main"]


@contextmanager
def _statements(services: Services) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        seen.append((args[2], args[3]))

    event.listen(services.store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(services.store.engine, "before_cursor_execute", record)


def test_search_of_10000_profiles_uses_the_index(services: Services) -> None:
    with services.store.unit_of_work(write=True) as uow:
        org = uow.orgs.create(slug="acme", name="Acme")
    with services.store.engine.begin() as conn:
        conn.execute(
            sa.insert(t.profiles),
            [
                {
                    "org_id": org.id,
                    "name": f"profile-{i:05d}",
                    "description": f"Profile number {i} of kind k{i % 97}",
                    "category": "apps",
                    "tags": [],
                    "visibility": "organisation",
                    "type": "add-on",
                    "latest_version": 1,
                    "current_version": 1,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in range(10_000)
            ],
        )
        conn.exec_driver_sql("ANALYZE")
    with _statements(services) as seen:
        assert _search(services, org.id, "01234") == (_legacy_scan(services, org.id, "01234"), 1)
    statements = [(sql, params) for sql, params in seen if "count(" in sql.lower()]
    assert statements
    sql, params = statements[0]
    with services.store.engine.connect() as conn:
        if services.store.dialect == "sqlite":
            plan = " ".join(
                str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
            )
            assert "profiles_fts VIRTUAL TABLE" in plan and "INTEGER PRIMARY KEY" in plan, plan
        else:
            plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params))
            assert "ix_profiles_name_trgm" in plan and "ix_profiles_description_trgm" in plan, plan
