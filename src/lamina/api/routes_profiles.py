"""Profiles: list, detail, edit, delete, versions, diff, IaC export and import."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from lamina.adapters import yamlio
from lamina.api import inputs, routes_clone, schemas
from lamina.api.deps import PrincipalDep, ProfileRef, ServicesDep
from lamina.api.inputs import Id, IdQuery, Page, PageSize
from lamina.api.problems import UPSTREAM_PROBLEMS as UPSTREAM
from lamina.config import Services
from lamina.domain import document
from lamina.domain.errors import InvalidInput, Issue
from lamina.domain.models import Principal, ProfileQuery

router = APIRouter(prefix="/api/v1/org/stack-profiles", tags=["profiles"])
YAML = "application/yaml"


@router.get("", response_model=schemas.ListResponse[schemas.ProfileSummary])
def list_profiles(
    who: PrincipalDep,
    wired: ServicesDep,
    page: Page = 1,
    page_size: PageSize = 50,
    search: str | None = None,
    category: str | None = None,
    tag: str | None = None,
    include_public: bool = False,
    cursor: Annotated[
        str | None,
        Query(
            max_length=400,
            description="`next_cursor` of the previous page: the next page without skipping "
            "rows (then `page` is ignored)",
        ),
    ] = None,
) -> schemas.ListResponse[schemas.ProfileSummary]:
    query = ProfileQuery(
        page=page,
        page_size=page_size,
        search=search,
        category=category,
        tag=tag,
        include_public=include_public,
        after=inputs.cursor_key(cursor) if cursor else None,
    )
    found = wired.profiles.list_profiles(who, query)
    answer = schemas.page_of(found, schemas.ProfileSummary.of)
    if len(found.items) == page_size:
        last = found.items[-1]
        answer.next_cursor = inputs.cursor_of(last.name, last.id)
    return answer


@router.post(
    "/import",
    status_code=201,
    responses={
        **UPSTREAM,
        200: {"model": schemas.UnchangedResponse, "description": "Equal to the latest version"},
    },
    openapi_extra={"requestBody": {"content": {YAML: {"schema": {"type": "string"}}}}},
)
async def import_profile(
    request: Request,
    who: PrincipalDep,
    wired: ServicesDep,
    as_draft: bool = False,
    resolve: Annotated[
        bool,
        Query(
            description="Point each chart at this org's registries first (the same chart at "
            "the same version: by `registry_map`, the same URL, then search); unresolved "
            "charts answer 409 with the report, or stay in the draft with `as_draft=true`"
        ),
    ] = False,
    registry_map: Annotated[
        list[str],
        Query(max_length=500, description="`SOURCE=TARGET` registry names, with resolve=true"),
    ] = [],  # noqa: B006  (FastAPI copies query defaults)
) -> Response:
    """Import an IaC document (YAML): a new version, or with `as_draft=true` a new draft.

    A document equal to the latest version of its namesake (same spec, profile fields and
    channel; the changelog aside) publishes nothing: 200 with `unchanged: true`. With
    `resolve=true` the answer adds the resolution report as `resolution`."""
    text = await request.body()
    mapping = _registry_map(registry_map) if resolve else None
    # Parsing, validating and rendering take seconds on big documents: off the event loop.
    return await run_in_threadpool(_import_document, text, who, wired, as_draft, mapping)


def _registry_map(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, equals, target = pair.partition("=")
        if not equals or not source or not target:
            issue = Issue("registry_map", "invalid_value", f"'{pair}' is not SOURCE=TARGET")
            raise InvalidInput("Bad registry map", issues=[issue])
        mapping[source] = target
    return mapping


def _import_document(
    text: bytes,
    who: Principal,
    wired: Services,
    as_draft: bool,
    registry_map: dict[str, str] | None = None,
) -> Response:
    doc = yamlio.load(text, max_bytes=wired.settings.max_body_bytes)
    document.check_limits(doc)
    report = None
    if registry_map is not None:
        doc, report = wired.cloning.resolve_document(who, doc, registry_map)
        if report.unresolved and not as_draft:
            return routes_clone.unresolved_answer(report)
    status = 201
    if as_draft:
        draft = wired.drafts.create(who, source=doc)
        body = schemas.DraftResponse.of(draft).model_dump_json()
    else:
        imported = wired.profiles.import_or_keep(who, doc)
        if imported.unchanged:
            kept = schemas.UnchangedResponse.of(imported.profile, imported.version)
            body, status = kept.model_dump_json(), 200
        else:
            published = schemas.PublishResponse.of(imported.profile, imported.version)
            body = published.model_dump_json()
    if report is not None:
        body = routes_clone.with_report(body, report)
    return Response(body, status_code=status, media_type="application/json")


@router.get("/{profile}", response_model=schemas.ProfileDetailResponse)
def get_profile(
    profile_id: ProfileRef, who: PrincipalDep, wired: ServicesDep
) -> schemas.ProfileDetailResponse:
    detail = wired.profiles.detail(who, profile_id)
    status = detail.update_status
    return schemas.ProfileDetailResponse(
        profile=schemas.ProfileSummary.of(detail.profile),
        versions=[
            schemas.VersionRow.of(v).model_copy(
                update={"deprecation": detail.deprecations.get(v.version)}
            )
            for v in detail.versions
        ],
        latest_version_detail=schemas.VersionDetail.of(detail.latest) if detail.latest else None,
        update_status=schemas.UpdateStatus(
            outdated_instantiation_count=status.outdated_instantiation_count,
            has_update_available=status.has_update_available,
        ),
    )


@router.patch("/{profile}", response_model=schemas.ProfileSummary)
def patch_profile(
    profile_id: ProfileRef, body: schemas.ProfilePatch, who: PrincipalDep, wired: ServicesDep
) -> schemas.ProfileSummary:
    changes = body.model_dump(exclude_unset=True)
    return schemas.ProfileSummary.of(wired.profiles.update(who, profile_id, changes))


@router.delete(
    "/{profile}",
    status_code=204,
    responses={200: {"model": schemas.ProfileSummary, "description": "Archived (force=true)"}},
)
def delete_profile(
    profile_id: ProfileRef, who: PrincipalDep, wired: ServicesDep, force: bool = False
) -> Response:
    """Delete a profile nothing depends on; 409 names the clusters that run it and the versions
    that nest it. `force=true` archives it instead (200 with the profile): hidden from lists,
    still readable by id and still rendered for the clusters that run it."""
    profile = wired.profiles.delete(who, profile_id, force=force)
    if not force:
        return Response(status_code=204)
    body = schemas.ProfileSummary.of(profile).model_dump_json()
    return Response(body, media_type="application/json")


@router.get("/{profile}/versions/{number}", response_model=schemas.VersionDetail)
def get_version(
    profile_id: ProfileRef, number: Id, who: PrincipalDep, wired: ServicesDep
) -> schemas.VersionDetail:
    return schemas.VersionDetail.of(wired.profiles.version(who, profile_id, number))


@router.get("/{profile}/diff", response_model=schemas.DiffResponse, response_model_by_alias=True)
def diff_versions(
    profile_id: ProfileRef,
    who: PrincipalDep,
    wired: ServicesDep,
    from_version: IdQuery | None = None,
    to_version: IdQuery | None = None,
) -> schemas.DiffResponse:
    old, new, changes = wired.profiles.diff(who, profile_id, from_version, to_version)
    rows = [schemas.ChangeRow.model_validate(c.as_dict()) for c in changes]
    return schemas.DiffResponse(from_version=old, to_version=new, changes=rows)


@router.get(
    "/{profile}/versions/{number}/iac-export",
    response_class=Response,
    responses={200: {"content": {YAML: {}}}},
)
def export_version(
    profile_id: ProfileRef, number: Id, who: PrincipalDep, wired: ServicesDep
) -> Response:
    doc = wired.profiles.export(who, profile_id, number)
    return Response(yamlio.dump(doc), media_type=YAML)
