"""Profile search through the search index, in-process, on SQLite and PostgreSQL.

Target: with 10,000 profiles, a search (count + page of 50) answers in <= 10 ms median on
either store. The same searches through the LIKE scan the index replaced are timed in the
same run as the baseline. PostgreSQL runs when LAMINA_TEST_DATABASE_URL names a server; it
uses a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from lamina.adapters.store import tables as t
from lamina.adapters.store.engine import SqlStore, create_store
from lamina.domain.models import ProfileQuery

PROFILES = 10_000
SEARCHES = 200
WORDS = [
    "redis",
    "postgres",
    "kafka",
    "nginx",
    "ingress",
    "cert",
    "manager",
    "prometheus",
    "grafana",
    "loki",
    "tempo",
    "vault",
    "consul",
    "istio",
    "linkerd",
    "argo",
    "flux",
    "velero",
    "harbor",
    "keycloak",
    "minio",
    "elastic",
    "opensearch",
]


def populate(store: SqlStore) -> int:
    """One org of PROFILES profiles, inserted in bulk (the benchmark times reads)."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    with store.unit_of_work(write=True) as uow:
        org_id = uow.orgs.create(slug="bench", name="Bench").id
    rows = []
    for i in range(PROFILES):
        a, b, c = rng.sample(WORDS, 3)
        rows.append(
            {
                "org_id": org_id,
                "name": f"{a}-{b}-{i:05d}",
                "description": f"The {a} stack with {b} and {c}, tuned for team {i % 300}. "
                "It carries the defaults most clusters of this kind need.",
                "category": "apps",
                "tags": [],
                "visibility": "organisation",
                "type": "add-on",
                "latest_version": 1,
                "current_version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    with store.engine.begin() as conn:
        conn.execute(sa.insert(t.profiles), rows)
        conn.exec_driver_sql("ANALYZE")
    return org_id


def search_terms() -> list[str]:
    rng = random.Random(11)
    terms = []
    for n in range(SEARCHES):
        kind = n % 4
        if kind == 0:
            terms.append(rng.choice(WORDS))  # about 1 profile in 8
        elif kind == 1:
            terms.append(f"{rng.randrange(PROFILES):05d}")  # one profile
        elif kind == 2:
            terms.append(f"team {rng.randrange(300)}.")  # a few dozen
        else:
            terms.append(f"absent{n}")  # none
    return terms


def legacy_page(store: SqlStore, org_id: int, text: str) -> None:
    """The search as it was before the index: LIKE over every row of the org."""
    p = t.profiles.c
    where = [
        p.org_id == org_id,
        p.archived_at.is_(None),
        sa.or_(
            p.name.icontains(text, autoescape=True), p.description.icontains(text, autoescape=True)
        ),
    ]
    # A transaction of its own (opened as for a write, though it writes nothing): SET LOCAL
    # lasts only to its end, and read-only units run without one.
    with store.unit_of_work(write=True) as uow:
        conn = uow.profiles._conn  # type: ignore[attr-defined]
        if store.dialect == "postgresql":
            # The same ILIKE now finds the trigram indexes: plan as before they existed.
            conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        conn.execute(sa.select(sa.func.count()).select_from(t.profiles).where(*where)).scalar_one()
        conn.execute(sa.select(t.profiles).where(*where).order_by(p.name, p.id).limit(50)).all()


def indexed_page(store: SqlStore, org_id: int, text: str) -> None:
    with store.unit_of_work() as uow:
        uow.profiles.page(org_id, ProfileQuery(search=text, page_size=50))


def percentiles(action: Callable[[str], None], terms: list[str]) -> tuple[float, float]:
    for term in terms[:10]:
        action(term)  # warm caches and pools
    samples = []
    for term in terms:
        start = time.perf_counter()
        action(term)
        samples.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(samples, n=20)
    return statistics.median(samples), cuts[18]


def report(label: str, store: SqlStore) -> None:
    started = time.perf_counter()
    org_id = populate(store)
    print(f"{label}: populated {PROFILES} profiles in {time.perf_counter() - started:.1f} s")
    terms = search_terms()
    old50, old95 = percentiles(lambda term: legacy_page(store, org_id, term), terms)
    new50, new95 = percentiles(lambda term: indexed_page(store, org_id, term), terms)
    print(f"{label}: LIKE scan (before)   p50 {old50:6.2f} ms  p95 {old95:6.2f} ms")
    print(
        f"{label}: search index         p50 {new50:6.2f} ms  p95 {new95:6.2f} ms "
        f"(target p50 <= 10 ms; {old50 / new50:.1f}x faster)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = create_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.migrate()
        report("sqlite", store)
        store.dispose()
    url = os.environ.get("LAMINA_TEST_DATABASE_URL")
    if not url:
        print("postgresql: skipped (set LAMINA_TEST_DATABASE_URL)")
        return
    schema = f"lamina_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        store = create_store(url, schema=schema)
        store.migrate()
        report("postgresql", store)
        store.dispose()
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
