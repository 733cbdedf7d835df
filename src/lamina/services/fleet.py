"""The fleet view of a profile: which clusters run it, and rolling a version out to them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from lamina.domain import params, selectors
from lamina.domain.errors import Conflict, InvalidInput, LaminaError, NotFound
from lamina.domain.models import Cluster, Instantiation, Principal, Profile, Role
from lamina.ports import Store
from lamina.services.access import own_profile, require
from lamina.services.delivery.commits import Committed
from lamina.services.delivery.compose import declared_parameters
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
class StepChanges:
    """What upgrading one instantiation changes: its version, objects and parameters."""

    version_from: int
    version_to: int
    added: int
    changed: int
    removed: int
    parameters: int

    @property
    def nothing(self) -> bool:
        same = self.version_from == self.version_to
        return same and not (self.added or self.changed or self.removed or self.parameters)


@dataclass(frozen=True)
class RolloutStep:
    cluster: str
    instantiation_id: int
    status: str  # committed | skipped | failed | would_change
    reason: str = ""
    revision: int | None = None
    commit_sha: str | None = None
    cluster_id: int = 0
    changes: StepChanges | None = None
    draft_id: int | None = None  # a dry run keeps its stack draft for review
    missing_parameters: tuple[str, ...] = ()


Progress = Callable[[list[RolloutStep]], None]  # the steps of one Git target of a batch


@dataclass(frozen=True)
class VersionCount:
    """How many clusters run one version of a profile, and how many of them are outdated."""

    version: int
    clusters: int
    outdated: int


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

    def version_counts(
        self, principal: Principal, profiles: list[Profile]
    ) -> dict[int, list[VersionCount]]:
        """For each of the caller's own listed profiles, the versions its clusters run with
        how many clusters and how many of them are outdated, newest version first; one
        query for the whole list."""
        own = [p.id for p in profiles if p.org_id == principal.org_id]
        with self._store.unit_of_work() as uow:
            rows = uow.stacks.version_counts(own)
        counts: dict[int, list[VersionCount]] = {}
        for profile_id, version, clusters, outdated in rows:
            counts.setdefault(profile_id, []).append(VersionCount(version, clusters, outdated))
        return counts

    def plan_by_target(
        self,
        principal: Principal,
        profile_id: int,
        *,
        version: int,
        clusters: list[str] | None = None,
        selector: str = "",
        parameters: dict[str, Any] | None = None,
    ) -> dict[str, list[InstantiationRow]]:
        """The instantiations a rollout of `version` covers, grouped by Git target
        (repository and branch), each in plan order, after checking the request: the
        version exists and is not deprecated, `parameters` are of the types it declares
        (InvalidInput, NotFound or Conflict before any cluster is touched)."""
        planned = self._plan(principal, profile_id, version, clusters, selector, parameters)
        groups: dict[str, list[InstantiationRow]] = {}
        for row, cluster in planned:
            groups.setdefault(_target(cluster), []).append(row)
        return groups

    def _plan(
        self,
        principal: Principal,
        profile_id: int,
        version: int,
        clusters: list[str] | None,
        selector: str,
        parameters: dict[str, Any] | None,
    ) -> list[tuple[InstantiationRow, Cluster]]:
        """The instantiations a rollout covers, each with its cluster."""
        require(principal, Role.EDITOR)
        chosen = selectors.parse_selector(selector)
        self._check_version(principal, profile_id, version, dict(parameters or {}))
        rows = self.instantiations(principal, profile_id)
        with self._store.unit_of_work() as uow:
            known = {c.id: c for c in uow.clusters.all(principal.org_id)}
        named = set(clusters) if clusters is not None else None
        return [
            (row, known[row.cluster_id])
            for row in rows
            if row.cluster_id in known
            and (named is None or row.cluster in named)
            and chosen.matches(known[row.cluster_id].labels)
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
        parameters: dict[str, Any] | None = None,
        batch_commits: bool = True,
        progress: Progress | None = None,
        done: Mapping[int, str] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[RolloutStep]:
        """Upgrade the matching instantiations to `version` in batches, with `parameters`
        applied to each; stop at the first failure unless `continue_on_error`.

        A dry run is the real run without the commit: each cluster's stack draft is made and
        diffed exactly as the real run does, then kept for review instead of committed, and
        it never stops early. Unchanged stacks at `version` are skipped by both.

        With `batch_commits`, the clusters of a batch that share a Git repository and branch
        are committed together, in one commit (each cluster still gets its revision, with
        that commit's SHA); else each cluster gets a commit of its own.

        `done` (cluster id → status) names the clusters an earlier attempt of the same
        rollout recorded, which are left out; `cancelled` is asked before each batch. The
        clusters of one Git target are delivered under its delivery lock, so two rollouts
        never work on one cluster at once."""
        supplied = dict(parameters or {})
        planned = self._plan(principal, profile_id, version, clusters, selector, supplied)
        targets = [row for row, _ in planned]
        where = {c.id: _target(c) for _, c in planned}
        recorded = dict(done or {})
        run = _Run(
            principal=principal,
            profile_id=profile_id,
            version=version,
            supplied=supplied,
            only_outdated=only_outdated,
            dry_run=dry_run,
            keep_going=continue_on_error or dry_run,
            batch_commits=batch_commits,
            stopped=not (continue_on_error or dry_run) and "failed" in recorded.values(),
        )
        steps: list[RolloutStep] = []
        for start in range(0, len(targets), max(1, batch_size)):
            if cancelled is not None and cancelled():
                break
            groups: dict[str, list[InstantiationRow]] = {}
            for row in targets[start : start + batch_size]:
                if row.cluster_id not in recorded:
                    groups.setdefault(where.get(row.cluster_id, ""), []).append(row)
            for target, rows in groups.items():
                delivered = self._deliver(run, target, rows)
                steps += delivered
                if progress is not None and delivered:
                    progress(delivered)
        return steps

    def _deliver(self, run: _Run, target: str, rows: list[InstantiationRow]) -> list[RolloutStep]:
        """The steps of the rows of one Git target, in their order, made under the
        target's delivery lock: drafts first, then one commit for them (or one each)."""
        steps: dict[int, RolloutStep] = {}
        pending: list[tuple[InstantiationRow, int, StepChanges]] = []
        reviewed: dict[int, int] = {}  # cluster id -> the draft a dry run keeps for review
        try:
            with self._store.delivery_lock(target, what=f"Git target {target}"):
                # Read again under the lock, for the whole group at once: another rollout
                # may have moved an instantiation since the plan was made, and must not be
                # undone. A cluster with a commit a crash interrupted is settled first.
                with self._store.unit_of_work() as uow:
                    interrupted = {i.cluster_id for i in uow.stacks.pending_intents()}
                    current: dict[int, Instantiation | None] = dict(
                        uow.stacks.instantiations_by_id(
                            run.principal.org_id, [row.id for row in rows]
                        )
                    )
                for row in rows:
                    if run.stopped:
                        steps[row.cluster_id] = _skipped(row, "stopped after a failure")
                        continue
                    if row.cluster_id in interrupted:
                        current[row.id] = self._settled(run.principal, row)
                    drafted = self._drafted(run, row, current.get(row.id))
                    if isinstance(drafted, RolloutStep):
                        steps[row.cluster_id] = drafted
                    elif run.dry_run:
                        row, draft_id, changes = drafted
                        reviewed[row.cluster_id] = draft_id
                        steps[row.cluster_id] = RolloutStep(
                            row.cluster,
                            row.id,
                            "would_change",
                            cluster_id=row.cluster_id,
                            changes=changes,
                            draft_id=draft_id,
                        )
                    elif run.batch_commits:
                        pending.append(drafted)
                    else:
                        steps[row.cluster_id] = self._committed(run, *drafted)
                    run.note(steps.get(row.cluster_id))
                if pending:
                    for step in self._committed_together(run, pending):
                        steps[step.cluster_id] = step
                        run.note(step)
                if reviewed:  # each replaces what earlier dry runs of the profile kept
                    self._stacks.replace_reviews(run.principal, reviewed, run.profile_id)
        except LaminaError as error:  # e.g. another delivery held the lock too long
            for row, draft_id, _ in pending:
                if row.cluster_id not in steps:
                    self._discard(run.principal, row, draft_id)
            for row in rows:
                steps.setdefault(row.cluster_id, _failed(row, error))
            run.stopped = not run.keep_going
        return [steps[row.cluster_id] for row in rows if row.cluster_id in steps]

    def _settled(self, principal: Principal, row: InstantiationRow) -> Instantiation | None:
        """The row's instantiation, read again after settling the cluster's interrupted
        commit (which may have moved it)."""
        self._stacks.settle(principal, row.cluster_id)
        with self._store.unit_of_work() as uow:
            return uow.stacks.instantiation(principal.org_id, row.id)

    def _drafted(
        self, run: _Run, row: InstantiationRow, current: Instantiation | None
    ) -> RolloutStep | tuple[InstantiationRow, int, StepChanges]:
        """The instantiation's upgrade drafted and diffed: (row, draft id, changes), or the
        step that ends it here (skipped, failed). `current` is the instantiation as read
        under the delivery lock (after settling an interrupted commit): it may be at the
        version already."""
        if run.only_outdated and row.version >= run.version:
            return _skipped(row, f"already at {row.version}")
        if current is None or current.cluster_id != row.cluster_id:
            return _skipped(row, "no longer runs the profile")
        row = replace(row, version=current.version)
        if run.only_outdated and row.version >= run.version:
            return _skipped(row, f"already at {row.version}")
        try:
            result = self._stacks.upgrade(
                run.principal,
                row.cluster_id,
                row.id,
                version=run.version,
                parameters=run.supplied or None,
                review_of=run.profile_id if run.dry_run else None,
            )
        except LaminaError as error:
            return _failed(row, error)
        draft_id = result.draft.id
        try:
            found = self._stacks.diff_draft(run.principal, result.draft)
        except LaminaError as error:
            self._discard(run.principal, row, draft_id)
            return _failed(row, error)
        ops = [change.op for change in found.objects]
        changes = StepChanges(
            version_from=row.version,
            version_to=run.version,
            added=ops.count("added"),
            changed=ops.count("changed"),
            removed=ops.count("removed"),
            parameters=len(found.parameters),
        )
        if changes.nothing:
            self._discard(run.principal, row, draft_id)
            return _skipped(row, "no change")
        return row, draft_id, changes

    def _committed(
        self, run: _Run, row: InstantiationRow, draft_id: int, changes: StepChanges
    ) -> RolloutStep:
        try:
            done = self._stacks.commit_or_discard(run.principal, row.cluster_id, draft_id)
        except LaminaError as error:
            return _failed(row, error, changes)
        return _done(row, done, changes)

    def _committed_together(
        self, run: _Run, pending: list[tuple[InstantiationRow, int, StepChanges]]
    ) -> list[RolloutStep]:
        items = [(row.cluster_id, draft_id) for row, draft_id, _ in pending]
        names = ", ".join(row.cluster for row, _, _ in pending[:5])
        more = f" and {len(pending) - 5} more" if len(pending) > 5 else ""
        message = f"lamina: rollout of version {run.version} to {names}{more}"
        outcome = self._stacks.commit_batch(run.principal, items, message)
        steps = []
        for row, _, changes in pending:
            result = outcome[row.cluster_id]
            if isinstance(result, LaminaError):
                steps.append(_failed(row, result, changes))
            else:
                steps.append(_done(row, result, changes))
        return steps

    def _check_version(
        self, principal: Principal, profile_id: int, version: int, supplied: dict[str, Any]
    ) -> None:
        """The version exists and is not deprecated, and `supplied` names only parameters it
        declares, with values of their types (InvalidInput, before any cluster is touched)."""
        with self._store.unit_of_work() as uow:
            own_profile(uow, principal, profile_id)
            found = uow.versions.get(profile_id, version)
            deprecation = uow.stacks.deprecations(profile_id).get(version) if found else None
        if found is None:
            raise NotFound(f"Profile {profile_id} has no version {version}")
        if deprecation is not None:
            raise Conflict(f"Version {version} is deprecated: {deprecation['reason']}")
        if supplied:
            declared = params.parse_parameters(declared_parameters(found.spec))
            params.bind([p for p in declared if p.name in supplied], supplied)

    def _discard(self, principal: Principal, row: InstantiationRow, draft_id: int) -> None:
        with contextlib.suppress(LaminaError):
            self._stacks.discard(principal, row.cluster_id, draft_id)


@dataclass
class _Run:
    """One rollout's settings, and whether it stopped at a failure."""

    principal: Principal
    profile_id: int
    version: int
    supplied: dict[str, Any]
    only_outdated: bool
    dry_run: bool
    keep_going: bool
    batch_commits: bool
    stopped: bool = False

    def note(self, step: RolloutStep | None) -> None:
        if step is not None and step.status == "failed" and not self.keep_going:
            self.stopped = True


def _target(cluster: Cluster) -> str:
    """The Git target a cluster is delivered to: one delivery lock, one batch commit."""
    return f"{cluster.gitops.url}#{cluster.gitops.branch}"


def _skipped(row: InstantiationRow, reason: str) -> RolloutStep:
    return RolloutStep(row.cluster, row.id, "skipped", reason, cluster_id=row.cluster_id)


def _done(row: InstantiationRow, done: Committed, changes: StepChanges) -> RolloutStep:
    return RolloutStep(
        row.cluster,
        row.id,
        "committed",
        revision=done.revision,
        commit_sha=done.commit_sha,
        cluster_id=row.cluster_id,
        changes=changes,
    )


def _failed(
    row: InstantiationRow, error: LaminaError, changes: StepChanges | None = None
) -> RolloutStep:
    missing: tuple[str, ...] = ()
    if isinstance(error, InvalidInput):
        missing = tuple(
            issue.path.removeprefix("parameters.")
            for issue in error.issues
            if issue.code == "missing_required"
        )
    reason = f"missing required parameters: {', '.join(missing)}" if missing else _reason(error)
    return RolloutStep(
        row.cluster,
        row.id,
        "failed",
        reason,
        cluster_id=row.cluster_id,
        changes=changes,
        missing_parameters=missing,
    )


def _reason(error: LaminaError) -> str:
    reason = error.detail
    if error.issues:
        reason += ": " + "; ".join(f"{i.path}: {i.message}" for i in error.issues[:5])
    return reason


def as_dict(step: RolloutStep) -> dict[str, Any]:
    return {
        "cluster": step.cluster,
        "cluster_id": step.cluster_id,
        "instantiation_id": step.instantiation_id,
        "status": step.status,
        "reason": step.reason,
        "revision": step.revision,
        "commit_sha": step.commit_sha,
        "changes": asdict(step.changes) if step.changes is not None else None,
        "draft_id": step.draft_id,
        "missing_parameters": list(step.missing_parameters),
    }
