"""Cloning a profile into another org, resolving its charts to that org's registries."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse

from lamina.api import problems
from lamina.api.deps import PrincipalDep, ProfileRef, ServicesDep
from lamina.api.schemas_clone import CloneRequest, CloneResponse, ResolutionReport
from lamina.services.cloning import TARGET_TOKEN_HEADER, Outcome, Report

router = APIRouter(prefix="/api/v1/org/stack-profiles", tags=["profiles"])

_UNRESOLVED = {
    "description": "Unresolved charts or missing nested profiles: nothing was stored; the "
    "problem's `errors` name each one and its `report` holds the whole resolution",
}


@router.post(
    "/{profile}/clone",
    status_code=201,
    response_model=CloneResponse,
    responses={200: {"description": "Equal to the target's latest version"}, 409: _UNRESOLVED},
)
def clone_profile(
    profile_id: ProfileRef,
    body: CloneRequest,
    who: PrincipalDep,
    wired: ServicesDep,
    target_token: Annotated[
        str | None,
        Header(
            alias=TARGET_TOKEN_HEADER,
            description="An admin token of the target org (never logged or audited)",
        ),
    ] = None,
) -> Response:
    """Clone a version into another org (admins of both): every chart is resolved to the same
    chart at the same version in the target's registries; published there when all resolve,
    a draft with `allow_unresolved`, else 409 with the report and nothing stored."""
    cloned = wired.cloning.clone(
        who,
        profile_id,
        target_org=body.target_org,
        target_token=target_token,
        version=body.version,
        registry_map=body.registry_map,
        allow_unresolved=body.allow_unresolved,
    )
    if cloned.outcome is Outcome.REFUSED:
        return unresolved_answer(cloned.report)
    status = 200 if cloned.outcome is Outcome.UNCHANGED else 201
    answer = CloneResponse.of(cloned).model_dump_json()
    return Response(answer, status_code=status, media_type="application/json")


def unresolved_answer(report: Report) -> JSONResponse:
    """409 problem+json naming each unresolved chart, with the whole report beside."""
    issues = report.issues()
    count = len(issues)
    body = {
        "type": "https://lamina.dev/problems/unresolved-charts",
        "title": "Unresolved charts",
        "status": 409,
        "detail": f"Nothing was stored: the target org lacks {count} of the charts or nested "
        "profiles this version uses",
        "errors": [issue.as_dict() for issue in issues],
        "report": ResolutionReport.of(report).model_dump(mode="json"),
    }
    return JSONResponse(body, status_code=409, media_type=problems.PROBLEM_TYPE)


def with_report(answer: str, report: Report) -> str:
    """A JSON answer (an object) with the resolution report added as `resolution`."""
    body: dict[str, Any] = json.loads(answer)
    body["resolution"] = ResolutionReport.of(report).model_dump(mode="json")
    return json.dumps(body)
