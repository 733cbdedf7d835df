"""Drafts: create, edit with optimistic concurrency, validate, publish."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from lamina.adapters import yamlio
from lamina.api import schemas
from lamina.api.deps import DraftRef, PrincipalDep, ServicesDep
from lamina.api.inputs import Page, PageSize
from lamina.api.problems import UPSTREAM_PROBLEMS as UPSTREAM
from lamina.config import Services
from lamina.domain.errors import Issue
from lamina.domain.models import Principal

router = APIRouter(prefix="/api/v1/org/stack-profiles/drafts", tags=["drafts"])
YAML = "application/yaml"


@router.get("", response_model=schemas.ListResponse[schemas.DraftResponse])
def list_drafts(
    who: PrincipalDep,
    wired: ServicesDep,
    page: Page = 1,
    page_size: PageSize = 50,
    name: str | None = None,
) -> schemas.ListResponse[schemas.DraftResponse]:
    found = wired.drafts.list_drafts(who, page=page, page_size=page_size, name=name)
    return schemas.page_of(found, schemas.DraftResponse.of)


@router.post("", status_code=201, response_model=schemas.DraftResponse)
def create_draft(
    body: schemas.DraftCreate, who: PrincipalDep, wired: ServicesDep
) -> schemas.DraftResponse:
    if body.source_cluster is not None:
        name = body.name or f"captured-{body.source_cluster}"
        doc = wired.capture.document(
            who, body.source_cluster, name=name, include_values=body.include_values
        )
        return schemas.DraftResponse.of(wired.drafts.create(who, source=doc))
    draft = wired.drafts.create(
        who, name=body.name, profile_id=body.profile_id, from_version=body.from_version
    )
    return schemas.DraftResponse.of(draft)


@router.get("/{draft}", response_model=schemas.DraftResponse)
def get_draft(draft_id: DraftRef, who: PrincipalDep, wired: ServicesDep) -> schemas.DraftResponse:
    return schemas.DraftResponse.of(wired.drafts.get(who, draft_id))


@router.post("/{draft}", response_model=schemas.DraftResponse)
def update_draft(
    draft_id: DraftRef, body: schemas.DraftUpdate, who: PrincipalDep, wired: ServicesDep
) -> schemas.DraftResponse:
    """Replace the draft's spec, parameters and metadata; `version` must be the current one."""
    draft = wired.drafts.update(
        who,
        draft_id,
        expected_version=body.version,
        spec=body.spec,
        parameters=body.parameters,
        metadata=body.metadata,
    )
    return schemas.DraftResponse.of(draft)


@router.delete("/{draft}", status_code=204)
def delete_draft(draft_id: DraftRef, who: PrincipalDep, wired: ServicesDep) -> Response:
    wired.drafts.delete(who, draft_id)
    return Response(status_code=204)


@router.post("/{draft}/validate", response_model=schemas.ValidationResponse, responses=UPSTREAM)
def validate_draft(
    draft_id: DraftRef, who: PrincipalDep, wired: ServicesDep
) -> schemas.ValidationResponse:
    return schemas.ValidationResponse.model_validate(wired.drafts.validate(who, draft_id).as_dict())


@router.post(
    "/{draft}/check",
    response_model=schemas.CheckResponse,
    responses=UPSTREAM,
    openapi_extra={"requestBody": {"content": {YAML: {"schema": {"type": "string"}}}}},
)
async def check_draft(
    draft_id: DraftRef, request: Request, who: PrincipalDep, wired: ServicesDep
) -> schemas.CheckResponse:
    """Validate a document (YAML text) as the draft's validate route would, each issue with
    the line it concerns; nothing is saved. Text that is not YAML answers 200 with its
    syntax error as an issue."""
    text = (await request.body()).decode("utf-8", errors="replace")
    return await run_in_threadpool(_check, draft_id, text, who, wired)


def _check(draft_id: int, text: str, who: Principal, wired: Services) -> schemas.CheckResponse:
    parsed: list[Any] = []

    def parse() -> Any:
        parsed.append(yamlio.load(text, max_bytes=wired.settings.max_body_bytes))
        return parsed[0]

    report = wired.drafts.check(who, draft_id, parse)
    broken = None if parsed else yamlio.error_line(text)
    line_of = yamlio.locator(text) if parsed else (lambda _: broken)

    def row(issue: Issue, severity: str) -> schemas.CheckedIssue:
        line = line_of(issue.path)
        return schemas.CheckedIssue(**issue.as_dict(), severity=severity, line=line)

    issues = [row(i, "error") for i in report.errors] + [row(i, "warning") for i in report.warnings]
    return schemas.CheckResponse(
        valid=report.valid, issues=issues, document=parsed[0] if parsed else None
    )


@router.post(
    "/{draft}/publish",
    status_code=201,
    response_model=schemas.PublishResponse,
    responses=UPSTREAM,
)
def publish_draft(
    draft_id: DraftRef,
    who: PrincipalDep,
    wired: ServicesDep,
    body: schemas.PublishRequest | None = None,
) -> schemas.PublishResponse:
    overrides = body.model_dump(exclude_none=True) if body else {}
    profile, version = wired.drafts.publish(who, draft_id, overrides)
    return schemas.PublishResponse.of(profile, version)
