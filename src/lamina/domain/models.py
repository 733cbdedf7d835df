"""Records the services pass around. Profile documents themselves stay plain, ordered dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

JSON = (
    Any  # a JSON-compatible value: dict[str, JSON] | list[JSON] | str | int | float | bool | None
)

T = TypeVar("T")


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        order = [Role.VIEWER, Role.EDITOR, Role.ADMIN]
        return order.index(self) >= order.index(needed)


class Visibility(StrEnum):
    ORGANISATION = "organisation"
    PUBLIC = "public"


class ProfileType(StrEnum):
    INFRA = "infra"
    ADD_ON = "add-on"
    FULL = "full"


@dataclass(frozen=True)
class Org:
    id: int
    slug: str
    name: str


@dataclass(frozen=True)
class Principal:
    """Who is calling: the org a token belongs to and the token's role."""

    org_id: int
    org_slug: str
    role: Role
    token_id: int = 0
    token_label: str = ""


@dataclass(frozen=True)
class ApiToken:
    """A token as its org's admins see it: never its hash, never its clear text."""

    id: int
    org_id: int
    label: str
    role: Role
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def refusal(self, now: datetime) -> str | None:
        """Why the token cannot be used at `now`, or None when it can."""
        if self.revoked_at is not None:
            return "The token was revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "The token has expired"
        return None


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class Job:
    """Long work over many clusters (a rollout), run by a worker that holds its lease.

    `request` is what was asked, with parameter values sealed apart; `total` the number of
    clusters it covers; its results are rows of their own (JobResult). A job split into
    `parts` is run by its parts (each with `parent_id` set), which record their results
    under it; it ends when the last of them ends."""

    id: int
    org_id: int
    kind: str
    state: JobState
    request: dict[str, JSON]
    role: Role
    token_id: int
    created_by: str
    total: int
    cancel_requested: bool
    attempts: int
    created_at: datetime
    worker: str | None = None
    lease_until: datetime | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    parent_id: int | None = None
    parts: int = 0

    @property
    def results_of(self) -> int:
        """The job whose results this one records: its own, or its parent's for a part."""
        return self.parent_id or self.id


@dataclass(frozen=True)
class JobResult:
    """What a job did on one cluster; `id` orders the results of a job."""

    id: int
    job_id: int
    cluster_id: int
    cluster: str
    status: str
    detail: dict[str, JSON]
    at: datetime


@dataclass(frozen=True)
class AuditEvent:
    """One write through the API: who, in which org, what (method and route), on what
    (the path parameters), when, and how it ended. Never bodies or query strings."""

    id: int
    org_id: int
    token_id: int
    actor: str
    role: Role
    method: str
    route: str
    target: dict[str, JSON]
    status: int
    at: datetime

    @property
    def action(self) -> str:
        return f"{self.method} {self.route}"

    @property
    def result(self) -> str:
        return "ok" if self.status < 400 else "error"


@dataclass(frozen=True)
class Profile:
    id: int
    org_id: int
    name: str
    description: str
    category: str
    tags: list[str]
    visibility: Visibility
    type: ProfileType
    latest_version: int
    current_version: int | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None = None
    """Set when the profile was archived: hidden from lists, still run where it runs."""


@dataclass(frozen=True)
class ProfileVersion:
    """An immutable snapshot: `spec` and `metadata` are the document's, in document order."""

    profile_id: int
    version: int
    channel: str
    changelog: str
    spec: dict[str, JSON]
    metadata: dict[str, JSON]
    created_at: datetime
    lock: dict[str, JSON] | None = None
    draft_id: int | None = None  # the draft it was published from


@dataclass(frozen=True)
class VersionSummary:
    version: int
    channel: str
    changelog: str
    created_at: datetime


@dataclass(frozen=True)
class Draft:
    """An editable working copy; `version` is its edit counter for optimistic concurrency."""

    id: int
    org_id: int
    name: str
    profile_id: int | None
    base_version: int | None
    metadata: dict[str, JSON]
    spec: dict[str, JSON]
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total_count: int
    page: int
    page_size: int


@dataclass(frozen=True)
class ProfileQuery:
    """Filters of the profile list."""

    page: int = 1
    page_size: int = 50
    search: str | None = None
    category: str | None = None
    tag: str | None = None
    include_public: bool = False
    names: list[str] = field(default_factory=list)
    after: tuple[str, int] | None = None
    """Keyset paging: the (name, id) of the last profile of the previous page; `page` is
    then ignored, and no rows are skipped by counting them."""


class RegistryKind(StrEnum):
    HELM = "helm"
    OCI = "oci"
    LOCAL = "local"


@dataclass(frozen=True)
class RegistryConfig:
    """Where packs come from. `url`: an https:// chart repository, oci://host/path, or a
    directory; `charts` names the charts of an OCI registry (OCI cannot list them)."""

    kind: RegistryKind
    url: str
    username: str | None = None
    password: str | None = None
    charts: tuple[str, ...] = ()


@dataclass(frozen=True)
class PackVersion:
    """One chart at one version, as a registry's index describes it."""

    name: str
    version: str
    app_version: str = ""
    description: str = ""
    digest: str = ""  # sha256:<hex> of the archive, when the index states it
    kube_version: str = ""  # the chart's kubeVersion constraint
    deprecated: bool = False
    urls: tuple[str, ...] = ()
    created: str = ""


@dataclass(frozen=True)
class Registry:
    """A registered pack source. `password_sealed` is ciphertext; only sync ever opens it."""

    id: int
    org_id: int
    name: str
    kind: RegistryKind
    url: str
    username: str | None
    password_sealed: str | None
    charts: tuple[str, ...]
    synced_at: datetime | None
    sync_error: str | None
    created_at: datetime


@dataclass(frozen=True)
class PackSummary:
    """A chart of a registry at its newest stable version."""

    registry: str
    pack: PackVersion


class GitMode(StrEnum):
    RENDERED = "rendered"
    FLUX = "flux"


@dataclass(frozen=True)
class GitOps:
    """Where a cluster's stack is delivered: `<path>/<cluster>/` on `branch` of `url`."""

    url: str
    branch: str = "main"
    path: str = "clusters"
    mode: GitMode = GitMode.RENDERED
    username: str | None = None
    token_sealed: str | None = None
    age_recipient: str | None = None  # secrets reach Git SOPS-encrypted for this age key


@dataclass(frozen=True)
class Cluster:
    id: int
    org_id: int
    name: str
    labels: dict[str, str]
    kubernetes_version: str
    gitops: GitOps
    revision: int  # committed stack revision; 0 before the first commit
    commit_sha: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Instantiation:
    """Cluster C runs profile P at version V with bindings B (committed)."""

    id: int
    org_id: int
    cluster_id: int
    profile_id: int
    version: int
    bindings: dict[str, Any]  # non-secret parameter values
    secrets_sealed: dict[str, str]  # secret parameter values, sealed; never leave the store
    values: dict[str, Any]  # per-cluster overrides by layer name
    committed_at: datetime


@dataclass(frozen=True)
class StackDraft:
    """A proposed, fully rendered change to a cluster's stack, reviewed then committed."""

    id: int
    org_id: int
    cluster_id: int
    base_revision: int
    action: str
    addons: list[dict[str, Any]]  # the desired instantiations, in stack order
    files: dict[str, str]  # the cluster directory's tree
    objects: dict[str, list[str]]  # "kind/namespace/name" -> [layer, YAML text]
    warnings: list[dict[str, str]]
    created_at: datetime
    review_of: int | None = None  # the profile whose rollout dry run keeps it for review


@dataclass(frozen=True)
class CommitIntent:
    """A stack commit about to be pushed: recorded before the push, so that after a crash
    the commit carrying `marker` can be looked up on the remote and recorded exactly once."""

    cluster_id: int
    draft_id: int
    marker: str
    base_revision: int
    parent_sha: str | None
    message: str
    created_at: datetime


@dataclass(frozen=True)
class StackRevision:
    cluster_id: int
    revision: int
    commit_sha: str
    message: str
    addons: list[dict[str, Any]]
    objects: dict[str, list[str]]
    committed_at: datetime
    draft_id: int | None = None  # the stack draft it was committed from
    committed_by: str | None = None  # the label of the committing token
