"""HTTP shapes of clusters, stacks, instantiations and rollouts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lamina.api.inputs import IdField, Strict, Text
from lamina.domain.models import Cluster


class GitOpsIn(Strict):
    url: str
    branch: str = "main"
    path: str = "clusters"
    mode: Literal["rendered", "flux"] = "rendered"
    username: str | None = None
    token: str | None = Field(default=None, description="Stored encrypted; never returned")
    age_recipient: str | None = Field(
        default=None,
        description="An age public key (age1...): secret values reach Git SOPS-encrypted "
        "for it; empty clears it",
    )


class ClusterCreate(Strict):
    name: str
    labels: dict[str, str] = Field(default_factory=dict)
    kubernetes_version: str = ""
    gitops: GitOpsIn


class GitOpsPatch(Strict):
    url: str | None = None
    branch: str | None = None
    path: str | None = None
    mode: Literal["rendered", "flux"] | None = None
    username: str | None = None
    token: str | None = None
    age_recipient: str | None = Field(
        default=None,
        description="An age public key (age1...): secret values reach Git SOPS-encrypted "
        "for it; empty clears it",
    )


class ClusterPatch(Strict):
    name: str | None = None
    labels: dict[str, str] | None = None
    kubernetes_version: str | None = None
    gitops: GitOpsPatch | None = None


class GitOpsOut(BaseModel):
    url: str
    branch: str
    path: str
    mode: str
    username: str | None
    has_token: bool
    age_recipient: str | None


class ClusterOut(BaseModel):
    id: int
    name: str
    labels: dict[str, str]
    kubernetes_version: str
    gitops: GitOpsOut
    revision: int
    commit_sha: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Cluster) -> ClusterOut:
        git = c.gitops
        return cls(
            id=c.id,
            name=c.name,
            labels=c.labels,
            kubernetes_version=c.kubernetes_version,
            gitops=GitOpsOut(
                url=git.url,
                branch=git.branch,
                path=git.path,
                mode=git.mode.value,
                username=git.username,
                has_token=git.token_sealed is not None,
                age_recipient=git.age_recipient,
            ),
            revision=c.revision,
            commit_sha=c.commit_sha,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


class ParameterIn(Strict):
    name: str
    value: Any


class FromProfile(Strict):
    profile_id: IdField
    version: IdField | None = None
    parameters: list[ParameterIn] = Field(default_factory=list)
    values: dict[str, dict[str, Any]] = Field(default_factory=dict)
    deploy: bool = False


class UpgradeIn(Strict):
    version: IdField | None = None
    parameters: list[ParameterIn] | None = None


class IssueOut(BaseModel):
    path: str
    code: str
    message: str


class StackDraftOut(BaseModel):
    draft_id: int
    profile_version: int | None
    warnings: list[IssueOut]
    addons_count: int
    manifests_count: int
    revision: int | None = None
    commit_sha: str | None = None


class ObjectChangeOut(BaseModel):
    op: str
    kind: str
    namespace: str
    name: str
    layer: str
    diff: str
    hook: list[str] | None = None


class ParameterChangeOut(BaseModel):
    profile_id: int
    name: str
    from_: Any = Field(default=None, alias="from", serialization_alias="from")
    to: Any = None
    from_default: bool = Field(
        default=False, description="`from` is the default of the version the cluster ran"
    )
    to_default: bool = Field(
        default=False, description="`to` is the default of the version being rendered"
    )

    model_config = ConfigDict(populate_by_name=True)


class StackDiffOut(BaseModel):
    added: list[ObjectChangeOut]
    changed: list[ObjectChangeOut]
    removed: list[ObjectChangeOut]
    parameters: list[ParameterChangeOut]


class CommitIn(Strict):
    message: Text | None = Field(default=None, max_length=2000)


class CommitOut(BaseModel):
    revision: int
    commit_sha: str | None


class InstantiationOut(BaseModel):
    id: int
    cluster: str
    cluster_id: int
    version: int
    outdated: bool
    committed_at: datetime


class DeprecationIn(Strict):
    reason: Text = Field(min_length=1, max_length=2000)
    note: Text = ""


class RolloutIn(Strict):
    version: IdField
    clusters: list[str] | None = None
    selector: str = ""
    only_outdated: bool = True
    dry_run: bool = False
    continue_on_error: bool = False
    batch_size: int = Field(default=10, ge=1, le=500)
    batch_commits: bool = Field(
        default=True,
        description="Commit the clusters of a batch that share a Git repository and branch "
        "in one commit (each still gets its revision); false for a commit per cluster",
    )
    parameters: list[ParameterIn] = Field(
        default_factory=list,
        description="Values applied to every matching instantiation (e.g. a parameter the "
        "version newly requires); they replace the instantiation's own values",
    )


class RolloutChangesOut(BaseModel):
    version_from: int
    version_to: int
    added: int
    changed: int
    removed: int
    parameters: int


class RolloutStepOut(BaseModel):
    cluster: str
    cluster_id: int
    instantiation_id: int
    status: str
    reason: str
    revision: int | None
    commit_sha: str | None
    changes: RolloutChangesOut | None = Field(
        default=None, description="What the upgrade changes, when it was rendered"
    )
    draft_id: int | None = Field(
        default=None,
        description="Dry run: the kept stack draft; its full diff is at "
        "GET /api/v1/org/clusters/{cluster_id}/stack-drafts/{draft_id}/diff",
    )
    missing_parameters: list[str] = Field(
        default_factory=list, description="Required parameters the cluster still lacks"
    )


class RolloutOut(BaseModel):
    version: int
    dry_run: bool
    results: list[RolloutStepOut]
    committed: int
    would_change: int
    skipped: int
    failed: int
