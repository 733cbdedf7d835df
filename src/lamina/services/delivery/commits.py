"""Committing a stack draft to its cluster's Git target exactly once.

One commit is three steps, none of which holds a database transaction across the push:

1. under the cluster's lock (held outside the database), record an intent: the draft, the
   revision it builds on, the remote head known to the database, and a unique marker that
   the commit message carries as a trailer line;
2. push the commit (no transaction open, so a slow remote delays only its own cluster);
3. record the commit SHA, the new revision and the instantiations, and drop the intent.

A crash after step 1 leaves the intent. Whoever takes the cluster's lock next (a retry, a
discard, a new commit, or the server at start) reconciles it first: if the remote holds a
commit carrying the marker, that SHA is recorded as the draft's commit; if not, the push
never landed and the intent is dropped. The lock dies with its holder, so an intent found
under the lock belongs to an attempt that is over. A recorded SHA is always the pushed one.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lamina.domain.errors import Conflict, DeliveryFailed, LaminaError, NotFound
from lamina.domain.models import Cluster, CommitIntent, Principal, StackDraft, StackRevision
from lamina.ports import Clock, GitRepository, Store
from lamina.services.clusters import ClusterService

MARKER_KEY = "Lamina-Commit"
log = logging.getLogger(__name__)

# Called with (org slug, Git URL) before anything is pushed; raises when the target is
# no longer allowed by the server's policy.
TargetCheck = Callable[[str, str], None]


@dataclass(frozen=True)
class Committed:
    revision: int
    commit_sha: str | None


class Committer:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        git: GitRepository,
        clusters: ClusterService,
        timings: dict[str, float],
        check_target: TargetCheck | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._git = git
        self._clusters = clusters
        self._timings = timings
        self._check_target = check_target

    def commit(
        self, principal: Principal, cluster_id: int, draft_id: int, message: str | None
    ) -> Committed:
        """Push the draft's tree in one commit and record it; a draft made against an older
        revision is refused (409). Nothing is recorded unless the remote holds the commit."""
        with self._store.cluster_lock(cluster_id, what=f"Cluster {cluster_id}"):
            found = self._ready(principal, cluster_id, draft_id)
            if isinstance(found, Committed):  # a retry of a commit that landed: same answer
                return found
            cluster, draft = found
            if self._check_target is not None:
                self._check_target(principal.org_slug, cluster.gitops.url)
            text = (
                message
                or f"lamina: {draft.action} on {cluster.name} (revision {cluster.revision + 1})"
            )
            intent = CommitIntent(
                cluster_id=cluster.id,
                draft_id=draft.id,
                marker=f"{MARKER_KEY}: {uuid.uuid4().hex}",
                base_revision=cluster.revision,
                parent_sha=cluster.commit_sha,
                message=text,
                created_at=self._clock.now(),
            )
            with self._store.unit_of_work(write=True) as uow:
                uow.stacks.add_intent(intent)
            started = time.perf_counter()
            try:
                sha = self._push(cluster, draft, intent)
            except Exception:
                self._after_failed_push(cluster, intent)
                raise
            finally:
                self._timings["git"] += time.perf_counter() - started
            return self._record(
                cluster, draft, intent, sha or cluster.commit_sha or "", principal.token_label
            )

    def commit_batch(
        self, principal: Principal, items: list[tuple[int, int]], message: str
    ) -> dict[int, Committed | LaminaError]:
        """Push the drafts of several clusters ((cluster id, draft id), clusters sharing one
        Git target) in one commit, and record each cluster's revision with its SHA. Exactly
        once as `commit` is: one marker in the message, one intent per cluster, so a crash
        after the push is settled cluster by cluster. A cluster whose draft is stale or gone
        gets its own error; a refused push fails them all, recording nothing."""
        outcome: dict[int, Committed | LaminaError] = {}
        ids = [cluster_id for cluster_id, _ in items]
        with self._store.cluster_locks(ids, what=f"{len(ids)} clusters"):
            ready: list[tuple[Cluster, StackDraft]] = []
            for cluster_id, draft_id in items:
                try:
                    found = self._ready(principal, cluster_id, draft_id)
                except LaminaError as error:
                    outcome[cluster_id] = error
                    continue
                if isinstance(found, Committed):
                    outcome[cluster_id] = found
                else:
                    ready.append(found)
            # Clusters that reach the repository with other credentials get commits of
            # their own: one cluster's token never writes another's folder.
            groups: dict[tuple[str, str, str | None, str | None], list[tuple[Cluster, StackDraft]]]
            groups = {}
            for cluster, draft in ready:
                key = (
                    cluster.gitops.url,
                    cluster.gitops.branch,
                    cluster.gitops.username,
                    self._clusters.git_token(cluster),
                )
                groups.setdefault(key, []).append((cluster, draft))
            for group in groups.values():
                outcome |= self._push_together(principal, group, message)
        return outcome

    def _push_together(
        self, principal: Principal, ready: list[tuple[Cluster, StackDraft]], message: str
    ) -> dict[int, Committed | LaminaError]:
        """One commit for clusters of one Git target and credentials (the caller holds
        their locks): intents, the push, then each cluster's record."""
        first = ready[0][0]
        try:
            if self._check_target is not None:
                self._check_target(principal.org_slug, first.gitops.url)
        except LaminaError as error:
            return {cluster.id: error for cluster, _ in ready}
        marker = f"{MARKER_KEY}: {uuid.uuid4().hex}"
        lines = [f"- {c.name}: {d.action} (revision {c.revision + 1})" for c, d in ready]
        text = f"{message}\n\n" + "\n".join(lines)
        now = self._clock.now()
        intents = [
            CommitIntent(
                cluster_id=cluster.id,
                draft_id=draft.id,
                marker=marker,
                base_revision=cluster.revision,
                parent_sha=cluster.commit_sha,
                message=text,
                created_at=now,
            )
            for cluster, draft in ready
        ]
        with self._store.unit_of_work(write=True) as uow:
            for intent in intents:
                uow.stacks.add_intent(intent)
        started = time.perf_counter()
        try:
            sha = self._git.commit_trees(
                **self._reach(first),
                trees={f"{c.gitops.path}/{c.name}".strip("/"): d.files for c, d in ready},
                message=f"{text}\n\n{marker}\n",
            )
        except Exception as failure:
            failed = (
                failure
                if isinstance(failure, LaminaError)
                else DeliveryFailed(f"The commit could not be made: {failure}")
            )
            outcome: dict[int, Committed | LaminaError] = {}
            for (cluster, draft), intent in zip(ready, intents, strict=True):
                # The push may have landed before the connection broke: then it is
                # recorded here, and the cluster's answer is its commit, not the error.
                self._after_failed_push(cluster, intent)
                with self._store.unit_of_work() as uow:
                    done = uow.stacks.committed_draft(cluster.id, draft.id)
                outcome[cluster.id] = Committed(*done) if done else failed
            return outcome
        finally:
            self._timings["git"] += time.perf_counter() - started
        outcome = {}
        for (cluster, draft), intent in zip(ready, intents, strict=True):
            try:
                landed = sha or cluster.commit_sha or ""
                outcome[cluster.id] = self._record(
                    cluster, draft, intent, landed, principal.token_label
                )
            except LaminaError as error:
                outcome[cluster.id] = error
        return outcome

    def _ready(
        self, principal: Principal, cluster_id: int, draft_id: int
    ) -> tuple[Cluster, StackDraft] | Committed:
        """The cluster (settled) and its draft, ready to commit; or the answer of a commit of
        that draft that landed already. NotFound, or Conflict for a stale draft."""
        cluster = self._settled(principal.org_id, cluster_id)
        with self._store.unit_of_work() as uow:
            draft = uow.stacks.draft(principal.org_id, cluster_id, draft_id)
            done = uow.stacks.committed_draft(cluster_id, draft_id) if not draft else None
        if done is not None:
            return Committed(revision=done[0], commit_sha=done[1])
        if draft is None:
            raise NotFound(f"Stack draft {draft_id} does not exist on cluster {cluster_id}")
        if cluster.revision != draft.base_revision:
            raise Conflict(
                f"The stack moved to revision {cluster.revision} since this draft was made "
                f"against {draft.base_revision}; create the draft again"
            )
        return cluster, draft

    def discard(self, principal: Principal, cluster_id: int, draft_id: int) -> None:
        """Delete a stack draft; a commit of it that may have landed is reconciled first."""
        with self._store.cluster_lock(cluster_id, what=f"Cluster {cluster_id}"):
            self._settled(principal.org_id, cluster_id)
            with self._store.unit_of_work(write=True) as uow:
                if uow.stacks.draft(principal.org_id, cluster_id, draft_id) is None:
                    raise NotFound(f"Stack draft {draft_id} does not exist on cluster {cluster_id}")
                uow.stacks.delete_draft(draft_id)

    def replace_reviews(self, principal: Principal, kept: dict[int, int], profile_id: int) -> None:
        """For each cluster of `kept` (cluster id -> the draft a dry run of the profile keeps
        for review), delete the drafts earlier dry runs of the profile kept, as `discard`
        does (a commit of one that may have landed is reconciled first). One read for all
        the clusters; a cluster whose drafts cannot be replaced now keeps them beside the
        new one, for the next dry run to replace."""
        with self._store.unit_of_work() as uow:
            found = uow.stacks.reviews(sorted(kept), profile_id)
        for cluster_id, drafts in found.items():
            older = [draft_id for draft_id in drafts if draft_id != kept[cluster_id]]
            if not older:
                continue
            try:
                with self._store.cluster_lock(cluster_id, what=f"Cluster {cluster_id}"):
                    self._settled(principal.org_id, cluster_id)
                    with self._store.unit_of_work(write=True) as uow:
                        for old in older:
                            uow.stacks.delete_draft(old)
            except LaminaError as error:
                log.warning("kept older review drafts of cluster %s: %s", cluster_id, error)

    def settle(self, principal: Principal, cluster_id: int) -> bool:
        """Settle a commit of this cluster that a crash interrupted (recording it when it
        landed); whether there was one. Cheap when there is none: no lock is taken."""
        with self._store.unit_of_work() as uow:
            pending = uow.stacks.intent(cluster_id)
        if pending is None:
            return False
        with self._store.cluster_lock(cluster_id, what=f"Cluster {cluster_id}"):
            self._settled(principal.org_id, cluster_id)
        return True

    def reconcile_pending(self) -> int:
        """Reconcile every intent left by a crash (at server start); how many were settled.
        One unreachable remote does not stop the others."""
        with self._store.unit_of_work() as uow:
            pending = uow.stacks.pending_intents()
        settled = 0
        for intent in pending:
            try:
                with self._store.cluster_lock(intent.cluster_id, what="The cluster"):
                    with self._store.unit_of_work() as uow:
                        org_id = uow.clusters.org_of(intent.cluster_id)
                    if org_id is not None:
                        self._settled(org_id, intent.cluster_id)
                        settled += 1
            except (DeliveryFailed, Conflict) as error:
                log.warning(
                    "commit intent of cluster %s stays pending: %s", intent.cluster_id, error
                )
        return settled

    # -- steps ------------------------------------------------------------------------------

    def _push(self, cluster: Cluster, draft: StackDraft, intent: CommitIntent) -> str | None:
        return self._git.commit_tree(
            **self._reach(cluster),
            directory=f"{cluster.gitops.path}/{cluster.name}".strip("/"),
            files=draft.files,
            message=f"{intent.message}\n\n{intent.marker}\n",
        )

    def _reach(self, cluster: Cluster) -> dict[str, Any]:
        """How the cluster's Git target is reached: URL, branch and credentials."""
        return {
            "url": cluster.gitops.url,
            "branch": cluster.gitops.branch,
            "username": cluster.gitops.username,
            "token": self._clusters.git_token(cluster),
        }

    def _after_failed_push(self, cluster: Cluster, intent: CommitIntent) -> None:
        # The push may have landed before the connection broke: settle it now when the
        # remote answers, else the intent stays for the next holder of the lock.
        try:
            self._settled(cluster.org_id, cluster.id)
        except Exception as error:
            log.warning("cannot tell yet whether commit %s landed: %s", intent.marker, error)

    def _record(
        self,
        cluster: Cluster,
        draft: StackDraft,
        intent: CommitIntent,
        sha: str,
        by: str | None = None,
    ) -> Committed:
        """Record the pushed commit; `by` is the committing token's label (unknown when an
        interrupted commit is settled later)."""
        started = time.perf_counter()
        now = self._clock.now()
        with self._store.unit_of_work(write=True) as uow:
            if not uow.clusters.record_commit(
                cluster.id, expected_revision=intent.base_revision, sha=sha, now=now
            ):
                raise Conflict(f"Cluster '{cluster.name}' moved while its commit was recorded")
            ids = uow.stacks.replace_instantiations(cluster.id, cluster.org_id, draft.addons, now)
            addons = [{**a, "instantiation_id": i} for a, i in zip(draft.addons, ids, strict=True)]
            revision = intent.base_revision + 1
            uow.stacks.add_revision(
                StackRevision(
                    cluster.id,
                    revision,
                    sha,
                    intent.message,
                    addons,
                    draft.objects,
                    now,
                    draft.id,
                    committed_by=by or None,
                )
            )
            uow.stacks.delete_draft(draft.id)
            uow.stacks.drop_intent(cluster.id, intent.marker)
        self._timings["database"] += time.perf_counter() - started
        return Committed(revision=revision, commit_sha=sha)

    def _settled(self, org_id: int, cluster_id: int) -> Cluster:
        """The cluster after reconciling an intent left by an attempt that is over (the
        caller holds the cluster's lock). DeliveryFailed when the remote cannot tell."""
        with self._store.unit_of_work() as uow:
            cluster = uow.clusters.get(org_id, cluster_id)
            intent = uow.stacks.intent(cluster_id) if cluster else None
            draft = (
                uow.stacks.draft(org_id, cluster_id, intent.draft_id)
                if cluster and intent
                else None
            )
        if cluster is None:
            raise NotFound(f"Cluster {cluster_id} does not exist")
        if intent is None:
            return cluster
        try:
            sha = self._git.find_commit(
                **self._reach(cluster),
                marker=intent.marker,
                since=intent.parent_sha,
            )
        except DeliveryFailed as error:
            raise DeliveryFailed(
                f"An earlier commit to cluster '{cluster.name}' was interrupted and the "
                f"repository cannot tell whether it landed: {error.detail}"
            ) from error
        if sha and draft is not None and cluster.revision == intent.base_revision:
            log.info("recording interrupted commit %s of cluster %s", sha, cluster.name)
            self._record(cluster, draft, intent, sha)
        else:
            with self._store.unit_of_work(write=True) as uow:
                uow.stacks.drop_intent(cluster.id, intent.marker)
        with self._store.unit_of_work() as uow:
            fresh = uow.clusters.get(org_id, cluster_id)
        if fresh is None:
            raise NotFound(f"Cluster {cluster_id} does not exist")
        return fresh
