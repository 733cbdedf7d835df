"""Packs: the org's registries and their charts, a chart's versions, and one version's
complete default values and values schema."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from lamina.adapters import yamlio
from lamina.api.deps import ServicesDep
from lamina.web.pages import Pager, PageRoute, ViewerDep, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 25
# Registries are few per org; the page shows them all up to this many.
MAX_REGISTRIES = 100


@router.get("/packs")
def packs(
    request: Request,
    who: ViewerDep,
    wired: ServicesDep,
    search: Annotated[str, Query(max_length=200)] = "",
    registry: Annotated[str, Query(max_length=253)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The org's registries (with their pack counts) and its packs, searched and paged."""
    registries = wired.registries.list_registries(who.principal, page=1, page_size=MAX_REGISTRIES)
    counts = wired.registries.pack_counts(who.principal)
    found = wired.registries.packs(
        who.principal,
        search=search.strip() or None,
        registry=registry.strip() or None,
        page=page,
        page_size=PAGE_SIZE,
    )
    kept = {"search": search, "registry": registry}
    return render(
        request,
        "packs.html",
        who=who,
        title="Packs",
        registries=registries.items,
        counts=counts,
        packs=found.items,
        filters=kept,
        pages=Pager(
            page=page,
            page_size=PAGE_SIZE,
            total=found.total_count,
            base="/packs",
            query={k: v for k, v in kept.items() if v},
        ),
    )


@router.get("/packs/{registry}/{name}")
def pack_versions(
    request: Request,
    who: ViewerDep,
    wired: ServicesDep,
    registry: str,
    name: str,
    all_versions: Annotated[bool, Query(alias="all")] = False,
) -> Response:
    """A chart's versions, newest first; `all=true` adds pre-releases and deprecated ones."""
    versions = wired.registries.versions(
        who.principal,
        registry,
        name,
        include_prerelease=all_versions,
        include_deprecated=all_versions,
    )
    return render(
        request,
        "pack.html",
        who=who,
        title=f"{name} · {registry}",
        registry=registry,
        name=name,
        versions=versions,
        all_versions=all_versions,
    )


@router.get("/packs/{registry}/{name}/{version}")
def pack_version(
    request: Request, who: ViewerDep, wired: ServicesDep, registry: str, name: str, version: str
) -> Response:
    """One chart version: its complete default values (YAML) and values schema (JSON)."""
    found = wired.registries.values(who.principal, registry, name, version)
    schema = json.dumps(found.schema, indent=2, sort_keys=False) if found.schema else None
    return render(
        request,
        "pack_version.html",
        who=who,
        title=f"{name} {version} · {registry}",
        registry=registry,
        name=name,
        pack=found.pack,
        values=yamlio.dump(found.values) if found.values else "",
        schema=schema,
    )
