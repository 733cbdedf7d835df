"""Clusters, their stacks (instantiate, review, commit), upgrades and removals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from lamina.api import schemas
from lamina.api import schemas_clusters as s
from lamina.api import schemas_history as h
from lamina.api.deps import ClusterRef, PrincipalDep, ServicesDep
from lamina.api.inputs import Id, Page, PageSize
from lamina.api.problems import UPSTREAM_PROBLEMS as UPSTREAM
from lamina.services.delivery.stacks import DraftResult

router = APIRouter(prefix="/api/v1/org/clusters", tags=["clusters"])


@router.get("", response_model=schemas.ListResponse[s.ClusterOut])
def list_clusters(
    who: PrincipalDep,
    wired: ServicesDep,
    selector: Annotated[str, Query(description="label selector: env=prod,region in (eu,us)")] = "",
    page: Page = 1,
    page_size: PageSize = 50,
) -> schemas.ListResponse[s.ClusterOut]:
    found = wired.clusters.list_clusters(who, selector=selector, page=page, page_size=page_size)
    return schemas.page_of(found, s.ClusterOut.of)


@router.post("", status_code=201, response_model=s.ClusterOut)
def create_cluster(body: s.ClusterCreate, who: PrincipalDep, wired: ServicesDep) -> s.ClusterOut:
    """Register a cluster; the Git token is stored encrypted and never returned."""
    return s.ClusterOut.of(wired.clusters.create(who, body.model_dump()))


@router.get("/{cluster}", response_model=s.ClusterOut)
def get_cluster(cluster_id: ClusterRef, who: PrincipalDep, wired: ServicesDep) -> s.ClusterOut:
    return s.ClusterOut.of(wired.clusters.get(who, cluster_id))


@router.patch("/{cluster}", response_model=s.ClusterOut)
def update_cluster(
    cluster_id: ClusterRef, body: s.ClusterPatch, who: PrincipalDep, wired: ServicesDep
) -> s.ClusterOut:
    changes = body.model_dump(exclude_unset=True)
    if "gitops" in changes and changes["gitops"] is not None:
        changes["gitops"] = {k: v for k, v in changes["gitops"].items() if v is not None}
    return s.ClusterOut.of(wired.clusters.update(who, cluster_id, changes))


@router.delete("/{cluster}", status_code=204)
def delete_cluster(
    cluster_id: ClusterRef, who: PrincipalDep, wired: ServicesDep, force: bool = False
) -> Response:
    """Forget a cluster that runs no profile (409 names those it runs). `force=true` forgets
    it anyway; Lamina never changes the cluster or its Git repository either way."""
    wired.clusters.delete(who, cluster_id, force=force)
    return Response(status_code=204)


@router.post(
    "/{cluster}/stacks/from-profile",
    status_code=201,
    response_model=s.StackDraftOut,
    responses=UPSTREAM,
)
def instantiate(
    cluster_id: ClusterRef, body: s.FromProfile, who: PrincipalDep, wired: ServicesDep
) -> s.StackDraftOut:
    """Bind, render and propose adding a profile version to the cluster's stack (a stack
    draft); with `deploy: true` the draft is committed at once."""
    result = wired.stacks.instantiate(
        who,
        cluster_id,
        profile_id=body.profile_id,
        version=body.version,
        parameters={p.name: p.value for p in body.parameters},
        values=body.values,
    )
    return _answer(wired, who, cluster_id, result, deploy=body.deploy)


@router.post(
    "/{cluster}/instantiations/{instantiation_id}/upgrade",
    status_code=201,
    response_model=s.StackDraftOut,
    responses=UPSTREAM,
)
def upgrade(
    cluster_id: ClusterRef,
    instantiation_id: Id,
    body: s.UpgradeIn,
    who: PrincipalDep,
    wired: ServicesDep,
) -> s.StackDraftOut:
    """A stack draft moving an instantiation to another version (default: current)."""
    parameters = {p.name: p.value for p in body.parameters} if body.parameters else None
    result = wired.stacks.upgrade(
        who, cluster_id, instantiation_id, version=body.version, parameters=parameters
    )
    return _answer(wired, who, cluster_id, result)


@router.delete(
    "/{cluster}/instantiations/{instantiation_id}",
    status_code=201,
    response_model=s.StackDraftOut,
    responses=UPSTREAM,
)
def uninstall(
    cluster_id: ClusterRef, instantiation_id: Id, who: PrincipalDep, wired: ServicesDep
) -> s.StackDraftOut:
    """A stack draft removing the instantiation's objects (commit it to apply)."""
    return _answer(
        wired, who, cluster_id, wired.stacks.uninstall(who, cluster_id, instantiation_id)
    )


@router.get("/{cluster}/stack-drafts/{draft_id}/diff", response_model=s.StackDiffOut)
def diff(cluster_id: ClusterRef, draft_id: Id, who: PrincipalDep, wired: ServicesDep) -> Any:
    """Objects added, changed (unified YAML diff) and removed against the committed stack,
    and parameter changes (secret values appear as <redacted>)."""
    found = wired.stacks.diff(who, cluster_id, draft_id)
    grouped: dict[str, list[s.ObjectChangeOut]] = {"added": [], "changed": [], "removed": []}
    for change in found.objects:
        grouped[change.op].append(
            s.ObjectChangeOut(
                op=change.op,
                kind=change.kind,
                namespace=change.namespace,
                name=change.name,
                layer=change.layer,
                diff=change.diff,
                hook=change.hook,
            )
        )
    parameters = [s.ParameterChangeOut.model_validate(p) for p in found.parameters]
    return s.StackDiffOut(**grouped, parameters=parameters).model_dump(by_alias=True)


@router.post(
    "/{cluster}/stack-drafts/{draft_id}/commit", response_model=s.CommitOut, responses=UPSTREAM
)
def commit(
    cluster_id: ClusterRef,
    draft_id: Id,
    who: PrincipalDep,
    wired: ServicesDep,
    body: s.CommitIn | None = None,
) -> s.CommitOut:
    """Write the whole stack to the cluster's Git target in one commit and push it."""
    done = wired.stacks.commit(who, cluster_id, draft_id, body.message if body else None)
    return s.CommitOut(revision=done.revision, commit_sha=done.commit_sha)


@router.delete("/{cluster}/stack-drafts/{draft_id}", status_code=204)
def discard(
    cluster_id: ClusterRef, draft_id: Id, who: PrincipalDep, wired: ServicesDep
) -> Response:
    wired.stacks.discard(who, cluster_id, draft_id)
    return Response(status_code=204)


@router.get("/{cluster}/stack", response_model=h.StackOut)
def show_stack(cluster_id: ClusterRef, who: PrincipalDep, wired: ServicesDep) -> h.StackOut:
    """The committed stack: instantiations (secret parameters by name only), revision,
    commit and objects per layer."""
    return h.StackOut.of(wired.stacks.show(who, cluster_id))


@router.get("/{cluster}/stack-drafts", response_model=schemas.ListResponse[h.StackDraftSummaryOut])
def list_stack_drafts(
    cluster_id: ClusterRef,
    who: PrincipalDep,
    wired: ServicesDep,
    page: Page = 1,
    page_size: PageSize = 50,
) -> schemas.ListResponse[h.StackDraftSummaryOut]:
    """The cluster's open stack drafts, oldest first; a stale one cannot be committed."""
    found = wired.stacks.drafts(who, cluster_id, page=page, page_size=page_size)
    return schemas.page_of(found, h.StackDraftSummaryOut.of)


@router.get("/{cluster}/revisions", response_model=schemas.ListResponse[h.RevisionOut])
def list_revisions(
    cluster_id: ClusterRef,
    who: PrincipalDep,
    wired: ServicesDep,
    page: Page = 1,
    page_size: PageSize = 50,
) -> schemas.ListResponse[h.RevisionOut]:
    """The stack's history, newest first: commit, message, when and by which token."""
    found = wired.stacks.revisions(who, cluster_id, page=page, page_size=page_size)
    return schemas.page_of(found, h.RevisionOut.of)


@router.post(
    "/{cluster}/revisions/{revision}/restore",
    status_code=201,
    response_model=s.StackDraftOut,
    responses=UPSTREAM,
)
def restore(
    cluster_id: ClusterRef, revision: Id, who: PrincipalDep, wired: ServicesDep
) -> s.StackDraftOut:
    """A stack draft bringing back an earlier revision's profiles, versions and parameters;
    review its diff, then commit it. 409 when a version it ran was deleted."""
    return _answer(wired, who, cluster_id, wired.stacks.restore(who, cluster_id, revision))


def _answer(
    wired: Any, who: Any, cluster_id: int, result: DraftResult, *, deploy: bool = False
) -> s.StackDraftOut:
    out = s.StackDraftOut(
        draft_id=result.draft.id,
        profile_version=result.profile_version,
        warnings=[s.IssueOut(**w.as_dict()) for w in result.warnings],
        addons_count=result.addons_count,
        manifests_count=result.manifests_count,
    )
    if deploy:
        done = wired.stacks.commit_or_discard(who, cluster_id, result.draft.id)
        out.revision, out.commit_sha = done.revision, done.commit_sha
    return out
