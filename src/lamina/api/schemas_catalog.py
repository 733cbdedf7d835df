"""HTTP shapes of catalog sources, the catalog search, installs and updates."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from lamina.api.inputs import Strict
from lamina.domain.catalog import CatalogEntry, CatalogSource, Origin
from lamina.services.catalog import CatalogRow
from lamina.services.installs import Installed

AccessField = Literal["all", "admins"]


class SourceCreate(Strict):
    name: str = Field(max_length=63)
    kind: Literal["git", "http"]
    url: str = Field(max_length=2000)
    branch: str | None = Field(None, max_length=200, description="Git only; default main")
    path: str = Field(
        "", max_length=500, description="Git only: a folder or file of the repository"
    )
    access: AccessField = Field(
        "all", description="all: editors may install from it; admins: admins only"
    )


class SourceChange(Strict):
    access: AccessField


class SourceOut(BaseModel):
    id: int
    name: str
    kind: str
    url: str
    branch: str | None
    path: str
    access: str
    entries_count: int
    synced_at: datetime | None
    last_error: str | None
    created_at: datetime

    @classmethod
    def of(cls, s: CatalogSource) -> SourceOut:
        return cls(
            id=s.id,
            name=s.name,
            kind=s.kind.value,
            url=s.url,
            branch=s.branch or None,
            path=s.path,
            access=s.access.value,
            entries_count=len(s.entries),
            synced_at=s.synced_at,
            last_error=s.last_error,
            created_at=s.created_at,
        )


class EntryOut(BaseModel):
    name: str
    version: str
    description: str
    url: str
    file: str
    catalog: str
    maintainer: str
    prerequisites: list[str]

    @classmethod
    def of(cls, e: CatalogEntry) -> EntryOut:
        return cls(
            name=e.name,
            version=e.version,
            description=e.description,
            url=e.url,
            file=e.file,
            catalog=e.catalog,
            maintainer=e.maintainer,
            prerequisites=list(e.prerequisites),
        )


class SyncOut(BaseModel):
    source: SourceOut
    entries: list[EntryOut]


class OriginOut(BaseModel):
    source: str | None = Field(description="The catalog source; null for a direct URL")
    entry: str
    version: str = Field(description="The source's version installed last")
    url: str = Field(description="Where the profile document was read")
    installed_at: datetime

    @classmethod
    def of(cls, o: Origin) -> OriginOut:
        return cls(
            source=o.source_name or None,
            entry=o.entry,
            version=o.version,
            url=o.url,
            installed_at=o.installed_at,
        )


class CatalogRowOut(BaseModel):
    origin: Literal["own", "public", "catalog"]
    source: str | None
    name: str
    description: str
    version: str = Field(description="A profile's latest version number; an entry's newest")
    versions: list[str] = Field(description="Catalog entries: every version listed, newest first")
    profile_id: int | None
    access: str | None
    maintainer: str | None
    prerequisites: list[str]
    installed: OriginOut | None
    has_update_available: bool

    @classmethod
    def of(cls, r: CatalogRow) -> CatalogRowOut:
        return cls(
            origin=r.origin,
            source=r.source,
            name=r.name,
            description=r.description,
            version=r.version,
            versions=list(r.versions),
            profile_id=r.profile.id if r.profile else None,
            access=r.access.value if r.access else None,
            maintainer=r.entry.maintainer if r.entry else None,
            prerequisites=list(r.entry.prerequisites) if r.entry else [],
            installed=OriginOut.of(r.installed) if r.installed else None,
            has_update_available=r.has_update_available,
        )


class InstallRequest(Strict):
    source: str | None = Field(None, max_length=253)
    name: str | None = Field(None, max_length=63)
    version: str | None = Field(None, max_length=128)
    url: str | None = Field(
        None, max_length=2000, description="A profile document no catalog lists"
    )

    @model_validator(mode="after")
    def _one_way(self) -> InstallRequest:
        by_catalog = self.source is not None or self.name is not None
        if self.url is not None and (by_catalog or self.version is not None):
            raise ValueError("Give either {source, name, version?} or {url}, not both")
        if self.url is None and (self.source is None or self.name is None):
            raise ValueError("Give {source, name} (and optionally version), or {url}")
        return self


class UpdateRequest(Strict):
    name: str = Field(max_length=63)


class InstalledOut(BaseModel):
    profile_id: int
    name: str
    latest_version: int
    origin: OriginOut
    available_version: str | None = Field(description="The newer version the source lists")
    has_update_available: bool
    published_version: int | None = Field(
        None, description="The version this request published; null when nothing changed"
    )

    @classmethod
    def of(cls, i: Installed) -> InstalledOut:
        return cls(
            profile_id=i.profile.id,
            name=i.profile.name,
            latest_version=i.profile.latest_version,
            origin=OriginOut.of(i.origin),
            available_version=i.available,
            has_update_available=i.has_update_available,
            published_version=i.published,
        )
