"""SQL repository of jobs: the request, the lease of the worker running it, and the
per-cluster results in the order they were recorded.

A job split into parts is never claimed itself; its parts are, each like a job. Every
statement that touches a part and its job locks the job's row first (then the part's), so
two transactions never wait on each other in opposite orders on PostgreSQL; recording a
result holds the job's row until it commits, so one job's results commit in id order and
an `after=id` cursor never skips one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from lamina.adapters.store import tables as t
from lamina.adapters.store.rows import aware
from lamina.domain.models import Job, JobResult, JobState, Page, Role


def _maybe(value: Any) -> datetime | None:
    return aware(value) if value is not None else None


def _job(row: RowMapping) -> Job:
    return Job(
        id=row["id"],
        org_id=row["org_id"],
        kind=row["kind"],
        state=JobState(row["state"]),
        request=dict(row["request"]),
        role=Role(row["role"]),
        token_id=row["token_id"],
        created_by=row["created_by"],
        total=row["total"],
        cancel_requested=bool(row["cancel_requested"]),
        attempts=row["attempts"],
        created_at=aware(row["created_at"]),
        worker=row["worker"],
        lease_until=_maybe(row["lease_until"]),
        error=row["error"],
        started_at=_maybe(row["started_at"]),
        finished_at=_maybe(row["finished_at"]),
        parent_id=row["parent_id"],
        parts=row["parts"],
    )


def _result(row: RowMapping) -> JobResult:
    return JobResult(
        id=row["id"],
        job_id=row["job_id"],
        cluster_id=row["cluster_id"],
        cluster=row["cluster"],
        status=row["status"],
        detail=dict(row["detail"]),
        at=aware(row["at"]),
    )


class SqlJobs:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def create(self, job: Job, *, secrets_sealed: str | None) -> Job:
        row = (
            self._conn.execute(
                sa.insert(t.jobs)
                .values(
                    org_id=job.org_id,
                    kind=job.kind,
                    state=job.state.value,
                    request=job.request,
                    secrets_sealed=secrets_sealed,
                    role=job.role.value,
                    token_id=job.token_id,
                    created_by=job.created_by,
                    total=job.total,
                    cancel_requested=False,
                    attempts=0,
                    created_at=job.created_at,
                    parent_id=job.parent_id,
                    parts=job.parts,
                )
                .returning(t.jobs)
            )
            .mappings()
            .one()
        )
        return _job(row)

    def get(self, org_id: int | None, job_id: int) -> Job | None:
        j = t.jobs.c
        query = sa.select(t.jobs).where(j.id == job_id)
        if org_id is not None:
            query = query.where(j.org_id == org_id, j.parent_id.is_(None))
        row = self._conn.execute(query).mappings().first()
        return _job(row) if row else None

    def parts(self, job_id: int) -> list[Job]:
        j = t.jobs.c
        rows = self._conn.execute(
            sa.select(t.jobs).where(j.parent_id == job_id).order_by(j.id)
        ).mappings()
        return [_job(row) for row in rows]

    def secrets(self, job_id: int) -> str | None:
        found: str | None = self._conn.execute(
            sa.select(t.jobs.c.secrets_sealed).where(t.jobs.c.id == job_id)
        ).scalar_one_or_none()
        return found

    def page(self, org_id: int, *, page: int, page_size: int) -> Page[Job]:
        j = t.jobs.c
        mine = (j.org_id == org_id, j.parent_id.is_(None))
        total = self._conn.execute(
            sa.select(sa.func.count()).select_from(t.jobs).where(*mine)
        ).scalar_one()
        rows = self._conn.execute(
            sa.select(t.jobs)
            .where(*mine)
            .order_by(j.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).mappings()
        return Page([_job(r) for r in rows], total, page, page_size)

    def claim(self, job_id: int, *, worker: str, now: datetime, until: datetime) -> Job | None:
        j = t.jobs.c
        parent = self._lock_parent(job_id)
        free = sa.or_(
            j.state == JobState.QUEUED.value,
            sa.and_(j.state == JobState.RUNNING.value, j.lease_until < now),
        )
        taken = self._conn.execute(
            sa.update(t.jobs)
            .where(j.id == job_id, j.parts == 0, free)
            .values(
                state=JobState.RUNNING.value,
                worker=worker,
                lease_until=until,
                attempts=j.attempts + 1,
                started_at=sa.func.coalesce(j.started_at, now),
            )
        )
        if taken.rowcount != 1:
            return None
        job = self.get(None, job_id)
        if job is not None and parent is not None:  # the job runs once a part does
            self._conn.execute(
                sa.update(t.jobs)
                .where(j.id == parent)
                .values(
                    state=sa.case(
                        (j.state == JobState.QUEUED.value, JobState.RUNNING.value),
                        else_=j.state,
                    ),
                    started_at=sa.func.coalesce(j.started_at, now),
                    attempts=sa.case((j.attempts < job.attempts, job.attempts), else_=j.attempts),
                )
            )
        return job

    def _lock_parent(self, job_id: int) -> int | None:
        """The job `job_id` is a part of, its row locked (None for a job of its own)."""
        j = t.jobs.c
        parent: int | None = self._conn.execute(
            sa.select(j.parent_id).where(j.id == job_id)
        ).scalar_one_or_none()
        if parent is not None:
            self._conn.execute(sa.select(j.id).where(j.id == parent).with_for_update()).all()
        return parent

    def renew(self, job_id: int, *, worker: str, until: datetime) -> bool:
        j = t.jobs.c
        done = self._conn.execute(
            sa.update(t.jobs)
            .where(j.id == job_id, j.worker == worker, j.state == JobState.RUNNING.value)
            .values(lease_until=until)
        )
        return done.rowcount == 1

    def finish(
        self, job_id: int, *, worker: str, state: JobState, error: str | None, now: datetime
    ) -> bool:
        j = t.jobs.c
        parent = self._lock_parent(job_id)
        done = self._conn.execute(
            sa.update(t.jobs)
            .where(j.id == job_id, j.worker == worker, j.state == JobState.RUNNING.value)
            .values(
                state=state.value,
                error=error,
                finished_at=now,
                lease_until=None,
                secrets_sealed=None,  # the parameter values are not kept past the job
            )
        )
        if done.rowcount == 1 and parent is not None:
            self._close(parent, now)
        return done.rowcount == 1

    def _close(self, parent: int, now: datetime) -> None:
        """End job `parent` (its row locked by the caller) once none of its parts is
        unfinished: failed if one failed, else cancelled if one was, else succeeded."""
        j = t.jobs.c
        rows = self._conn.execute(
            sa.select(j.state, j.error).where(j.parent_id == parent).order_by(j.id)
        ).all()
        states = [JobState(state) for state, _ in rows]
        if not rows or not all(state.finished for state in states):
            return
        failed = [
            error
            for (_, error), state in zip(rows, states, strict=True)
            if state is JobState.FAILED
        ]
        if failed:
            state, error = JobState.FAILED, failed[0]
        elif JobState.CANCELLED in states:
            state, error = JobState.CANCELLED, None
        else:
            state, error = JobState.SUCCEEDED, None
        self._conn.execute(
            sa.update(t.jobs)
            .where(j.id == parent, j.state.in_([JobState.QUEUED.value, JobState.RUNNING.value]))
            .values(state=state.value, error=error, finished_at=now, lease_until=None)
        )

    def cancel(self, org_id: int, job_id: int, *, now: datetime) -> Job | None:
        j = t.jobs.c
        for mine in (
            (j.id == job_id, j.org_id == org_id, j.parent_id.is_(None)),
            (j.parent_id == job_id, j.org_id == org_id),  # the job's row first, then its parts'
        ):
            self._conn.execute(
                sa.update(t.jobs)
                .where(*mine, j.state == JobState.QUEUED.value)
                .values(
                    state=JobState.CANCELLED.value,
                    cancel_requested=True,
                    finished_at=now,
                    secrets_sealed=None,
                )
            )
            self._conn.execute(
                sa.update(t.jobs)
                .where(*mine, j.state == JobState.RUNNING.value)
                .values(cancel_requested=True)
            )
        job = self.get(org_id, job_id)
        if job is not None and job.parts:
            self._close(job.id, now)  # every part may have been queued still
            job = self.get(org_id, job_id)
        return job

    def add_results(self, job_id: int, results: list[JobResult], *, worker: str) -> bool:
        if not results:
            return True
        j = t.jobs.c
        self._lock_parent(job_id)
        holder = self._conn.execute(
            sa.select(j.worker)
            .where(j.id == job_id, j.state == JobState.RUNNING.value)
            .with_for_update()
        ).scalar_one_or_none()
        if holder != worker:
            return False
        self._conn.execute(
            sa.insert(t.job_results),
            [
                {
                    "job_id": result.job_id,
                    "cluster_id": result.cluster_id,
                    "cluster": result.cluster,
                    "status": result.status,
                    "detail": result.detail,
                    "at": result.at,
                }
                for result in results
            ],
        )
        return True

    def results(self, job_id: int, *, after: int = 0, limit: int = 1000) -> list[JobResult]:
        r = t.job_results.c
        rows = self._conn.execute(
            sa.select(t.job_results)
            .where(r.job_id == job_id, r.id > after)
            .order_by(r.id)
            .limit(limit)
        ).mappings()
        return [_result(row) for row in rows]

    def counts(self, job_id: int) -> dict[str, int]:
        r = t.job_results.c
        rows = self._conn.execute(
            sa.select(r.status, sa.func.count()).where(r.job_id == job_id).group_by(r.status)
        )
        return {status: count for status, count in rows}

    def unfinished(self, now: datetime) -> list[Job]:
        j = t.jobs.c
        stale = sa.or_(
            j.state == JobState.QUEUED.value,
            sa.and_(j.state == JobState.RUNNING.value, j.lease_until < now),
        )
        rows = self._conn.execute(
            sa.select(t.jobs).where(stale, j.parts == 0).order_by(j.id)
        ).mappings()
        return [_job(row) for row in rows]
