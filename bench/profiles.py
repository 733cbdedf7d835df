"""Profile list and IaC round trip, in-process on SQLite.

Targets (issue: stack profile core): with 10,000 profiles of 5 versions each, a list page of
50 answers in <= 25 ms median; exporting and re-importing a 50-layer profile takes <= 50 ms.
A health request through the same stack is timed as the baseline of the HTTP layer.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from lamina.adapters import yamlio
from lamina.api.app import create_app
from lamina.config import Services, Settings, build_services
from lamina.domain.models import ProfileVersion, Role
from lamina.services import auth
from tests.documents import numbered

PROFILES = 10_000
VERSIONS = 5
API = "/api/v1/org/stack-profiles"


def populate(wired: Services, org_id: int) -> None:
    """Write the profiles straight through the store: the benchmark times reads, not this."""
    now = datetime.now(UTC)
    doc = numbered("seed", layers=3)
    with wired.store.unit_of_work(write=True) as uow:
        for i in range(PROFILES):
            profile = uow.profiles.create(
                org_id=org_id,
                fields={
                    "name": f"profile-{i:05d}",
                    "description": f"Benchmark profile number {i}",
                    "category": ("platform", "monitoring", "security", "apps")[i % 4],
                    "tags": ["bench", f"t{i % 10}"],
                    "visibility": "organisation",
                    "type": "add-on",
                    "latest_version": VERSIONS,
                    "current_version": VERSIONS,
                },
                now=now,
            )
            for n in range(1, VERSIONS + 1):
                uow.versions.add(
                    ProfileVersion(
                        profile.id, n, "stable", f"v{n}", doc["spec"], doc["metadata"], now
                    )
                )


def median_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm caches and pools
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        wired = build_services(Settings(database_url=url, demo=False))
        token = auth.create_token(wired.store, org_slug="bench", role=Role.ADMIN)
        principal = auth.authenticate(wired.store, token)
        started = time.perf_counter()
        populate(wired, principal.org_id)
        print(
            f"populated {PROFILES} profiles x {VERSIONS} versions in "
            f"{time.perf_counter() - started:.1f} s"
        )
        http = TestClient(create_app(wired), headers={"Authorization": f"Bearer {token}"})
        report_list(http)
        report_round_trip(http)
        wired.store.dispose()


def report_list(http: TestClient) -> None:
    pages = iter(range(10_000))

    def list_page() -> None:
        page = next(pages) % (PROFILES // 50) + 1
        response = http.get(API, params={"page": page, "page_size": 50})
        assert response.status_code == 200 and len(response.json()["result"]) == 50

    def search() -> None:
        response = http.get(API, params={"search": "number 77", "tag": "t7", "page_size": 50})
        assert response.status_code == 200

    baseline = median_ms(lambda: http.get("/api/v1/org"), 200)
    listing = median_ms(list_page, 200)
    searching = median_ms(search, 100)
    print(f"baseline: authenticated GET /api/v1/org      median {baseline:6.2f} ms")
    print(
        f"list page of 50 (10,000 profiles)           median {listing:6.2f} ms "
        f"(target <= 25 ms; {listing / baseline:.1f}x baseline)"
    )
    print(f"search + tag filter, page of 50             median {searching:6.2f} ms")


def report_round_trip(http: TestClient) -> None:
    big = numbered("fifty-layers", layers=50)
    first = http.post(f"{API}/import", content=yamlio.dump(big))
    assert first.status_code == 201, first.text
    profile_id = first.json()["profile"]["id"]

    def round_trip() -> None:
        exported = http.get(f"{API}/{profile_id}/versions/1/iac-export")
        again = http.post(f"{API}/import", content=exported.content)
        # the same document again: parsed, checked and found equal to version 1 (200)
        assert again.status_code == 200 and again.json()["unchanged"], again.text

    took = median_ms(round_trip, 30)
    print(f"export + re-import of a 50-layer profile     median {took:6.2f} ms (target <= 50 ms)")
