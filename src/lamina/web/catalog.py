"""The catalog: the org's profiles and other orgs' public ones, searched and filtered."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from lamina.api.deps import ServicesDep
from lamina.domain.models import ProfileQuery
from lamina.web.pages import Pager, PageRoute, ViewerDep, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 25


@router.get("/")
def catalog(
    request: Request,
    who: ViewerDep,
    wired: ServicesDep,
    search: Annotated[str, Query(max_length=200)] = "",
    category: Annotated[str, Query(max_length=100)] = "",
    tag: Annotated[str, Query(max_length=100)] = "",
    scope: Annotated[str, Query(pattern="^(all|own)$")] = "all",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    query = ProfileQuery(
        page=page,
        page_size=PAGE_SIZE,
        search=search.strip() or None,
        category=category.strip() or None,
        tag=tag.strip() or None,
        include_public=scope == "all",
    )
    found = wired.profiles.list_profiles(who.principal, query)
    outdated = wired.profiles.outdated_counts(who.principal, found.items)
    kept = {"search": search, "category": category, "tag": tag, "scope": scope}
    return render(
        request,
        "catalog.html",
        who=who,
        title="Catalog",
        profiles=found.items,
        outdated=outdated,
        filters=kept,
        pages=Pager(
            page=page,
            page_size=PAGE_SIZE,
            total=found.total_count,
            base="/",
            query={k: v for k, v in kept.items() if v},
        ),
    )
