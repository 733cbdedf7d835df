"""What a cluster runs and ran: its committed stack, open stack drafts, revision history,
and the addons of an earlier revision, for a stack draft that brings it back."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lamina.domain.errors import Conflict, NotFound
from lamina.domain.models import Cluster, Page, StackDraft
from lamina.ports import UnitOfWork


@dataclass(frozen=True)
class RunningAddon:
    """One instantiation of the committed stack; secret bindings by name only."""

    instantiation_id: int
    profile_id: int
    profile_name: str
    version: int
    outdated: bool
    bindings: dict[str, Any]
    secrets: list[str]
    committed_at: datetime


@dataclass(frozen=True)
class StackView:
    cluster_id: int
    revision: int
    commit_sha: str | None
    addons: list[RunningAddon]
    objects: dict[str, int]  # layer -> number of objects, in stack order


@dataclass(frozen=True)
class DraftSummary:
    id: int
    action: str
    base_revision: int
    created_at: datetime
    warnings_count: int
    stale: bool  # made against another revision than the current one: committing is refused


def stack_view(uow: UnitOfWork, cluster: Cluster) -> StackView:
    """The committed stack of `cluster`."""
    addons = [
        RunningAddon(
            instantiation_id=i.id,
            profile_id=i.profile_id,
            profile_name=name,
            version=i.version,
            outdated=outdated,
            bindings=dict(i.bindings),
            secrets=sorted(i.secrets_sealed),
            committed_at=i.committed_at,
        )
        for i, name, outdated in uow.stacks.running(cluster.id)
    ]
    last = uow.stacks.last_revision(cluster.id, texts=False)
    layers = Counter(layer for layer, _ in (last.objects.values() if last else []))
    return StackView(cluster.id, cluster.revision, cluster.commit_sha, addons, dict(layers))


def draft_summaries(drafts: Page[StackDraft], cluster: Cluster) -> Page[DraftSummary]:
    items = [
        DraftSummary(
            id=d.id,
            action=d.action,
            base_revision=d.base_revision,
            created_at=d.created_at,
            warnings_count=len(d.warnings),
            stale=d.base_revision != cluster.revision,
        )
        for d in drafts.items
    ]
    return Page(items, drafts.total_count, drafts.page, drafts.page_size)


def restored_addons(uow: UnitOfWork, cluster: Cluster, number: int) -> list[dict[str, Any]]:
    """Revision `number`'s addons, with bindings and sealed secrets as committed. An
    instantiation still on the cluster keeps its ID; one removed since comes back as new.
    Conflict when a version it ran was deleted."""
    revision = uow.stacks.revision(cluster.id, number)
    if revision is None:
        raise NotFound(f"Cluster '{cluster.name}' has no revision {number}")
    current = {i.id for i in uow.stacks.instantiations(cluster.id)}
    missing = []
    for addon in revision.addons:
        if uow.versions.get(addon["profile_id"], addon["version"]) is None:
            profile = uow.profiles.get(cluster.org_id, addon["profile_id"], include_public=True)
            what = f"'{profile.name}'" if profile else f"profile {addon['profile_id']}"
            missing.append(f"{what} version {addon['version']}")
    if missing:
        raise Conflict(
            f"Revision {number} of cluster '{cluster.name}' ran versions that were deleted: "
            + ", ".join(missing)
        )
    return [
        {
            "instantiation_id": a["instantiation_id"]
            if a.get("instantiation_id") in current
            else None,
            "profile_id": a["profile_id"],
            "version": a["version"],
            "bindings": dict(a.get("bindings", {})),
            "secrets_sealed": dict(a.get("secrets_sealed", {})),
            "values": dict(a.get("values", {})),
        }
        for a in revision.addons
    ]
