"""Registries (pack sources) and packs (chart versions)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from lamina.api import schemas
from lamina.api import schemas_render as s
from lamina.api.deps import PrincipalDep, RegistryRef, ServicesDep
from lamina.api.inputs import Page, PageSize
from lamina.api.problems import UPSTREAM_PROBLEMS as UPSTREAM
from lamina.domain.models import RegistryKind

router = APIRouter(prefix="/api/v1/org", tags=["registries"])


@router.get("/registries", response_model=schemas.ListResponse[s.RegistryOut])
def list_registries(
    who: PrincipalDep, wired: ServicesDep, page: Page = 1, page_size: PageSize = 50
) -> schemas.ListResponse[s.RegistryOut]:
    found = wired.registries.list_registries(who, page=page, page_size=page_size)
    return schemas.page_of(found, s.RegistryOut.of)


@router.post("/registries", status_code=201, response_model=s.RegistryOut)
def create_registry(body: s.RegistryCreate, who: PrincipalDep, wired: ServicesDep) -> s.RegistryOut:
    """Register a chart source; the password is stored encrypted and never returned."""
    registry = wired.registries.create(
        who,
        name=body.name,
        kind=RegistryKind(body.kind),
        url=body.url,
        username=body.username,
        password=body.password,
        charts=tuple(body.charts),
    )
    return s.RegistryOut.of(registry)


@router.delete("/registries/{registry}", status_code=204)
def delete_registry(registry_id: RegistryRef, who: PrincipalDep, wired: ServicesDep) -> Response:
    """Delete a registry no version or draft takes charts from by name (409 names them)."""
    wired.registries.delete(who, registry_id)
    return Response(status_code=204)


@router.post("/registries/{registry}/sync", response_model=s.SyncOut, responses=UPSTREAM)
def sync_registry(registry_id: RegistryRef, who: PrincipalDep, wired: ServicesDep) -> s.SyncOut:
    """Read the registry's index now and replace its packs."""
    registry, count = wired.registries.sync(who, registry_id)
    return s.SyncOut(registry=s.RegistryOut.of(registry), packs_count=count)


@router.get("/packs", response_model=schemas.ListResponse[s.PackOut])
def list_packs(
    who: PrincipalDep,
    wired: ServicesDep,
    search: str | None = None,
    registry: str | None = None,
    page: Page = 1,
    page_size: PageSize = 50,
) -> schemas.ListResponse[s.PackOut]:
    found = wired.registries.packs(
        who, search=search, registry=registry, page=page, page_size=page_size
    )
    return schemas.page_of(found, s.PackOut.of)


@router.get("/packs/{registry}/{name}", response_model=list[s.PackVersionOut])
def pack_versions(
    registry: str,
    name: str,
    who: PrincipalDep,
    wired: ServicesDep,
    include_prerelease: bool = False,
    include_deprecated: bool = False,
) -> list[s.PackVersionOut]:
    """The chart's versions, newest first by semantic version."""
    found = wired.registries.versions(
        who,
        registry,
        name,
        include_prerelease=include_prerelease,
        include_deprecated=include_deprecated,
    )
    return [s.PackVersionOut.of(p) for p in found]


@router.get(
    "/packs/{registry}/{name}/versions/{version}/values",
    response_model=s.PackValuesOut,
    response_model_by_alias=True,
    responses=UPSTREAM,
)
def pack_values(
    registry: str, name: str, version: str, who: PrincipalDep, wired: ServicesDep
) -> s.PackValuesOut:
    """The version's complete default values and its values schema (null without one)."""
    found = wired.registries.values(who, registry, name, version)
    return s.PackValuesOut(name=name, version=version, values=found.values, schema_=found.schema)
