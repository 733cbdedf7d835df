"""Pages: the fleet. Each of the org's profiles with its clusters by version, one profile's
clusters with a form to roll a version out, and a rollout job followed live.

The rollout form posts to the API (202 with a job); the job page follows the job's event
stream (`static/fleet.js`), and offers to cancel it, or to run a dry run for real.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from lamina.api.deps import ServicesDep
from lamina.api.inputs import Id
from lamina.config import Services
from lamina.domain.errors import LaminaError
from lamina.domain.models import ProfileQuery
from lamina.services.fleet import InstantiationRow
from lamina.web.pages import Pager, PageRoute, Viewer, ViewerDep, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 20
RESULTS_SHOWN = 1000
# The fields of a rollout request that a dry run's "run for real" sends again, as recorded.
REPLAYED = (
    "version",
    "clusters",
    "selector",
    "only_outdated",
    "continue_on_error",
    "batch_size",
    "batch_commits",
)


@dataclass(frozen=True)
class VersionGroup:
    """The clusters running one version of a profile."""

    version: int
    rows: list[InstantiationRow]

    @property
    def outdated(self) -> int:
        return sum(1 for r in self.rows if r.outdated)


def by_version(rows: list[InstantiationRow]) -> list[VersionGroup]:
    """Instantiations grouped by version, newest version first, clusters by name."""
    versions = sorted({r.version for r in rows}, reverse=True)
    return [
        VersionGroup(v, sorted((r for r in rows if r.version == v), key=lambda r: r.cluster))
        for v in versions
    ]


@router.get("/fleet")
def fleet(
    request: Request,
    who: ViewerDep,
    wired: ServicesDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The org's profiles, each with how many clusters run each version and how many are
    outdated."""
    found = wired.profiles.list_profiles(
        who.principal, ProfileQuery(page=page, page_size=PAGE_SIZE, include_public=False)
    )
    counts = wired.fleet.version_counts(who.principal, found.items)
    summaries = [
        {
            "profile": p,
            "versions": [(c.version, c.clusters) for c in counts.get(p.id, [])],
            "clusters": sum(c.clusters for c in counts.get(p.id, [])),
            "outdated": sum(c.outdated for c in counts.get(p.id, [])),
        }
        for p in found.items
    ]
    return render(
        request,
        "fleet.html",
        who=who,
        title="Fleet",
        summaries=summaries,
        pages=Pager(
            page=page, page_size=PAGE_SIZE, total=found.total_count, base="/fleet", query={}
        ),
    )


@router.get("/fleet/jobs/{job_id}")
def job(request: Request, job_id: Id, who: ViewerDep, wired: ServicesDep) -> Response:
    """A job: its state, counts and results so far; the page follows the rest live."""
    view = wired.jobs.view(who.principal, job_id, limit=RESULTS_SHOWN)
    asked = dict(view.job.request)
    profile_id = int(asked.get("profile_id") or 0)
    return render(
        request,
        "job.html",
        who=who,
        title=f"Job {view.job.id}",
        job=view.job,
        counts=view.counts,
        results=view.results,
        done=sum(view.counts.values()),
        asked=asked,
        profile_name=_profile_name(wired, who, profile_id),
        profile_id=profile_id,
        replay=_replay(asked),
    )


@router.get("/fleet/{profile}")
def fleet_profile(request: Request, profile: str, who: ViewerDep, wired: ServicesDep) -> Response:
    """The clusters running a profile, by version, and the form that starts a rollout."""
    profile_id = wired.names.profile(who.principal, profile)
    detail = wired.profiles.detail(who.principal, profile_id)
    rows = wired.fleet.instantiations(who.principal, profile_id)
    usable = [v for v in detail.versions if v.version not in detail.deprecations]
    chosen = detail.profile.current_version or (usable[-1].version if usable else None)
    return render(
        request,
        "fleet_profile.html",
        who=who,
        title=f"Fleet · {detail.profile.name}",
        profile=detail.profile,
        groups=by_version(rows),
        total=len(rows),
        outdated=sum(1 for r in rows if r.outdated),
        versions=sorted(usable, key=lambda v: v.version, reverse=True),
        chosen=chosen,
    )


def _profile_name(wired: Services, who: Viewer, profile_id: int) -> str | None:
    """The name of the job's profile, or None when it is gone."""
    if not profile_id:
        return None
    try:
        return wired.profiles.detail(who.principal, profile_id).profile.name
    except LaminaError:
        return None


def _replay(asked: dict[str, Any]) -> dict[str, Any] | None:
    """The request of a dry run without `dry_run`, as hidden JSON fields; None when the job
    was no dry run, or had parameters (their values are sealed and cannot be sent again)."""
    if not asked.get("dry_run") or asked.get("parameters"):
        return None
    return {k: asked[k] for k in REPLAYED if k in asked}
