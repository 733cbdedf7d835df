"""The fleet view of a profile: which clusters run it, and rolling a version out to them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lamina.domain import selectors
from lamina.domain.errors import Conflict, LaminaError, NotFound
from lamina.domain.models import Principal, Role
from lamina.ports import Store
from lamina.services.access import own_profile, require
from lamina.services.delivery.stacks import StackService


@dataclass(frozen=True)
class InstantiationRow:
    id: int
    cluster_id: int
    cluster: str
    version: int
    outdated: bool
    committed_at: datetime


@dataclass(frozen=True)
class RolloutStep:
    cluster: str
    instantiation_id: int
    status: str  # committed | skipped | failed | would_change
    reason: str = ""
    revision: int | None = None
    commit_sha: str | None = None


Progress = Callable[[RolloutStep], None]


class FleetService:
    def __init__(self, *, store: Store, stacks: StackService) -> None:
        self._store = store
        self._stacks = stacks

    def instantiations(self, principal: Principal, profile_id: int) -> list[InstantiationRow]:
        """Every cluster running the profile, with its version and whether it is behind."""
        with self._store.unit_of_work() as uow:
            profile = uow.profiles.get(principal.org_id, profile_id)
            if profile is None:
                raise NotFound(f"Profile {profile_id} does not exist")
            deprecated = uow.stacks.deprecations(profile.id)
            rows = uow.stacks.of_profile(profile.id)
        current = profile.current_version or 0
        return [
            InstantiationRow(
                id=i.id,
                cluster_id=i.cluster_id,
                cluster=name,
                version=i.version,
                outdated=i.version < current or i.version in deprecated,
                committed_at=i.committed_at,
            )
            for i, name in rows
        ]

    def rollout(
        self,
        principal: Principal,
        profile_id: int,
        *,
        version: int,
        clusters: list[str] | None = None,
        selector: str = "",
        only_outdated: bool = True,
        dry_run: bool = False,
        continue_on_error: bool = False,
        batch_size: int = 10,
        progress: Progress | None = None,
    ) -> list[RolloutStep]:
        """Upgrade the matching instantiations to `version` in batches; stop at the first
        failure unless `continue_on_error`; a dry run commits nothing."""
        require(principal, Role.EDITOR)
        chosen = selectors.parse_selector(selector)
        self._check_version(principal, profile_id, version)
        targets = self._targets(principal, profile_id, clusters, chosen)
        steps: list[RolloutStep] = []
        stopped = False
        for start in range(0, len(targets), max(1, batch_size)):
            for row in targets[start : start + batch_size]:
                if stopped:
                    step = RolloutStep(row.cluster, row.id, "skipped", "stopped after a failure")
                elif only_outdated and row.version >= version:
                    step = RolloutStep(row.cluster, row.id, "skipped", f"already at {row.version}")
                else:
                    step = self._upgrade(principal, row, version, dry_run)
                    stopped = step.status == "failed" and not continue_on_error
                steps.append(step)
                if progress is not None:
                    progress(step)
        return steps

    def _check_version(self, principal: Principal, profile_id: int, version: int) -> None:
        with self._store.unit_of_work() as uow:
            own_profile(uow, principal, profile_id)
            found = uow.versions.get(profile_id, version)
            deprecation = uow.stacks.deprecations(profile_id).get(version) if found else None
        if found is None:
            raise NotFound(f"Profile {profile_id} has no version {version}")
        if deprecation is not None:
            raise Conflict(f"Version {version} is deprecated: {deprecation['reason']}")

    def _targets(
        self,
        principal: Principal,
        profile_id: int,
        clusters: list[str] | None,
        chosen: selectors.Selector,
    ) -> list[InstantiationRow]:
        rows = self.instantiations(principal, profile_id)
        with self._store.unit_of_work() as uow:
            labels = {c.id: c.labels for c in uow.clusters.all(principal.org_id)}
        return [
            row
            for row in rows
            if (clusters is None or row.cluster in clusters)
            and chosen.matches(labels.get(row.cluster_id, {}))
        ]

    def _upgrade(
        self, principal: Principal, row: InstantiationRow, version: int, dry_run: bool
    ) -> RolloutStep:
        try:
            result = self._stacks.upgrade(
                principal, row.cluster_id, row.id, version=version, parameters=None
            )
        except LaminaError as error:
            return RolloutStep(row.cluster, row.id, "failed", _reason(error))
        if dry_run:
            try:
                changes = self._stacks.diff(principal, row.cluster_id, result.draft.id)
            finally:
                self._stacks.discard(principal, row.cluster_id, result.draft.id)
            if changes.objects or changes.parameters:
                return RolloutStep(row.cluster, row.id, "would_change")
            return RolloutStep(row.cluster, row.id, "skipped", "no change")
        try:
            done = self._stacks.commit_or_discard(principal, row.cluster_id, result.draft.id)
        except LaminaError as error:
            return RolloutStep(row.cluster, row.id, "failed", _reason(error))
        return RolloutStep(
            row.cluster, row.id, "committed", revision=done.revision, commit_sha=done.commit_sha
        )


def _reason(error: LaminaError) -> str:
    reason = error.detail
    if error.issues:
        reason += ": " + "; ".join(f"{i.path}: {i.message}" for i in error.issues[:5])
    return reason


def as_dict(step: RolloutStep) -> dict[str, Any]:
    return {
        "cluster": step.cluster,
        "instantiation_id": step.instantiation_id,
        "status": step.status,
        "reason": step.reason,
        "revision": step.revision,
        "commit_sha": step.commit_sha,
    }
