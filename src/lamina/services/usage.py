"""What depends on a profile, a registry or a cluster.

Deleting any of them is refused while something depends on it (nothing changes a cluster by
surprise); these functions say what does, naming the first few.
"""

from __future__ import annotations

from collections.abc import Iterable

from lamina.domain import layering, locks
from lamina.domain.models import Profile, Registry, Visibility
from lamina.ports import UnitOfWork

SHOWN = 20


def listing(names: Iterable[str]) -> str:
    """The first SHOWN names, comma separated, then how many more there are."""
    unique = list(dict.fromkeys(names))
    shown = ", ".join(unique[:SHOWN])
    more = len(unique) - SHOWN
    return f"{shown}, … and {more} more" if more > 0 else shown


def profile_users(uow: UnitOfWork, profile: Profile) -> str | None:
    """What keeps `profile` from going: the clusters that run it and the versions that nest
    it, or None when nothing does. Other orgs' users are only counted, never named."""
    clusters: list[str] = []
    elsewhere: set[int] = set()
    for instantiation, cluster_name in uow.stacks.of_profile(profile.id):
        if instantiation.org_id == profile.org_id:
            clusters.append(cluster_name)
        else:
            elsewhere.add(instantiation.cluster_id)
    nesting, nesting_elsewhere = _nesting(uow, profile)
    parts = []
    if clusters:
        count = len(set(clusters))
        parts.append(f"runs on {_count(count, 'cluster')}: {listing(sorted(clusters))}")
    if elsewhere:
        parts.append(f"runs on {_count(len(elsewhere), 'cluster')} of other orgs")
    if nesting:
        parts.append(f"is nested by {listing(nesting)}")
    if nesting_elsewhere:
        parts.append(f"is nested by {_count(nesting_elsewhere, 'version')} of other orgs")
    if not parts:
        return None
    return f"Profile '{profile.name}' " + " and ".join(parts)


def _nesting(uow: UnitOfWork, profile: Profile) -> tuple[list[str], int]:
    """The own org's versions that nest `profile` ('edge' v3), and how many of other orgs'
    (a public profile is reachable from every org that has none of that name)."""
    public = profile.visibility is Visibility.PUBLIC
    candidates = uow.versions.mentioning(profile.name, org_id=None if public else profile.org_id)
    own: list[str] = []
    others = 0
    shadowed: dict[int, bool] = {}
    for org_id, name, version in candidates:
        if version.profile_id == profile.id:
            continue
        if not any(ref[0] == profile.name for ref in layering.nested_refs(version.spec)):
            continue
        if org_id == profile.org_id:
            own.append(f"'{name}' v{version.version}")
            continue
        if org_id not in shadowed:
            shadowed[org_id] = uow.profiles.get_by_name(org_id, profile.name) is not None
        others += 0 if shadowed[org_id] else 1
    return own, others


def registry_users(uow: UnitOfWork, registry: Registry) -> str | None:
    """The versions (pinned in their lock or named in their spec) and drafts whose charts
    come from `registry` by name, or None when there are none."""
    versions = [
        f"'{name}' v{version.version}"
        for _, name, version in uow.versions.mentioning(registry.name, org_id=registry.org_id)
        if _names_repository(version.spec, version.lock, registry.name)
    ]
    drafts = [
        f"draft '{draft.name}' ({draft.id})"
        for draft in uow.drafts.mentioning(registry.org_id, registry.name)
        if _names_repository(draft.spec, None, registry.name)
    ]
    if not versions and not drafts:
        return None
    return f"Registry '{registry.name}' has charts used by {listing(versions + drafts)}"


def cluster_users(uow: UnitOfWork, cluster_id: int, cluster_name: str) -> str | None:
    """The profiles the cluster runs (committed), or None when it runs none."""
    names = sorted({name for _, name, _ in uow.stacks.running(cluster_id)})
    if not names:
        return None
    profiles = listing(f"'{name}'" for name in names)
    return f"Cluster '{cluster_name}' runs {_count(len(names), 'profile')}: {profiles}"


def _names_repository(spec: dict[str, object], lock: object, name: str) -> bool:
    rows = locks.lock_rows(spec, lock if isinstance(lock, dict) else {}) or []
    return any(row.repository == name for row in rows)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
