"""Catalog sources and the catalog: approved profile lists from Git or HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from lamina.api import schemas
from lamina.api import schemas_catalog as s
from lamina.api.deps import PrincipalDep, ServicesDep
from lamina.api.inputs import Page, PageSize
from lamina.api.problems import UPSTREAM_PROBLEMS as UPSTREAM
from lamina.domain.catalog import Access, SourceKind

router = APIRouter(prefix="/api/v1/org", tags=["catalog"])
SOURCES = "/catalog-sources"
SourceRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=253,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The source's name, or its numeric id (a segment of digits only is an id).",
    ),
]


@router.get(SOURCES, response_model=schemas.ListResponse[s.SourceOut])
def list_sources(
    who: PrincipalDep, wired: ServicesDep, page: Page = 1, page_size: PageSize = 50
) -> schemas.ListResponse[s.SourceOut]:
    found = wired.catalog.sources(who, page=page, page_size=page_size)
    return schemas.page_of(found, s.SourceOut.of)


@router.post(SOURCES, status_code=201, response_model=s.SourceOut)
def create_source(body: s.SourceCreate, who: PrincipalDep, wired: ServicesDep) -> s.SourceOut:
    """Add a catalog source (admins); sync it next to read its entries."""
    source = wired.catalog.create(
        who,
        name=body.name,
        kind=SourceKind(body.kind),
        url=body.url,
        branch=body.branch,
        path=body.path,
        access=Access(body.access),
    )
    return s.SourceOut.of(source)


@router.post(f"{SOURCES}/{{source}}/sync", response_model=s.SyncOut, responses=UPSTREAM)
def sync_source(source: SourceRef, who: PrincipalDep, wired: ServicesDep) -> s.SyncOut:
    """Read the source now and keep its entries; 502 with paths into its files when it
    cannot be read or is not a catalog (the error is recorded on the source)."""
    synced = wired.catalog.sync(who, source)
    return s.SyncOut(
        source=s.SourceOut.of(synced), entries=[s.EntryOut.of(e) for e in synced.entries]
    )


@router.patch(f"{SOURCES}/{{source}}", response_model=s.SourceOut)
def change_source(
    source: SourceRef, body: s.SourceChange, who: PrincipalDep, wired: ServicesDep
) -> s.SourceOut:
    """Grant the source to editors (`access: all`) or revoke it to admins (`admins`)."""
    return s.SourceOut.of(wired.catalog.set_access(who, source, Access(body.access)))


@router.delete(f"{SOURCES}/{{source}}", status_code=204)
def delete_source(source: SourceRef, who: PrincipalDep, wired: ServicesDep) -> Response:
    """Delete a source; profiles installed from it stay."""
    wired.catalog.delete(who, source)
    return Response(status_code=204)


@router.get("/catalog", response_model=schemas.ListResponse[s.CatalogRowOut])
def search_catalog(
    who: PrincipalDep,
    wired: ServicesDep,
    search: str | None = None,
    source: str | None = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> schemas.ListResponse[s.CatalogRowOut]:
    """Own and public profiles, then the entries of the org's catalog sources."""
    found = wired.catalog.search(who, search=search, source=source, page=page, page_size=page_size)
    return schemas.page_of(found, s.CatalogRowOut.of)


@router.get("/catalog/installed", response_model=list[s.InstalledOut])
def installed_profiles(who: PrincipalDep, wired: ServicesDep) -> list[s.InstalledOut]:
    """The org's profiles installed from a catalog or a URL, and whether a newer version
    is listed."""
    return [s.InstalledOut.of(i) for i in wired.installs.installed(who)]


@router.post("/catalog/install", status_code=201, response_model=s.InstalledOut, responses=UPSTREAM)
def install(body: s.InstallRequest, who: PrincipalDep, wired: ServicesDep) -> s.InstalledOut:
    """Install a catalog entry (`{source, name, version?}`) or the profile document at a
    URL (`{url}`) as a new profile, published as version 1."""
    if body.url is not None:
        return s.InstalledOut.of(wired.installs.install_url(who, body.url))
    assert body.source is not None and body.name is not None
    installed = wired.installs.install(
        who, source=body.source, name=body.name, version=body.version
    )
    return s.InstalledOut.of(installed)


@router.post("/catalog/update", response_model=s.InstalledOut, responses=UPSTREAM)
def update(body: s.UpdateRequest, who: PrincipalDep, wired: ServicesDep) -> s.InstalledOut:
    """Publish the newer version the profile's source lists as its next version."""
    return s.InstalledOut.of(wired.installs.update(who, body.name))
