"""Fleet delivery and update tracking.

Targets (issue: clusters and GitOps delivery):
- instantiating and committing one profile on 1,000 clusters: clusters per second, the split
  between render, Git and database, and the per-cluster cost falling as the render cache
  warms (first 10 against last 10);
- with 10,000 instantiations over 100 profiles, the profile list and the profile detail
  (with update status) answer in <= 30 ms median, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import resource
import statistics
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lamina.adapters.store import tables as t
from lamina.api.app import create_app
from lamina.config import Services, Settings, build_services
from lamina.domain.models import Role
from lamina.services import auth
from tests import documents
from tests.fixtures.chartrepo import ChartRepoServer
from tests.fixtures.charts import package_test_charts
from tests.fixtures.gitrepos import BareRepo

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

CLUSTERS = int(os.environ.get("LAMINA_BENCH_CLUSTERS", "1000"))
PROFILES = 100
INSTANTIATIONS = 10_000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        report_delivery(Path(tmp))
    for label, url in (
        ("SQLite", None),
        ("PostgreSQL", os.environ.get("LAMINA_TEST_DATABASE_URL")),
    ):
        if label == "PostgreSQL" and not url:
            print("PostgreSQL: set LAMINA_TEST_DATABASE_URL to measure it")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            report_tracking(label, url, Path(tmp))


def _services(tmp: Path, url: str | None = None, schema: str | None = None) -> Services:
    settings = Settings(
        database_url=url or f"sqlite:///{tmp / 'bench.db'}",
        schema=schema,
        demo=False,
        data_dir=tmp / "data",
        allow_local_targets=True,
        local_roots=(tmp,),
    )
    return build_services(settings)


@contextlib.contextmanager
def bench_org(tmp: Path, doc: Any) -> Iterator[tuple[Services, Any, Any, BareRepo]]:
    """A served chart repository, an SQLite store with an admin of org `bench`, the profile
    `doc()` makes (once the repository's URL is known), and an empty Git remote:
    (services, admin, profile, remote)."""
    archives = package_test_charts(tmp / "archives")
    with ChartRepoServer(archives.values()) as repo:
        documents.CHART_REPO = repo.url
        wired = _services(tmp)
        token = auth.create_token(wired.store, org_slug="bench", role=Role.ADMIN)
        who = auth.authenticate(wired.store, token)
        profile, _ = wired.profiles.import_document(who, doc())
        try:
            yield wired, who, profile, BareRepo(tmp / "fleet.git")
        finally:
            wired.store.dispose()


def report_delivery(tmp: Path) -> None:
    with bench_org(tmp, documents.web_platform) as (wired, who, profile, git):
        costs: list[float] = []
        renders: list[float] = []
        started = time.perf_counter()
        for index in range(CLUSTERS):
            begun = time.perf_counter()
            rendered_before = wired.stacks.timings["render"]
            cluster = wired.clusters.create(
                who,
                {
                    "name": f"c{index:04d}",
                    "labels": {"ring": str(index % 3)},
                    "kubernetes_version": "1.31.2",
                    "gitops": {"url": git.url, "path": "clusters"},
                },
            )
            parameters = {"domain": f"c{index}.example.com", "admin_password": "pw"}
            result = wired.stacks.instantiate(
                who,
                cluster.id,
                profile_id=profile.id,
                version=None,
                parameters=parameters,
                values={},
            )
            wired.stacks.commit(who, cluster.id, result.draft.id)
            costs.append(time.perf_counter() - begun)
            renders.append(wired.stacks.timings["render"] - rendered_before)
        total = time.perf_counter() - started
        split = wired.stacks.timings
        print(
            f"{CLUSTERS} clusters instantiated and committed in {total:.1f} s "
            f"= {CLUSTERS / total:.1f} clusters/s"
        )
        print(
            "  split: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in split.items())
            + f", other {total - sum(split.values()):.1f} s"
        )
        first, last = statistics.mean(costs[:10]), statistics.mean(costs[-10:])
        print(
            f"  per cluster: first 10 {first * 1000:.1f} ms, last 10 {last * 1000:.1f} ms "
            f"(render cache hits {wired.render.cache_hits})"
        )
        first_r, last_r = statistics.mean(renders[:10]), statistics.mean(renders[-10:])
        print(
            f"  render per cluster: first {renders[0] * 1000:.2f} ms (cold), "
            f"first 10 {first_r * 1000:.2f} ms, "
            f"last 10 {last_r * 1000:.2f} ms (Git grows with the clusters sharing one repository)"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"  peak RSS of this process {peak:.0f} MB (render cache holds "
            f"{wired.render.cache_bytes / 2**20:.0f} MB by its estimate; target <= 400 MB)"
        )


def report_tracking(label: str, url: str | None, tmp: Path) -> None:
    schema = None
    if url:
        schema = f"lamina_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        wired = _services(tmp, url, schema)
        token = auth.create_token(wired.store, org_slug="bench", role=Role.ADMIN)
        who = auth.authenticate(wired.store, token)
        populate(wired, who.org_id)
        http = TestClient(create_app(wired), headers={"Authorization": f"Bearer {token}"})
        api = "/api/v1/org/stack-profiles"
        listing = median_ms(lambda i: http.get(api, params={"page": i % 2 + 1, "page_size": 50}))
        detail = median_ms(lambda i: http.get(f"{api}/{i % PROFILES + 1}"))
        sample = http.get(f"{api}/1").json()["update_status"]
        print(
            f"{label}: {INSTANTIATIONS} instantiations over {PROFILES} profiles: "
            f"list median {listing:.2f} ms, detail median {detail:.2f} ms (target <= 30 ms); "
            f"profile 1 update status {sample}"
        )
        wired.store.dispose()
    finally:
        if url and schema:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()


def populate(wired: Services, org_id: int, profiles: int = PROFILES) -> None:
    """`profiles` profiles with 3 versions each, 1,000 clusters, 10 instantiations per
    cluster (spread over the first 100 profiles)."""
    now = datetime.now(UTC)
    doc = documents.numbered("seed", layers=2)
    clusters = INSTANTIATIONS // 10
    with wired.store.engine.begin() as conn:
        conn.execute(
            sa.insert(t.profiles),
            [
                {
                    "org_id": org_id,
                    "name": f"p{i:05d}",
                    "description": "",
                    "category": "apps",
                    "tags": [],
                    "visibility": "organisation",
                    "type": "add-on",
                    "latest_version": 3,
                    "current_version": 3,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(profiles)
            ],
        )
        ids = [r[0] for r in conn.execute(sa.select(t.profiles.c.id).order_by(t.profiles.c.id))]
        conn.execute(
            sa.insert(t.profile_versions),
            [
                {
                    "profile_id": pid,
                    "version": n,
                    "channel": "stable",
                    "changelog": "",
                    "spec": doc["spec"],
                    "metadata": doc["metadata"],
                    "lock": None,
                    "created_at": now,
                }
                for pid in ids
                for n in (1, 2, 3)
            ],
        )
        conn.execute(
            sa.insert(t.clusters),
            [
                {
                    "org_id": org_id,
                    "name": f"c{i:04d}",
                    "labels": {},
                    "kubernetes_version": "",
                    "git_url": "file:///dev/null",
                    "git_branch": "main",
                    "git_path": "clusters",
                    "git_mode": "rendered",
                    "git_username": None,
                    "git_token_sealed": None,
                    "revision": 1,
                    "commit_sha": None,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(clusters)
            ],
        )
        cluster_ids = [r[0] for r in conn.execute(sa.select(t.clusters.c.id))]
        rows: list[dict[str, Any]] = [
            {
                "org_id": org_id,
                "cluster_id": cid,
                "profile_id": ids[(k + j * 10) % min(PROFILES, profiles)],
                "version": 1 + (k + j) % 3,
                "bindings": {},
                "secrets_sealed": {},
                "overrides": {},
                "committed_at": now,
            }
            for k, cid in enumerate(cluster_ids)
            for j in range(10)
        ]
        conn.execute(sa.insert(t.instantiations), rows)


def median_ms(action: Any, runs: int = 200) -> float:
    action(0)
    samples = []
    for i in range(runs):
        start = time.perf_counter()
        response = action(i)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text
    return statistics.median(samples)
