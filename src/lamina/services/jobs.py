"""Jobs: long work over many clusters (rollouts), run by workers, never inside a request.

Starting a job checks the request and records it (queued) before anything is touched; a
worker claims it with a lease it keeps renewing, records one result per cluster as soon as
that cluster is done, and finishes it. A worker that dies leaves the job running under a
lease that runs out: recovery enqueues it again and the next claim resumes it, leaving out
the clusters already recorded. So the record never claims what did not happen: a cluster
committed just before a crash shows on resume as already at the version (skipped).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from lamina.domain.errors import Conflict, LaminaError, NotFound
from lamina.domain.models import Job, JobResult, JobState, Page, Principal, Role
from lamina.ports import Cipher, Clock, JobQueue, Store
from lamina.services.access import require
from lamina.services.fleet import FleetService, InstantiationRow, RolloutStep, as_dict

log = logging.getLogger("lamina.jobs")

ROLLOUT = "rollout"
MAX_ATTEMPTS = 3
STATUSES = ("committed", "would_change", "skipped", "failed")


@dataclass(frozen=True)
class RolloutRequest:
    profile_id: int
    version: int
    clusters: list[str] | None = None
    selector: str = ""
    only_outdated: bool = True
    dry_run: bool = False
    continue_on_error: bool = False
    batch_size: int = 10
    parameters: dict[str, Any] | None = None
    batch_commits: bool = True


@dataclass(frozen=True)
class JobView:
    job: Job
    counts: dict[str, int]
    results: list[JobResult]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class JobService:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        cipher: Cipher,
        fleet: FleetService,
        queue: JobQueue,
        lease_seconds: float = 30.0,
        parts: int = 4,
    ) -> None:
        self._store = store
        self._clock = clock
        self._cipher = cipher
        self._fleet = fleet
        self._queue = queue
        self._lease = timedelta(seconds=lease_seconds)
        self._parts = parts
        self._enqueued: dict[int, float] = {}

    # --- the API side -------------------------------------------------------------------

    def start_rollout(self, principal: Principal, request: RolloutRequest) -> Job:
        """Check the rollout and queue it as a job; nothing is touched until a worker runs
        it. Errors in the request (unknown or deprecated version, parameters of the wrong
        type, a bad selector) answer here, before a job exists.

        A rollout that never stops early (a dry run, or `continue_on_error`) over several
        Git targets is split into parts, whole Git targets each, that workers run at once;
        one that stops at the first failure runs as one job, in order."""
        groups = self._fleet.plan_by_target(
            principal,
            request.profile_id,
            version=request.version,
            clusters=request.clusters,
            selector=request.selector,
            parameters=request.parameters,
        )
        supplied = dict(request.parameters or {})
        recorded: dict[str, Any] = {
            "profile_id": request.profile_id,
            "version": request.version,
            "clusters": request.clusters,
            "selector": request.selector,
            "only_outdated": request.only_outdated,
            "dry_run": request.dry_run,
            "continue_on_error": request.continue_on_error,
            "batch_size": request.batch_size,
            "batch_commits": request.batch_commits,
            "parameters": sorted(supplied),
            "org_slug": principal.org_slug,
        }
        sealed = self._cipher.seal(json.dumps(supplied)) if supplied else None
        shares = (
            _shares(list(groups.values()), self._parts)
            if request.dry_run or request.continue_on_error
            else []
        )
        draft = Job(
            id=0,
            org_id=principal.org_id,
            kind=ROLLOUT,
            state=JobState.QUEUED,
            request=recorded,
            role=principal.role,
            token_id=principal.token_id,
            created_by=principal.token_label,
            total=sum(map(len, groups.values())),
            cancel_requested=False,
            attempts=0,
            created_at=self._clock.now(),
            parts=len(shares),
        )
        with self._store.unit_of_work(write=True) as uow:
            job = uow.jobs.create(draft, secrets_sealed=None if shares else sealed)
            parts = [
                uow.jobs.create(
                    replace(
                        draft,
                        request={**recorded, "clusters": names, "part": number},
                        total=len(names),
                        parent_id=job.id,
                        parts=0,
                    ),
                    secrets_sealed=sealed,
                )
                for number, names in enumerate(shares, start=1)
            ]
        for ringing in parts or [job]:
            self._ring(ringing.id)
        return job

    def list_jobs(self, principal: Principal, *, page: int, page_size: int) -> Page[Job]:
        with self._store.unit_of_work() as uow:
            return uow.jobs.page(principal.org_id, page=page, page_size=page_size)

    def view(
        self, principal: Principal, job_id: int, *, after: int = 0, limit: int = 1000
    ) -> JobView:
        """The job, its counts per status, and its results after result id `after`."""
        with self._store.unit_of_work() as uow:
            job = uow.jobs.get(principal.org_id, job_id)
            if job is None:
                raise NotFound(f"Job {job_id} does not exist")
            counts = uow.jobs.counts(job.id)
            results = uow.jobs.results(job.id, after=after, limit=limit)
        return JobView(job, {s: counts.get(s, 0) for s in STATUSES}, results)

    def cancel(self, principal: Principal, job_id: int) -> Job:
        """Stop the job after the clusters of its current batch (a queued job at once)."""
        require(principal, Role.EDITOR)
        with self._store.unit_of_work(write=True) as uow:
            found = uow.jobs.get(principal.org_id, job_id)
            if found is None:
                raise NotFound(f"Job {job_id} does not exist")
            if found.state.finished:
                raise Conflict(f"Job {job_id} already {found.state.value}")
            job = uow.jobs.cancel(principal.org_id, job_id, now=self._clock.now())
        assert job is not None
        return job

    # --- the worker side ----------------------------------------------------------------

    def run(self, job_id: int) -> None:
        """Claim the job and run it to its end; return at once if another worker has it."""
        worker = worker_name()
        now = self._clock.now()
        with self._store.unit_of_work(write=True) as uow:
            job = uow.jobs.claim(job_id, worker=worker, now=now, until=now + self._lease)
            if job is None:
                return
            secrets = uow.jobs.secrets(job_id)
            done = {r.cluster_id: r.status for r in uow.jobs.results(job.results_of, limit=10**9)}
        lost = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(job.id, worker, lost), daemon=True, name="lease"
        )
        beat.start()
        try:
            state, error = self._run_rollout(job, worker, secrets, done, lost)
        except LaminaError as failure:
            state, error = JobState.FAILED, failure.detail
        except Exception as crash:
            log.exception("Job %s failed", job.id)
            state, error = JobState.FAILED, f"Internal error: {type(crash).__name__}"
        finally:
            lost.set()
            beat.join(timeout=5)
        with self._store.unit_of_work(write=True) as uow:
            uow.jobs.finish(job.id, worker=worker, state=state, error=error, now=self._clock.now())

    def _run_rollout(
        self,
        job: Job,
        worker: str,
        secrets: str | None,
        done: dict[int, str],
        lost: threading.Event,
    ) -> tuple[JobState, str | None]:
        request = job.request
        principal = Principal(
            org_id=job.org_id,
            org_slug=str(request["org_slug"]),
            role=job.role,
            token_id=job.token_id,
            token_label=job.created_by,
        )
        parameters = json.loads(self._cipher.open(secrets)) if secrets else {}
        stop_asked = False

        def record(steps: list[RolloutStep]) -> None:
            now = self._clock.now()
            results = [
                JobResult(0, job.results_of, s.cluster_id, s.cluster, s.status, as_dict(s), now)
                for s in steps
            ]
            with self._store.unit_of_work(write=True) as uow:
                kept = uow.jobs.add_results(job.id, results, worker=worker)
            if not kept:  # another worker holds the job now: this one stops
                lost.set()

        def cancelled() -> bool:
            nonlocal stop_asked
            with self._store.unit_of_work() as uow:
                current = uow.jobs.get(None, job.id)
            stop_asked = current is None or current.cancel_requested
            return stop_asked or lost.is_set()

        clusters = request.get("clusters")
        self._fleet.rollout(
            principal,
            int(str(request["profile_id"])),
            version=int(str(request["version"])),
            clusters=[str(c) for c in clusters] if isinstance(clusters, list) else None,
            selector=str(request.get("selector") or ""),
            only_outdated=bool(request.get("only_outdated", True)),
            dry_run=bool(request.get("dry_run", False)),
            continue_on_error=bool(request.get("continue_on_error", False)),
            batch_size=int(str(request.get("batch_size") or 10)),
            batch_commits=bool(request.get("batch_commits", True)),
            parameters=parameters,
            progress=record,
            done=done,
            cancelled=cancelled,
        )
        if stop_asked:
            return JobState.CANCELLED, None
        with self._store.unit_of_work() as uow:
            failed = uow.jobs.counts(job.results_of).get("failed", 0)
        if failed and not (request.get("continue_on_error") or request.get("dry_run")):
            return JobState.FAILED, "Stopped at the first failing cluster"
        return JobState.SUCCEEDED, None

    def _heartbeat(self, job_id: int, worker: str, lost: threading.Event) -> None:
        every = max(0.05, self._lease.total_seconds() / 3)
        while not lost.wait(every):
            try:
                with self._store.unit_of_work(write=True) as uow:
                    kept = uow.jobs.renew(
                        job_id, worker=worker, until=self._clock.now() + self._lease
                    )
            except Exception:  # the store is busy or unreachable now; the lease may hold
                log.warning("Could not renew the lease of job %s", job_id, exc_info=True)
                continue
            if not kept:
                lost.set()

    def recover(self) -> list[int]:
        """Enqueue again the jobs nobody runs: queued ones whose message may be lost, and
        running ones whose worker's lease ran out; give up on a job after its attempts."""
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            found = uow.jobs.unfinished(now)
        again: list[int] = []
        for job in found:
            if job.state is JobState.RUNNING and job.attempts >= MAX_ATTEMPTS:
                with self._store.unit_of_work(write=True) as uow:
                    uow.jobs.finish(
                        job.id,
                        worker=job.worker or "",
                        state=JobState.FAILED,
                        error=f"Gave up after {job.attempts} attempts",
                        now=now,
                    )
                continue
            if self._ring(job.id, quiet=self._lease.total_seconds()):
                again.append(job.id)
        return again

    def _ring(self, job_id: int, *, quiet: float = 0.0) -> bool:
        """Enqueue the job unless this process did within `quiet` seconds."""
        if len(self._enqueued) > 10_000:  # only recent rings matter
            self._enqueued.clear()
        last = self._enqueued.get(job_id)
        if last is not None and time.monotonic() - last < quiet:
            return False
        try:
            self._queue.enqueue(job_id)
        except Exception:  # the store keeps the job: recovery rings again later
            log.exception("Could not enqueue job %s", job_id)
            return False
        self._enqueued[job_id] = time.monotonic()
        return True


def _shares(groups: list[list[InstantiationRow]], parts: int) -> list[list[str]]:
    """The cluster names of each part: whole Git targets (`groups`) spread over at most
    `parts` parts, largest first onto the part with the fewest clusters, each part in plan
    order; none (no split) for fewer than two targets or parts."""
    count = min(parts, len(groups))
    if count < 2:
        return []
    order = {row.cluster_id: index for index, row in enumerate(r for g in groups for r in g)}
    bins: list[list[InstantiationRow]] = [[] for _ in range(count)]
    for group in sorted(groups, key=len, reverse=True):
        min(bins, key=len).extend(group)
    return [
        [row.cluster for row in sorted(share, key=lambda r: order[r.cluster_id])]
        for share in bins
        if share
    ]
