"""Drafts: create, edit with optimistic concurrency, validate, publish."""

from __future__ import annotations

from fastapi import APIRouter, Response

from lamina.api import schemas
from lamina.api.deps import DraftRef, PrincipalDep, ServicesDep
from lamina.api.inputs import Page, PageSize
from lamina.api.problems import UPSTREAM_PROBLEMS as UPSTREAM

router = APIRouter(prefix="/api/v1/org/stack-profiles/drafts", tags=["drafts"])


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
