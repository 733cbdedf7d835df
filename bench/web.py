"""Web UI page times and weight.

Targets (issue: web UI): with 10,000 profiles and 10,000 instantiations, the catalog and
profile pages answer in <= 50 ms median server time (the page's own `Server-Timing`),
the review page of a 10-layer real-chart stack draft in <= 150 ms, and the catalog's total
page weight (HTML, stylesheet and scripts) is <= 300 KB. Measured on SQLite, and on
PostgreSQL when LAMINA_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
import uuid
import warnings
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.fleet import _services, populate
from bench.rollout import _setup
from lamina.api.app import create_app
from lamina.api.deps import SESSION_COOKIE
from lamina.config import Services
from lamina.domain.models import Role
from lamina.services import auth
from tests.fixtures.gitrepos import BareRepo

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

PROFILES = 10_000
RUNS = 100
PAGE_TARGET_MS = 50.0
REVIEW_TARGET_MS = 150.0
WEIGHT_TARGET_KB = 300.0


def main() -> None:
    for label, url in (
        ("SQLite", None),
        ("PostgreSQL", os.environ.get("LAMINA_TEST_DATABASE_URL")),
    ):
        if label == "PostgreSQL" and not url:
            print("PostgreSQL: set LAMINA_TEST_DATABASE_URL to measure it")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            report_pages(label, url, Path(tmp))
    with tempfile.TemporaryDirectory() as tmp:
        report_review(Path(tmp))


def browser(wired: Services, token: str) -> TestClient:
    """An in-process client holding a session cookie, as a signed-in browser would."""
    opened = wired.sessions.open(token)
    client = TestClient(create_app(wired), follow_redirects=False)
    client.cookies.set(SESSION_COOKIE, opened.cookie)
    return client


def server_ms(client: TestClient, paths: list[str], runs: int = RUNS) -> float:
    """Median of the pages' own Server-Timing over `runs` requests cycling through paths."""
    client.get(paths[0])
    samples = []
    for i in range(runs):
        answer = client.get(paths[i % len(paths)])
        if answer.status_code != 200:
            raise RuntimeError(f"{paths[i % len(paths)]}: {answer.status_code} {answer.text[:300]}")
        found = re.search(r"dur=([\d.]+)", answer.headers["server-timing"])
        assert found
        samples.append(float(found.group(1)))
    return statistics.median(samples)


def weight_kb(client: TestClient, path: str) -> float:
    """The page's HTML plus every local stylesheet and script it loads."""
    html = client.get(path).text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    return (len(html.encode()) + sum(len(client.get(a).content) for a in assets)) / 1024


def report_pages(label: str, url: str | None, tmp: Path) -> None:
    schema = None
    admin: Any = None
    if url:
        schema = f"lamina_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        wired = _services(tmp, url, schema)
        token = auth.create_token(wired.store, org_slug="bench", role=Role.ADMIN)
        who = auth.authenticate(wired.store, token)
        populate(wired, who.org_id, profiles=PROFILES)
        client = browser(wired, token)
        catalog = server_ms(client, ["/", "/?page=2", "/?search=p001", "/?page=300"])
        profile = server_ms(client, [f"/profiles/p{i:05d}" for i in range(0, 100, 7)])
        weight = weight_kb(client, "/")
        print(
            f"{label}: {PROFILES} profiles, 10,000 instantiations: catalog median "
            f"{catalog:.1f} ms, "
            f"profile page median {profile:.1f} ms (target <= {PAGE_TARGET_MS:.0f} ms: "
            f"{'ok' if max(catalog, profile) <= PAGE_TARGET_MS else 'over'}); catalog page "
            f"weight {weight:.1f} KB (target <= {WEIGHT_TARGET_KB:.0f} KB)"
        )
        wired.store.dispose()
    finally:
        if admin is not None:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()


def report_review(workdir: Path) -> None:
    """The review page of a stack draft of bench/rollout.py's 10-layer real-chart stack."""
    wired, who, profile_id, _ = _setup(workdir)
    try:
        remote = BareRepo(workdir / "review.git")
        cluster = wired.clusters.create(
            who, {"name": "review", "gitops": {"url": remote.url, "path": "clusters"}}
        )
        made = wired.stacks.instantiate(
            who, cluster.id, profile_id=profile_id, version=None, parameters={}, values={}
        )
        token = auth.create_token(wired.store, org_slug="bench", role=Role.ADMIN)
        client = browser(wired, token)
        path = f"/clusters/review/drafts/{made.draft.id}"
        review = server_ms(client, [path], runs=40)
        size = len(client.get(path).content) / 1024
        print(
            f"review page of a 10-layer stack draft: median {review:.1f} ms (target <= "
            f"{REVIEW_TARGET_MS:.0f} ms: {'ok' if review <= REVIEW_TARGET_MS else 'over'}); "
            f"{size:.0f} KB of HTML"
        )
    finally:
        wired.store.dispose()
