"""A cluster's stack: instantiate, upgrade or remove profiles as stack drafts (composed by
`compose`), reviewed as a diff, then committed to the cluster's Git target (`commits`)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from lamina.domain import hooks, params, stackdiff
from lamina.domain.errors import Conflict, Issue, LaminaError, NotFound
from lamina.domain.models import (
    Cluster,
    Instantiation,
    Page,
    Principal,
    Profile,
    ProfileVersion,
    Role,
    StackDraft,
    StackRevision,
)
from lamina.ports import (
    Cipher,
    Clock,
    GitRepository,
    ManifestCodec,
    ScopeLookup,
    SecretEncryptor,
    Store,
    UnitOfWork,
)
from lamina.services.access import require
from lamina.services.clusters import ClusterService
from lamina.services.delivery import history, review
from lamina.services.delivery.commits import Committed, Committer, TargetCheck
from lamina.services.delivery.compose import Composer, declared_parameters
from lamina.services.render import RenderService


@dataclass(frozen=True)
class DraftResult:
    draft: StackDraft
    profile_version: int | None
    warnings: list[Issue]
    addons_count: int
    manifests_count: int


@dataclass(frozen=True)
class StackDiff:
    objects: list[stackdiff.ObjectChange]
    parameters: list[dict[str, Any]]


class StackService:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        cipher: Cipher,
        render: RenderService,
        codec: ManifestCodec,
        git: GitRepository,
        clusters: ClusterService,
        check_target: TargetCheck | None = None,
        encryptor: SecretEncryptor | None = None,
        scopes: ScopeLookup | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._cipher = cipher
        self._codec = codec
        self._composer = Composer(
            store=store,
            cipher=cipher,
            render=render,
            codec=codec,
            encryptor=encryptor,
            scopes=scopes,
        )
        self.timings: dict[str, float] = {"render": 0.0, "git": 0.0, "database": 0.0}
        self._committer = Committer(
            store=store,
            clock=clock,
            git=git,
            clusters=clusters,
            timings=self.timings,
            check_target=check_target,
        )

    # -- drafts -------------------------------------------------------------------------

    def instantiate(
        self,
        principal: Principal,
        cluster_id: int,
        *,
        profile_id: int,
        version: int | None,
        parameters: dict[str, Any],
        values: dict[str, dict[str, Any]],
    ) -> DraftResult:
        """A stack draft adding profile `profile_id` (default: its current version)."""
        require(principal, Role.EDITOR)
        with self._store.unit_of_work() as uow:
            cluster = _cluster(uow, principal, cluster_id)
            profile, chosen = _version(uow, principal, profile_id, version)
            current = [_spec_of(i) for i in uow.stacks.instantiations(cluster.id)]
        running = next((a for a in current if a["profile_id"] == profile.id), None)
        if running is not None:
            raise Conflict(
                f"Cluster '{cluster.name}' already runs '{profile.name}' at version "
                f"{running['version']} (instantiation {running['instantiation_id']}); upgrade it"
            )
        bound, sealed = self._bind(chosen, parameters)
        addon = {
            "instantiation_id": None,
            "profile_id": profile.id,
            "version": chosen.version,
            "bindings": bound,
            "secrets_sealed": sealed,
            "values": values,
        }
        return self._draft(principal, cluster, [*current, addon], "instantiate", chosen.version)

    def upgrade(
        self,
        principal: Principal,
        cluster_id: int,
        instantiation_id: int,
        *,
        version: int | None,
        parameters: dict[str, Any] | None,
        review_of: int | None = None,
    ) -> DraftResult:
        """A stack draft moving one instantiation to another version with its old bindings;
        parameters new and required there must be given, removed ones are dropped.
        `review_of` marks the draft as one a rollout dry run of that profile keeps."""
        require(principal, Role.EDITOR)
        with self._store.unit_of_work() as uow:
            cluster = _cluster(uow, principal, cluster_id)
            existing = _instantiation(uow, principal, cluster, instantiation_id)
            _, chosen = _version(uow, principal, existing.profile_id, version)
            current = [_spec_of(i) for i in uow.stacks.instantiations(cluster.id)]
            running = _declared(uow, [_spec_of(existing)])[(existing.profile_id, existing.version)]
        old = {**existing.bindings, **self._composer.unsealed(existing.secrets_sealed)}
        declared = params.parse_parameters(declared_parameters(chosen.spec))
        names = {p.name for p in declared}
        dropped = sorted((set(old) | {p.name for p in running}) - names)
        supplied = {k: v for k, v in old.items() if k in names} | (parameters or {})
        bound, sealed = self._bind(chosen, supplied)
        unchanged = {
            name: existing.secrets_sealed[name]
            for name in sealed
            if name in existing.secrets_sealed and old.get(name) == supplied.get(name)
        }
        sealed |= unchanged  # same secret, same sealed text: the review shows no change
        warnings = [
            Issue(
                f"parameters.{name}",
                "parameter_dropped",
                f"'{name}' is gone in version {chosen.version}",
            )
            for name in dropped
        ]
        addons = [
            {**a, "version": chosen.version, "bindings": bound, "secrets_sealed": sealed}
            if a["instantiation_id"] == existing.id
            else a
            for a in current
        ]
        return self._draft(
            principal, cluster, addons, "upgrade", chosen.version, warnings, review_of=review_of
        )

    def uninstall(
        self, principal: Principal, cluster_id: int, instantiation_id: int
    ) -> DraftResult:
        """A stack draft removing one instantiation's objects."""
        require(principal, Role.EDITOR)
        with self._store.unit_of_work() as uow:
            cluster = _cluster(uow, principal, cluster_id)
            existing = _instantiation(uow, principal, cluster, instantiation_id)
            current = [_spec_of(i) for i in uow.stacks.instantiations(cluster.id)]
        remaining = [a for a in current if a["instantiation_id"] != existing.id]
        return self._draft(principal, cluster, remaining, "remove", None)

    def _bind(
        self, version: ProfileVersion, supplied: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The supplied values, typed and checked (every required parameter present); only
        what was supplied is kept, so defaults come from the version being rendered. Secrets
        are sealed, defaults included."""
        declared = params.parse_parameters(declared_parameters(version.spec))
        bound = params.bind(declared, supplied)
        secrets = {p.name for p in declared if p.type == "secret"}
        sealed = {
            k: self._cipher.seal(str(v)) for k, v in bound.items() if k in secrets and v is not None
        }
        given = {k for k, v in supplied.items() if v is not None}
        return {k: v for k, v in bound.items() if k not in secrets and k in given}, sealed

    def _draft(
        self,
        principal: Principal,
        cluster: Cluster,
        addons: list[dict[str, Any]],
        action: str,
        version: int | None,
        warnings: list[Issue] | None = None,
        *,
        review_of: int | None = None,
    ) -> DraftResult:
        started = time.perf_counter()
        warnings = list(warnings or [])
        files, objects = self._composer.compose(principal.org_id, cluster, addons, warnings)
        self.timings["render"] += time.perf_counter() - started
        started = time.perf_counter()
        draft = StackDraft(
            id=0,
            org_id=principal.org_id,
            cluster_id=cluster.id,
            base_revision=cluster.revision,
            action=action,
            addons=addons,
            files=files,
            objects=objects,
            warnings=[w.as_dict() for w in warnings or []],
            created_at=self._clock.now(),
            review_of=review_of,
        )
        with self._store.unit_of_work(write=True) as uow:
            stored = uow.stacks.create_draft(draft)
        self.timings["database"] += time.perf_counter() - started
        return DraftResult(stored, version, warnings or [], len(addons), len(objects))

    # -- review and commit ----------------------------------------------------------------

    def commit_or_discard(
        self, principal: Principal, cluster_id: int, draft_id: int, message: str | None = None
    ) -> Committed:
        """Commit a draft nobody reviews (deploy, rollout); a failed commit discards it
        (unless the remote cannot tell yet whether it landed: then it stays to be settled)."""
        try:
            return self.commit(principal, cluster_id, draft_id, message)
        except Exception:
            with contextlib.suppress(LaminaError):
                self._committer.discard(principal, cluster_id, draft_id)
            raise

    def get_draft(self, principal: Principal, cluster_id: int, draft_id: int) -> StackDraft:
        with self._store.unit_of_work() as uow:
            draft = uow.stacks.draft(principal.org_id, cluster_id, draft_id)
        if draft is None:
            raise NotFound(f"Stack draft {draft_id} does not exist on cluster {cluster_id}")
        return draft

    def review(self, principal: Principal, cluster_id: int, draft_id: int) -> review.DraftReview:
        """Everything a review page shows, from one read: the draft's state, its diff, each
        object's text before and after it, and the names of the profiles involved."""
        with self._store.unit_of_work() as uow:
            draft = uow.stacks.draft(principal.org_id, cluster_id, draft_id)
            if draft is None:
                return review.DraftReview(None, uow.stacks.committed_draft(cluster_id, draft_id))
            last = uow.stacks.last_revision(cluster_id)
            addons = [*(last.addons if last else []), *draft.addons]
            declared = _declared(uow, addons)
            names = review.profile_names(uow, principal, addons)
        before = review.texts(last.objects if last else {})
        after = review.texts(draft.objects)
        found = self._diff_of(draft, last, declared)
        return review.DraftReview(draft, None, before, after, names, diff=found)

    def diff(self, principal: Principal, cluster_id: int, draft_id: int) -> StackDiff:
        """Objects added, changed (unified diff) and removed against the committed stack,
        and parameter changes; secret values show as <redacted>."""
        return self.diff_draft(principal, self.get_draft(principal, cluster_id, draft_id))

    def diff_draft(self, principal: Principal, draft: StackDraft) -> StackDiff:
        """`diff` of a draft at hand (as `instantiate` or `upgrade` made it), unread; the
        committed texts it shares with the draft are not read either."""
        if draft.org_id != principal.org_id:
            raise NotFound(f"Stack draft {draft.id} does not exist on cluster {draft.cluster_id}")
        with self._store.unit_of_work() as uow:
            last = uow.stacks.last_revision(draft.cluster_id, known=draft.objects)
            declared = _declared(uow, [*(last.addons if last else []), *draft.addons])
        return self._diff_of(draft, last, declared)

    def _diff_of(
        self,
        draft: StackDraft,
        last: StackRevision | None,
        declared: dict[tuple[int, int], list[params.Parameter]],
    ) -> StackDiff:
        before = {review.key(k): (v[0], v[1]) for k, v in (last.objects if last else {}).items()}
        after = {review.key(k): (v[0], v[1]) for k, v in draft.objects.items()}
        changes = stackdiff.diff_objects(before, after, self._hook_of)
        previous = last.addons if last else []
        return StackDiff(changes, _parameter_changes(previous, draft.addons, declared))

    def _hook_of(self, text: str) -> list[str]:
        # Stored object texts are this codec's own dumps, which write the annotation key
        # as it is: without it in the text, the object is no hook, and parsing is skipped.
        if hooks.HOOK not in text:
            return []
        bodies = self._codec.load_all(text, "")
        return hooks.hook_types(bodies[0]) if bodies and isinstance(bodies[0], dict) else []

    def discard(self, principal: Principal, cluster_id: int, draft_id: int) -> None:
        require(principal, Role.EDITOR)
        self._committer.discard(principal, cluster_id, draft_id)

    def replace_reviews(self, principal: Principal, kept: dict[int, int], profile_id: int) -> None:
        """Drop the drafts that earlier rollout dry runs of the profile keep for review on
        the clusters of `kept`, all but the one each keeps now (cluster id -> draft id)."""
        require(principal, Role.EDITOR)
        self._committer.replace_reviews(principal, kept, profile_id)

    def commit(
        self, principal: Principal, cluster_id: int, draft_id: int, message: str | None = None
    ) -> Committed:
        """Write the draft's tree to Git in one commit, push, and record it exactly once (see
        delivery.commits); a draft made against an older revision is refused (409)."""
        require(principal, Role.EDITOR)
        return self._committer.commit(principal, cluster_id, draft_id, message)

    def commit_batch(
        self, principal: Principal, items: list[tuple[int, int]], message: str
    ) -> dict[int, Committed | LaminaError]:
        """Commit several clusters' drafts (one Git target) in one commit; per cluster its
        revision and SHA, or its error."""
        require(principal, Role.EDITOR)
        outcome = self._committer.commit_batch(principal, items, message)
        for cluster_id, draft_id in items:  # as commit_or_discard: failed drafts go
            if isinstance(outcome.get(cluster_id), LaminaError):
                with contextlib.suppress(LaminaError):
                    self._committer.discard(principal, cluster_id, draft_id)
        return outcome

    def settle(self, principal: Principal, cluster_id: int) -> bool:
        """Settle an interrupted commit of the cluster before new work on it; whether
        there was one (then the cluster's revision and instantiations may have moved)."""
        return self._committer.settle(principal, cluster_id)

    def reconcile_pending(self) -> int:
        """Settle commits interrupted by a crash; how many were settled."""
        return self._committer.reconcile_pending()

    # -- what the cluster runs and ran ----------------------------------------------------

    def show(self, principal: Principal, cluster_id: int) -> history.StackView:
        """The committed stack: instantiations (secret bindings by name only), revision,
        commit and object counts per layer."""
        with self._store.unit_of_work() as uow:
            return history.stack_view(uow, _cluster(uow, principal, cluster_id))

    def drafts(
        self, principal: Principal, cluster_id: int, *, page: int = 1, page_size: int = 50
    ) -> Page[history.DraftSummary]:
        """The cluster's open stack drafts; stale ones were made against another revision."""
        with self._store.unit_of_work() as uow:
            cluster = _cluster(uow, principal, cluster_id)
            found = uow.stacks.draft_page(
                principal.org_id, cluster.id, page=page, page_size=page_size
            )
        return history.draft_summaries(found, cluster)

    def revisions(
        self, principal: Principal, cluster_id: int, *, page: int = 1, page_size: int = 50
    ) -> Page[StackRevision]:
        """The cluster's revisions, newest first (without their addons and objects)."""
        with self._store.unit_of_work() as uow:
            cluster = _cluster(uow, principal, cluster_id)
            return uow.stacks.revision_page(cluster.id, page=page, page_size=page_size)

    def restore(self, principal: Principal, cluster_id: int, revision: int) -> DraftResult:
        """A stack draft bringing back revision `revision`'s addons, as committed; its review
        diff shows what changes, and committing it writes that revision's tree again."""
        require(principal, Role.EDITOR)
        with self._store.unit_of_work() as uow:
            cluster = _cluster(uow, principal, cluster_id)
            addons = history.restored_addons(uow, cluster, revision)
        return self._draft(principal, cluster, addons, "restore", None)


def _spec_of(instantiation: Instantiation) -> dict[str, Any]:
    return {
        "instantiation_id": instantiation.id,
        "profile_id": instantiation.profile_id,
        "version": instantiation.version,
        "bindings": instantiation.bindings,
        "secrets_sealed": instantiation.secrets_sealed,
        "values": instantiation.values,
    }


def _parameter_changes(
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
    declared: dict[tuple[int, int], list[params.Parameter]],
) -> list[dict[str, Any]]:
    """Parameter changes per instantiation (new ones from nothing, removed ones to nothing),
    comparing effective values: what was supplied, else the default of the instantiation's
    version (`from_default`/`to_default` say which). Secret values only ever show as
    <redacted>."""
    old = {a["instantiation_id"]: a for a in before if a.get("instantiation_id")}
    seen: set[int] = set()
    changes: list[dict[str, Any]] = []
    for addon in after:
        previous = old.get(addon.get("instantiation_id") or 0, {})
        seen.add(addon.get("instantiation_id") or 0)
        changes += _binding_changes(addon["profile_id"], previous, addon, declared)
    for key, removed in old.items():
        if key not in seen:
            changes += _binding_changes(removed["profile_id"], removed, {}, declared)
    return changes


def _binding_changes(
    profile_id: int,
    before: dict[str, Any],
    after: dict[str, Any],
    declared: dict[tuple[int, int], list[params.Parameter]],
) -> list[dict[str, Any]]:
    changes = []
    plain_before, plain_after = _effective(before, declared), _effective(after, declared)
    for name in sorted(set(plain_before) | set(plain_after)):
        was, now = plain_before.get(name, (None, False)), plain_after.get(name, (None, False))
        if was[0] != now[0]:
            changes.append(
                {
                    "profile_id": profile_id,
                    "name": name,
                    "from": was[0],
                    "to": now[0],
                    "from_default": was[1],
                    "to_default": now[1],
                }
            )
    sealed_before, sealed_after = before.get("secrets_sealed", {}), after.get("secrets_sealed", {})
    for name in sorted(set(sealed_before) | set(sealed_after)):
        if sealed_before.get(name) != sealed_after.get(name):
            changes.append(
                {
                    "profile_id": profile_id,
                    "name": name,
                    "from": "<redacted>" if name in sealed_before else None,
                    "to": "<redacted>" if name in sealed_after else None,
                    "from_default": False,
                    "to_default": False,
                }
            )
    return changes


def _effective(
    addon: dict[str, Any], declared: dict[tuple[int, int], list[params.Parameter]]
) -> dict[str, tuple[Any, bool]]:
    """Non-secret values of an instantiation: (value, whether it is the version's default).
    Bindings recorded before defaults followed the version hold every value, defaults
    included; those count as supplied."""
    if not addon:
        return {}
    bindings: dict[str, Any] = addon.get("bindings", {})
    values = {name: (value, False) for name, value in bindings.items()}
    for param in declared.get((addon["profile_id"], addon["version"]), []):
        if param.type != "secret" and param.name not in values and param.has_default:
            values[param.name] = (param.default, True)
    return values


def _declared(
    uow: UnitOfWork, addons: list[dict[str, Any]]
) -> dict[tuple[int, int], list[params.Parameter]]:
    """The declared parameters of each (profile, version) the addons run."""
    found: dict[tuple[int, int], list[params.Parameter]] = {}
    for addon in addons:
        key = (addon["profile_id"], addon["version"])
        if key not in found:
            version = uow.versions.get(*key)
            spec = version.spec if version is not None else {}
            found[key] = params.parse_parameters(declared_parameters(spec))
    return found


def _cluster(uow: UnitOfWork, principal: Principal, cluster_id: int) -> Cluster:
    cluster = uow.clusters.get(principal.org_id, cluster_id)
    if cluster is None:
        raise NotFound(f"Cluster {cluster_id} does not exist")
    return cluster


def _instantiation(
    uow: UnitOfWork, principal: Principal, cluster: Cluster, instantiation_id: int
) -> Instantiation:
    found = uow.stacks.instantiation(principal.org_id, instantiation_id)
    if found is None or found.cluster_id != cluster.id:
        raise NotFound(f"Instantiation {instantiation_id} is not on cluster {cluster.name}")
    return found


def _version(
    uow: UnitOfWork, principal: Principal, profile_id: int, number: int | None
) -> tuple[Profile, ProfileVersion]:
    profile = uow.profiles.get(principal.org_id, profile_id, include_public=True)
    if profile is None:
        raise NotFound(f"Profile {profile_id} does not exist")
    chosen = number or profile.current_version
    if chosen is None:
        raise Conflict(f"Profile '{profile.name}' has no version on the stable channel; name one")
    version = uow.versions.get(profile.id, chosen)
    if version is None:
        raise NotFound(f"Profile '{profile.name}' has no version {chosen}")
    deprecation = uow.stacks.deprecations(profile.id).get(chosen)
    if deprecation is not None:
        raise Conflict(
            f"Version {chosen} of '{profile.name}' is deprecated: {deprecation['reason']}"
        )
    return profile, version
