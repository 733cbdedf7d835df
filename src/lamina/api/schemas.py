"""HTTP shapes of requests and responses (snake_case JSON)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from lamina.adapters import toolchain
from lamina.api.inputs import IdField, Strict, Text
from lamina.domain import document, locks
from lamina.domain.models import Draft, Page, Profile, ProfileVersion, VersionSummary

T = TypeVar("T")
S = TypeVar("S")


class ListResponse(BaseModel, Generic[T]):
    result: list[T]
    total_count: int
    page: int
    page_size: int
    next_cursor: str | None = Field(
        default=None,
        description="Where the next page starts (keyset paging, for lists that offer it): "
        "pass it as `cursor`; null on the last page",
    )


def page_of(found: Page[S], shape: Callable[[S], T]) -> ListResponse[T]:
    """A service's page as the list response, each item shaped by `shape`."""
    return ListResponse(
        result=[shape(item) for item in found.items],
        total_count=found.total_count,
        page=found.page,
        page_size=found.page_size,
    )


class ProfileSummary(BaseModel):
    id: int
    name: str
    description: str
    category: str
    tags: list[str]
    visibility: str
    type: str
    latest_version: int
    current_version: int | None
    org_id: int
    archived: bool
    archived_at: datetime | None

    @classmethod
    def of(cls, p: Profile) -> ProfileSummary:
        return cls(
            id=p.id,
            name=p.name,
            description=p.description,
            category=p.category,
            tags=p.tags,
            visibility=p.visibility.value,
            type=p.type.value,
            latest_version=p.latest_version,
            current_version=p.current_version,
            org_id=p.org_id,
            archived=p.archived_at is not None,
            archived_at=p.archived_at,
        )


class VersionRow(BaseModel):
    version: int
    channel: str
    changelog: str
    created_at: datetime
    deprecation: dict[str, str] | None = None

    @classmethod
    def of(cls, v: VersionSummary | ProfileVersion) -> VersionRow:
        return cls(
            version=v.version, channel=v.channel, changelog=v.changelog, created_at=v.created_at
        )


class NestedVersion(BaseModel):
    name: str
    version: int


class LockRow(BaseModel):
    """A chart of a version: what its layer requested and what publishing pinned it to."""

    layer: str
    repository: str | None
    chart: str | None
    constraint: str | None
    version: str | None
    digest: str | None
    profile: NestedVersion | None

    @classmethod
    def of(cls, row: locks.LockRow) -> LockRow:
        nested = NestedVersion(name=row.profile[0], version=row.profile[1]) if row.profile else None
        return cls(
            layer=row.layer,
            repository=row.repository,
            chart=row.chart,
            constraint=row.constraint,
            version=row.version,
            digest=row.digest,
            profile=nested,
        )


class VersionDetail(VersionRow):
    spec: dict[str, Any]
    parameters: list[Any]
    lock: list[LockRow] | None = None

    @classmethod
    def of(cls, v: VersionSummary | ProfileVersion) -> VersionDetail:
        assert isinstance(v, ProfileVersion)
        rows = locks.lock_rows(v.spec, v.lock)
        return cls(
            version=v.version,
            channel=v.channel,
            changelog=v.changelog,
            created_at=v.created_at,
            spec=document.without_parameters(v.spec),
            parameters=document.parameters_of(v.spec),
            lock=None if rows is None else [LockRow.of(row) for row in rows],
        )


class UpdateStatus(BaseModel):
    outdated_instantiation_count: int
    has_update_available: bool


class ProfileDetailResponse(BaseModel):
    profile: ProfileSummary
    versions: list[VersionRow]
    latest_version_detail: VersionDetail | None
    update_status: UpdateStatus


class ProfilePatch(Strict):
    name: str | None = None
    description: Text | None = None
    category: str | None = None
    tags: list[str] | None = None
    visibility: Literal["organisation", "public"] | None = None


class ChangeRow(BaseModel):
    path: str
    op: Literal["added", "removed", "changed"]
    from_: Any = Field(default=None, alias="from", serialization_alias="from")
    to: Any = None

    model_config = ConfigDict(populate_by_name=True)


class DiffResponse(BaseModel):
    from_version: int
    to_version: int
    changes: list[ChangeRow]


class PublishedRef(BaseModel):
    id: int
    name: str


class PublishedVersion(BaseModel):
    version: int
    channel: str


class PublishResponse(BaseModel):
    profile: PublishedRef
    version: PublishedVersion

    @classmethod
    def of(cls, profile: Profile, version: ProfileVersion) -> PublishResponse:
        return cls(
            profile=PublishedRef(id=profile.id, name=profile.name),
            version=PublishedVersion(version=version.version, channel=version.channel),
        )


class UnchangedResponse(PublishResponse):
    """An import equal to the latest version: nothing was published; that version is named."""

    unchanged: bool = True


class DraftCreate(Strict):
    name: str | None = None
    profile_id: IdField | None = None
    from_version: IdField | None = None
    source_cluster: IdField | str | None = Field(
        default=None, description="seed the draft from this cluster's committed stack"
    )
    include_values: bool = True


class CaptureIn(Strict):
    cluster: IdField | str = Field(description="cluster id or name")
    name: str
    include_values: bool = True


class CaptureVersionIn(Strict):
    cluster: IdField | str
    include_values: bool = True


class DraftUpdate(Strict):
    spec: dict[str, Any]
    parameters: list[Any] | None = None
    metadata: dict[str, Any] | None = None
    version: IdField = Field(description="The draft's edit counter as last read")


class DraftResponse(BaseModel):
    id: int
    name: str
    profile_id: int | None
    base_version: int | None
    version: int
    metadata: dict[str, Any]
    spec: dict[str, Any]
    parameters: list[Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, d: Draft) -> DraftResponse:
        return cls(
            id=d.id,
            name=d.name,
            profile_id=d.profile_id,
            base_version=d.base_version,
            version=d.version,
            metadata=d.metadata,
            spec=document.without_parameters(d.spec),
            parameters=document.parameters_of(d.spec),
            created_at=d.created_at,
            updated_at=d.updated_at,
        )


class IssueRow(BaseModel):
    path: str
    code: str
    message: str


class ValidationResponse(BaseModel):
    valid: bool
    errors: list[IssueRow]
    warnings: list[IssueRow]


class CheckedIssue(IssueRow):
    severity: Literal["error", "warning"]
    line: int | None = Field(description="1-based line of the text the issue concerns")


class CheckResponse(BaseModel):
    valid: bool
    issues: list[CheckedIssue]
    document: Any = Field(
        default=None, description="The parsed document (null when the text does not parse)"
    )


class PublishRequest(Strict):
    channel: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]{0,31}$")
    changelog: Text | None = Field(default=None, max_length=10_000)
    visibility: Literal["organisation", "public"] | None = None


class WhoAmI(BaseModel):
    org: str
    role: str


class ToolVersion(BaseModel):
    version: str | None
    path: str | None
    problem: str | None


class VersionReport(BaseModel):
    version: str
    tools: dict[str, ToolVersion]

    @classmethod
    def of(cls, version: str, tools: list[toolchain.Tool]) -> VersionReport:
        return cls(
            version=version,
            tools={
                t.name: ToolVersion(version=t.version, path=t.path, problem=t.problem)
                for t in tools
            },
        )
