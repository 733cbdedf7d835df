"""Jobs: state, results so far, a stream of progress events, and cancelling."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from lamina.api import schemas
from lamina.api import schemas_jobs as s
from lamina.api.deps import PrincipalDep, ServicesDep
from lamina.api.inputs import Id, Page, PageSize
from lamina.config import Services
from lamina.domain.models import Principal

router = APIRouter(prefix="/api/v1/org/jobs", tags=["jobs"])
POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0


@router.get("", response_model=schemas.ListResponse[s.JobOut])
def list_jobs(
    who: PrincipalDep, wired: ServicesDep, page: Page = 1, page_size: PageSize = 50
) -> schemas.ListResponse[s.JobOut]:
    """The org's jobs, newest first (without their results)."""
    return schemas.page_of(wired.jobs.list_jobs(who, page=page, page_size=page_size), s.JobOut.of)


@router.get("/{job_id}", response_model=s.JobOut)
def get_job(
    job_id: Id,
    who: PrincipalDep,
    wired: ServicesDep,
    after: Annotated[int, Query(ge=0, le=2**31 - 1, description="Results after this id")] = 0,
    limit: Annotated[int, Query(ge=0, le=5000, description="At most this many results")] = 1000,
) -> s.JobOut:
    """The job's state, counts per status, and its per-cluster results so far."""
    return s.JobOut.of_view(wired.jobs.view(who, job_id, after=after, limit=limit))


@router.post("/{job_id}/cancel", response_model=s.JobOut)
def cancel_job(job_id: Id, who: PrincipalDep, wired: ServicesDep) -> s.JobOut:
    """Stop after the clusters of the current batch; a queued job stops at once. 409 when
    the job already ended."""
    wired.jobs.cancel(who, job_id)
    return s.JobOut.of_view(wired.jobs.view(who, job_id, limit=0))


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def job_events(
    job_id: Id,
    request: Request,
    who: PrincipalDep,
    wired: ServicesDep,
    last_event_id: Annotated[int | None, Header(ge=0, le=2**31 - 1)] = None,
) -> StreamingResponse:
    """Server-sent events: `result` for each cluster done (its id is the result id, so a
    client reconnecting with `Last-Event-ID` misses nothing), `state` when the job's state
    changes, and a final `end` once it finished."""
    first = await run_in_threadpool(wired.jobs.view, who, job_id, after=0, limit=0)
    stream = _events(request, wired, who, first.job.id, last_event_id or 0)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


async def _events(
    request: Request, wired: Services, who: Principal, job_id: int, after: int
) -> AsyncIterator[str]:
    state = ""
    quiet = 0.0
    while True:
        view = await run_in_threadpool(wired.jobs.view, who, job_id, after=after, limit=500)
        for result in view.results:
            data = s.JobResultOut.of(result).model_dump_json()
            yield f"id: {result.id}\nevent: result\ndata: {data}\n\n"
            after = result.id
            quiet = 0.0
        shown = s.JobOut.of(view.job, view.counts)
        if view.job.state.value != state:
            state = view.job.state.value
            yield f"event: state\ndata: {shown.model_dump_json()}\n\n"
        if view.job.state.finished and len(view.results) < 500:
            yield f"event: end\ndata: {json.dumps({'state': state})}\n\n"
            return
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_SECONDS)
        quiet += POLL_SECONDS
        if quiet >= KEEPALIVE_SECONDS:
            quiet = 0.0
            yield ": keep-alive\n\n"
