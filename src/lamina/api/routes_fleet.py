"""A profile across the fleet: instantiations, deprecations, rollouts."""

from __future__ import annotations

from fastapi import APIRouter, Response

from lamina.api import schemas
from lamina.api import schemas_clusters as s
from lamina.api import schemas_jobs as sj
from lamina.api.deps import PrincipalDep, ProfileRef, ServicesDep
from lamina.api.inputs import Id
from lamina.api.problems import UPSTREAM_PROBLEMS as UPSTREAM
from lamina.services.jobs import RolloutRequest

router = APIRouter(prefix="/api/v1/org/stack-profiles", tags=["fleet"])


@router.post("", status_code=201, response_model=schemas.PublishResponse, responses=UPSTREAM)
def capture(
    body: schemas.CaptureIn, who: PrincipalDep, wired: ServicesDep
) -> schemas.PublishResponse:
    """A new profile (version 1) from a cluster's committed stack; secret values never enter
    it (they become secret parameters)."""
    profile, version = wired.capture.capture(
        who, body.cluster, name=body.name, include_values=body.include_values
    )
    return schemas.PublishResponse.of(profile, version)


@router.post(
    "/{profile}/versions",
    status_code=201,
    response_model=schemas.PublishResponse,
    responses=UPSTREAM,
)
def capture_version(
    profile_id: ProfileRef, body: schemas.CaptureVersionIn, who: PrincipalDep, wired: ServicesDep
) -> schemas.PublishResponse:
    """The profile's next version from a cluster's committed stack."""
    profile, version = wired.capture.capture(
        who, body.cluster, name="", include_values=body.include_values, profile_id=profile_id
    )
    return schemas.PublishResponse.of(profile, version)


@router.get("/{profile}/instantiations", response_model=list[s.InstantiationOut])
def instantiations(
    profile_id: ProfileRef, who: PrincipalDep, wired: ServicesDep
) -> list[s.InstantiationOut]:
    """Every cluster running the profile, its version, and whether it is behind."""
    return [
        s.InstantiationOut(
            id=row.id,
            cluster=row.cluster,
            cluster_id=row.cluster_id,
            version=row.version,
            outdated=row.outdated,
            committed_at=row.committed_at,
        )
        for row in wired.fleet.instantiations(who, profile_id)
    ]


@router.post("/{profile}/versions/{number}/deprecation", response_model=schemas.ProfileSummary)
def deprecate(
    profile_id: ProfileRef, number: Id, body: s.DeprecationIn, who: PrincipalDep, wired: ServicesDep
) -> schemas.ProfileSummary:
    """Deprecate a version: it can no longer be instantiated and counts as outdated."""
    profile = wired.profiles.deprecate(who, profile_id, number, reason=body.reason, note=body.note)
    return schemas.ProfileSummary.of(profile)


@router.delete("/{profile}/versions/{number}/deprecation", status_code=204)
def undeprecate(
    profile_id: ProfileRef, number: Id, who: PrincipalDep, wired: ServicesDep
) -> Response:
    wired.profiles.undeprecate(who, profile_id, number)
    return Response(status_code=204)


@router.post(
    "/{profile}/rollout",
    status_code=202,
    response_model=sj.JobOut,
    responses=UPSTREAM,
)
def rollout(
    profile_id: ProfileRef, body: s.RolloutIn, who: PrincipalDep, wired: ServicesDep
) -> sj.JobOut:
    """Queue a rollout as a job (202): upgrade the matching instantiations in batches, with
    `parameters` applied to each, stopping at the first failure unless told otherwise. A
    dry run is the real run without the commit: every cluster is rendered and diffed,
    `would_change` ones keep their stack draft (`draft_id`) for review, and it never stops
    early. Follow it at `GET /api/v1/org/jobs/{id}` or its `/events` stream. The request
    is checked first: an unknown or deprecated version, parameters of the wrong type or a
    bad selector answer at once, and no job is made."""
    request = RolloutRequest(
        profile_id=profile_id,
        version=body.version,
        clusters=body.clusters,
        selector=body.selector,
        only_outdated=body.only_outdated,
        dry_run=body.dry_run,
        continue_on_error=body.continue_on_error,
        batch_size=body.batch_size,
        parameters={p.name: p.value for p in body.parameters},
        batch_commits=body.batch_commits,
    )
    return sj.JobOut.of(wired.jobs.start_rollout(who, request), {})
