"""HTTP shapes of a clone into another org and of the resolution report it answers with."""

from __future__ import annotations

from pydantic import BaseModel, Field

from lamina.api import schemas
from lamina.api.inputs import IdField, Strict
from lamina.domain.resolution import Resolution, Status
from lamina.services.cloning import Cloned, Report


class CloneRequest(Strict):
    target_org: str = Field(min_length=1, max_length=63, description="The target org's slug")
    version: IdField | None = Field(default=None, description="Default: the latest version")
    registry_map: dict[str, str] = Field(
        default_factory=dict,
        max_length=500,
        description="Source registry name to target registry name, tried before the "
        "registry of the same URL and the search",
    )
    allow_unresolved: bool = Field(
        default=False,
        description="With unresolved charts, create a draft in the target org (failing "
        "validation at those charts) instead of nothing",
    )


class ResolvedChart(BaseModel):
    path: str
    layer: str
    chart: str
    version: str = Field(description="The version the source pinned (or its range)")
    source_registry: str | None
    nested: bool


class Resolved(ResolvedChart):
    registry: str
    resolved_version: str
    via: str = Field(description="map, url or search")


class VersionMissing(ResolvedChart):
    registry: str | None = Field(description="The target registry offering the chart")
    nearest: list[str] = Field(description="The closest versions the target offers")


class NotFoundChart(ResolvedChart):
    pass


class NestedMissingRow(BaseModel):
    path: str
    name: str
    version: int


class ReviewRow(BaseModel):
    path: str
    host: str


class ResolutionReport(BaseModel):
    resolved: list[Resolved]
    version_missing: list[VersionMissing]
    not_found: list[NotFoundChart]
    nested_profiles_missing: list[NestedMissingRow]
    review: list[ReviewRow] = Field(
        description="Values naming a source registry's host, for a person to check"
    )

    @classmethod
    def of(cls, report: Report) -> ResolutionReport:
        rows = report.resolutions
        return cls(
            resolved=[_resolved(r) for r in rows if r.status is Status.RESOLVED],
            version_missing=[
                VersionMissing(**_base(r), registry=r.registry, nearest=list(r.nearest))
                for r in rows
                if r.status is Status.VERSION_MISSING
            ],
            not_found=[NotFoundChart(**_base(r)) for r in rows if r.status is Status.NOT_FOUND],
            nested_profiles_missing=[
                NestedMissingRow(path=n.path, name=n.name, version=n.version)
                for n in report.nested_missing
            ],
            review=[ReviewRow(path=path, host=host) for path, host in report.review],
        )


def _base(r: Resolution) -> dict[str, object]:
    ref = r.ref
    return {
        "path": ref.path,
        "layer": ref.layer,
        "chart": ref.name,
        "version": ref.version,
        "source_registry": ref.registry,
        "nested": ref.nested,
    }


def _resolved(r: Resolution) -> Resolved:
    return Resolved(
        **_base(r),
        registry=r.registry or "",
        resolved_version=r.version or "",
        via=r.via.value if r.via else "",
    )


class CloneResponse(BaseModel):
    outcome: str = Field(description="published, unchanged (equal to the latest), or draft")
    target_org: str
    report: ResolutionReport
    profile: schemas.PublishedRef | None = None
    version: schemas.PublishedVersion | None = None
    draft: schemas.DraftResponse | None = None

    @classmethod
    def of(cls, cloned: Cloned) -> CloneResponse:
        answer = cls(
            outcome=cloned.outcome.value,
            target_org=cloned.target_org,
            report=ResolutionReport.of(cloned.report),
        )
        if cloned.profile is not None and cloned.version is not None:
            published = schemas.PublishResponse.of(cloned.profile, cloned.version)
            answer.profile, answer.version = published.profile, published.version
        if cloned.draft is not None:
            answer.draft = schemas.DraftResponse.of(cloned.draft)
        return answer
