"""HTTP shapes of jobs: long work over many clusters, with per-cluster results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from lamina.domain.models import Job, JobResult
from lamina.services.jobs import JobView


class JobResultOut(BaseModel):
    id: int = Field(description="Orders the results of a job; `after` in the next request")
    cluster: str
    cluster_id: int
    status: str = Field(description="committed | would_change | skipped | failed")
    detail: dict[str, Any] = Field(
        description="The rollout result: reason, revision, commit_sha, changes, draft_id, "
        "missing_parameters"
    )
    at: datetime

    @classmethod
    def of(cls, result: JobResult) -> JobResultOut:
        return cls(
            id=result.id,
            cluster=result.cluster,
            cluster_id=result.cluster_id,
            status=result.status,
            detail=dict(result.detail),
            at=result.at,
        )


class JobOut(BaseModel):
    id: int
    kind: str
    state: str = Field(description="queued | running | succeeded | failed | cancelled")
    request: dict[str, Any] = Field(description="What was asked; parameter values left out")
    total: int = Field(description="Clusters the job covers")
    done: int = Field(description="Clusters with a result so far")
    counts: dict[str, int] = Field(description="Results per status")
    cancel_requested: bool
    attempts: int = Field(description="Workers that claimed it (more than 1 after a resume)")
    parts: int = Field(
        description="Parts it runs as, whole Git targets each, shared by the workers (0: one "
        "job); only a rollout that never stops early over several Git targets is split"
    )
    error: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    results: list[JobResultOut] = Field(
        default_factory=list, description="Results after `after`, at most `limit`"
    )

    @classmethod
    def of(cls, job: Job, counts: dict[str, int] | None = None) -> JobOut:
        counted = counts or {}
        return cls(
            id=job.id,
            kind=job.kind,
            state=job.state.value,
            request=dict(job.request),
            total=job.total,
            done=sum(counted.values()),
            counts=counted,
            cancel_requested=job.cancel_requested,
            attempts=job.attempts,
            parts=job.parts,
            error=job.error,
            created_by=job.created_by,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )

    @classmethod
    def of_view(cls, view: JobView) -> JobOut:
        shown = cls.of(view.job, view.counts)
        shown.results = [JobResultOut.of(r) for r in view.results]
        return shown
