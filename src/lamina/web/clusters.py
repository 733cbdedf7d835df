"""Pages: the org's clusters, and one cluster with what it runs, its open stack drafts and
its revision history.

Upgrades and restores go from the page to the API (each makes a stack draft), and the
browser then opens that draft's review page, `/clusters/{cluster}/drafts/{id}`.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Query, Request, Response

from lamina.api.deps import ServicesDep
from lamina.domain.errors import InvalidInput
from lamina.domain.models import Cluster, GitOps, Page
from lamina.web.pages import Pager, PageRoute, ViewerDep, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 25
REVISIONS_PAGE_SIZE = 20
DRAFTS_SHOWN = 50


def git_target(git: GitOps) -> str:
    """`url#branch/path` of a GitOps target, without any user or password in the URL."""
    parts = urlsplit(git.url)
    host = parts.netloc.rsplit("@", 1)[-1]
    url = urlunsplit((parts.scheme, host, parts.path, parts.query, ""))
    return f"{url}#{git.branch}/{git.path.strip('/')}"


@router.get("/clusters")
def clusters(
    request: Request,
    who: ViewerDep,
    wired: ServicesDep,
    selector: Annotated[str, Query(max_length=1000)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The org's clusters matching a label selector; a bad selector is shown at its field."""
    problem = ""
    try:
        found = wired.clusters.list_clusters(
            who.principal, selector=selector.strip(), page=page, page_size=PAGE_SIZE
        )
    except InvalidInput as error:
        problem = "; ".join([error.detail, *(i.message for i in error.issues)])
        found = Page[Cluster]([], 0, page, PAGE_SIZE)
    return render(
        request,
        "clusters.html",
        who=who,
        title="Clusters",
        status=400 if problem else 200,
        clusters=found.items,
        selector=selector,
        problem=problem,
        target=git_target,
        pages=Pager(
            page=page,
            page_size=PAGE_SIZE,
            total=found.total_count,
            base="/clusters",
            query={"selector": selector} if selector else {},
        ),
    )


@router.get("/clusters/{cluster}")
def cluster(
    request: Request,
    cluster: str,
    who: ViewerDep,
    wired: ServicesDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """One cluster: labels, Kubernetes version, GitOps target (no credential), what it runs,
    open stack drafts, and its revisions (newest first, paged)."""
    cluster_id = wired.names.cluster(who.principal, cluster)
    found = wired.clusters.get(who.principal, cluster_id)
    stack = wired.stacks.show(who.principal, cluster_id)
    drafts = wired.stacks.drafts(who.principal, cluster_id, page=1, page_size=DRAFTS_SHOWN)
    revisions = wired.stacks.revisions(
        who.principal, cluster_id, page=page, page_size=REVISIONS_PAGE_SIZE
    )
    return render(
        request,
        "cluster.html",
        who=who,
        title=f"Cluster {found.name}",
        cluster=found,
        target=git_target(found.gitops),
        stack=stack,
        drafts=drafts,
        revisions=revisions.items,
        pages=Pager(
            page=page,
            page_size=REVISIONS_PAGE_SIZE,
            total=revisions.total_count,
            base=request.url.path,
            query={},
        ),
    )
