"""Reproducible renders: a chart that uses random functions renders the same bytes again
after a restart, so a no-op upgrade shows no change and commits nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lamina.adapters.helm import HelmEngine
from lamina.config import Services, build_services
from lamina.domain.models import Principal, RegistryKind, Role
from lamina.services import auth
from tests.fixtures.gitrepos import BareRepo

CHART = """apiVersion: v2
name: randomized
version: 1.0.0
"""
TEMPLATE = """apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-generated
stringData:
  password: {{ randAlphaNum 24 | quote }}
  token: {{ uuidv4 | quote }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
data:
  zone: {{ .Values.zone | quote }}
"""


def write_chart(root: Path) -> Path:
    chart = root / "charts" / "randomized"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART)
    (chart / "values.yaml").write_text("zone: example.org\n")
    (chart / "templates" / "all.yaml").write_text(TEMPLATE)
    return chart.parent


def profile(registry: str) -> dict[str, Any]:
    return {
        "apiVersion": "lamina.dev/v1",
        "kind": "StackProfile",
        "metadata": {"name": "random-stack", "description": "", "category": "apps"},
        "spec": {
            "type": "add-on",
            "parameters": [{"name": "zone", "type": "string", "default": "example.org"}],
            "layers": [
                {
                    "name": "generated",
                    "category": "apps",
                    "namespace": "apps",
                    "chart": {"repository": registry, "name": "randomized", "version": "1.0.0"},
                    "values": {"zone": "${{ params.zone }}"},
                }
            ],
        },
    }


def admin(wired: Services) -> Principal:
    token = auth.create_token(wired.store, org_slug="acme", role=Role.ADMIN)
    return auth.authenticate(wired.store, token)


def test_a_restart_renders_the_same_bytes_and_a_no_op_upgrade_commits_nothing(
    services: Services, tmp_path: Path, bare_repo: BareRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = admin(services)
    registry = services.registries.create(
        who, name="randoms", kind=RegistryKind.LOCAL, url=str(write_chart(tmp_path))
    )
    services.registries.sync(who, registry.id)
    stack, _ = services.profiles.import_document(who, profile("randoms"))
    cluster = services.clusters.create(
        who,
        {"name": "eu-1", "kubernetes_version": "1.31.2", "gitops": {"url": bare_repo.url}},
    )
    first = services.stacks.instantiate(
        who, cluster.id, profile_id=stack.id, version=None, parameters={}, values={}
    )
    committed = services.stacks.commit(who, cluster.id, first.draft.id)
    with services.store.unit_of_work() as uow:  # the random chart's output is kept
        assert (
            uow.renders._conn.execute(  # type: ignore[attr-defined]
                sa.text("SELECT count(*) FROM render_outputs")
            ).scalar_one()
            == 1
        )
    before = bare_repo.files_at("main", "clusters/eu-1")
    with services.store.unit_of_work() as uow:
        [running] = uow.stacks.instantiations(cluster.id)

    # A new process: empty caches, a fresh Helm engine, the same database and data folder.
    restarted = build_services(services.settings)
    renders: list[str] = []
    real_render = HelmEngine.render

    def counted(self: HelmEngine, chart: Any, **options: Any) -> dict[str, str]:
        renders.append(options["release"])
        return real_render(self, chart, **options)

    monkeypatch.setattr(HelmEngine, "render", counted)
    try:
        again = restarted.stacks.upgrade(who, cluster.id, running.id, version=None, parameters=None)
        assert renders == []  # the delivered render is read back, objects and all
        review = restarted.stacks.diff(who, cluster.id, again.draft.id)
        assert review.objects == [] and review.parameters == []
        assert again.draft.files == before
        done = restarted.stacks.commit(who, cluster.id, again.draft.id)
        assert done.commit_sha == committed.commit_sha  # nothing new was pushed
        assert len(bare_repo.log()) == 1

        # Changed inputs render anew, and random functions draw anew (as `helm upgrade`
        # does): the generated Secret changes with the ConfigMap.
        changed = restarted.stacks.upgrade(
            who, cluster.id, running.id, version=None, parameters={"zone": "shop.example.com"}
        )
        assert renders == ["generated"]
        moved = restarted.stacks.diff(who, cluster.id, changed.draft.id).objects
        assert sorted((c.op, c.kind) for c in moved) == [
            ("changed", "ConfigMap"),
            ("changed", "Secret"),
        ]
    finally:
        restarted.store.dispose()
