"""The lock shows in a version's detail: each chart as requested and as pinned at publish."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from lamina.adapters.helm import HelmEngine
from lamina.config import Services
from tests import documents
from tests.api.test_journey import PROFILES, import_doc
from tests.api.test_render import chart_layer, config_map, manifests_layer, ok, stack


def publish(http: httpx.Client, doc: Any) -> tuple[int, int]:
    response = import_doc(http, doc)
    assert response.status_code == 201, response.text
    return response.json()["profile"]["id"], response.json()["version"]["version"]


def digest_of(archive: Path) -> str:
    return HelmEngine().digest(archive.read_bytes())


def test_version_detail_shows_what_a_range_was_pinned_to(
    client: httpx.Client, chart_archives: dict[str, Path]
) -> None:
    doc = stack(
        "pinned",
        chart_layer("web", documents.CHART_REPO, version="^1.0.0"),
        manifests_layer("extra", config_map("extra")),
    )
    profile_id, number = publish(client, doc)
    detail = ok(client.get(f"{PROFILES}/{profile_id}/versions/{number}"))
    assert detail["lock"] == [
        {
            "layer": "web",
            "repository": documents.CHART_REPO,
            "chart": "webapp",
            "constraint": "^1.0.0",
            "version": "1.1.0",
            "digest": digest_of(chart_archives["webapp-1.1.0"]),
            "profile": None,
        }
    ]
    latest = ok(client.get(f"{PROFILES}/{profile_id}"))["latest_version_detail"]
    assert latest["lock"] == detail["lock"]


def test_nested_profile_layers_show_the_nested_versions_pins(
    client: httpx.Client, chart_archives: dict[str, Path]
) -> None:
    publish(client, stack("base", chart_layer("ingress", documents.CHART_REPO, version="~1.0.0")))
    top = stack(
        "platform",
        {"name": "core", "profile": {"name": "base", "version": 1}},
        chart_layer("web", documents.CHART_REPO, version="1.1.0"),
    )
    profile_id, number = publish(client, top)
    rows = ok(client.get(f"{PROFILES}/{profile_id}/versions/{number}"))["lock"]
    assert [(r["layer"], r["constraint"], r["version"], r["profile"]) for r in rows] == [
        ("core/ingress", None, "1.0.0", {"name": "base", "version": 1}),
        ("web", "1.1.0", "1.1.0", None),
    ]
    assert rows[0]["digest"] == digest_of(chart_archives["webapp-1.0.0"])


def test_a_version_published_before_locks_shows_none(
    client: httpx.Client, services: Services
) -> None:
    profile_id, _ = publish(client, stack("old", manifests_layer("extra", config_map("extra"))))
    with services.store.unit_of_work(write=True) as uow:
        first = uow.versions.get(profile_id, 1)
        assert first is not None and first.lock == {"charts": {}}
        uow.versions.add(replace(first, version=2, lock=None, draft_id=None))
    assert ok(client.get(f"{PROFILES}/{profile_id}/versions/1"))["lock"] == []
    assert ok(client.get(f"{PROFILES}/{profile_id}/versions/2"))["lock"] is None
