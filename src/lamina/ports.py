"""Protocols the services need. Adapters implement them; services never import adapters."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from lamina.domain.catalog import Access, CatalogEntry, CatalogSource, Origin
from lamina.domain.models import (
    ApiToken,
    AuditEvent,
    Cluster,
    CommitIntent,
    Draft,
    Instantiation,
    Job,
    JobResult,
    JobState,
    Org,
    PackSummary,
    PackVersion,
    Page,
    Principal,
    Profile,
    ProfileQuery,
    ProfileVersion,
    Registry,
    RegistryConfig,
    Role,
    StackDraft,
    StackRevision,
    VersionSummary,
)


class Clock(Protocol):
    def now(self) -> datetime: ...


class OrgRepository(Protocol):
    def get_by_slug(self, slug: str) -> Org | None: ...
    def create(self, *, slug: str, name: str) -> Org: ...


class TokenRepository(Protocol):
    def create(
        self,
        *,
        org_id: int,
        role: Role,
        token_hash: str,
        label: str,
        expires_at: datetime | None = None,
    ) -> ApiToken: ...
    def find(self, token_hash: str) -> tuple[Principal, ApiToken] | None:
        """The token of that hash, revoked and expired ones included, with its principal."""
        ...

    def page(self, org_id: int, *, page: int, page_size: int) -> Page[ApiToken]: ...
    def revoke(self, org_id: int, token_id: int, *, at: datetime) -> bool:
        """Revoke the org's token (an already revoked one keeps its time); whether it exists."""
        ...

    def touch(self, token_id: int, *, at: datetime, stale_before: datetime) -> None:
        """Record a use at `at` when the stored one is older than `stale_before`. Gives up
        silently, without waiting, when the row or the database is locked by a writer."""
        ...


class AuditRepository(Protocol):
    def add(self, event: AuditEvent) -> None: ...
    def page(
        self, org_id: int, *, page: int, page_size: int, action: str | None
    ) -> Page[AuditEvent]:
        """The org's events newest first; `action` keeps those whose action contains it."""
        ...


class ProfileRepository(Protocol):
    def page(self, org_id: int, query: ProfileQuery) -> Page[Profile]:
        """The matching profiles, archived ones left out (`get` still reads those)."""
        ...

    def get(self, org_id: int, profile_id: int, *, include_public: bool = False) -> Profile | None:
        """The profile if `org_id` owns it, or if it is public and `include_public`."""
        ...

    def get_by_name(
        self, org_id: int, name: str, *, for_update: bool = False
    ) -> Profile | None: ...
    def lock(self, profile_id: int) -> Profile:
        """Re-read the profile, holding a write lock until the unit of work ends."""
        ...

    def create(self, *, org_id: int, fields: dict[str, Any], now: datetime) -> Profile: ...
    def update(self, profile_id: int, *, fields: dict[str, Any], now: datetime) -> Profile: ...
    def delete(self, profile_id: int) -> None: ...
    def archive(self, profile_id: int, *, now: datetime) -> Profile:
        """Mark the profile archived at `now`; its versions and instantiations stay."""
        ...


class VersionRepository(Protocol):
    def summaries(self, profile_id: int) -> list[VersionSummary]: ...
    def get(self, profile_id: int, version: int) -> ProfileVersion | None: ...
    def find(self, org_id: int, name: str, version: int) -> ProfileVersion | None:
        """A version of the org's profile called `name` (or of a public one of that name)."""
        ...

    def add(self, version: ProfileVersion) -> None: ...
    def published_draft(self, org_id: int, draft_id: int) -> tuple[str, int] | None:
        """(profile name, version number) that draft `draft_id` was published as."""
        ...

    def mentioning(self, word: str, *, org_id: int | None) -> list[tuple[int, str, ProfileVersion]]:
        """(org id, profile name, version) of every version, archived profiles' included,
        whose spec or lock holds the JSON string `word` (in any org when `org_id` is None),
        by profile name and number. A coarse filter: callers look at what they get."""
        ...


class DraftRepository(Protocol):
    def page(self, org_id: int, *, page: int, page_size: int, name: str | None) -> Page[Draft]: ...
    def get(self, org_id: int, draft_id: int) -> Draft | None: ...
    def create(self, draft: Draft) -> Draft: ...
    def update(self, draft: Draft, *, expected_version: int) -> Draft:
        """Store `draft` as version+1 if the stored one is `expected_version`, else StaleWrite."""
        ...

    def delete(self, org_id: int, draft_id: int, *, expected_version: int | None = None) -> bool:
        """Delete the draft (only while its edit counter is `expected_version`, when given);
        whether a row went."""
        ...

    def mentioning(self, org_id: int, word: str) -> list[Draft]:
        """The org's drafts whose spec holds the JSON string `word`, by name (coarse, as
        `VersionRepository.mentioning`)."""
        ...


class JobRepository(Protocol):
    def create(self, job: Job, *, secrets_sealed: str | None) -> Job: ...
    def get(self, org_id: int | None, job_id: int) -> Job | None:
        """The org's job, never a part of one (any org's job or part with None: for the
        worker that runs it)."""
        ...

    def parts(self, job_id: int) -> list[Job]:
        """The parts of a job split into parts, in order (none for any other job)."""
        ...

    def secrets(self, job_id: int) -> str | None: ...
    def page(self, org_id: int, *, page: int, page_size: int) -> Page[Job]:
        """The org's jobs, newest first, without their parts."""
        ...

    def claim(self, job_id: int, *, worker: str, now: datetime, until: datetime) -> Job | None:
        """Take a queued job (or part), or a running one whose lease ran out; None when not
        free, and always for a job split into parts. Claiming a part starts its job."""
        ...

    def renew(self, job_id: int, *, worker: str, until: datetime) -> bool:
        """Extend the lease while `worker` still holds the running job."""
        ...

    def finish(
        self, job_id: int, *, worker: str, state: JobState, error: str | None, now: datetime
    ) -> bool:
        """End the job `worker` holds; ending a job's last unfinished part ends the job:
        failed if a part failed, else cancelled if one was, else succeeded."""
        ...

    def cancel(self, org_id: int, job_id: int, *, now: datetime) -> Job | None:
        """Ask a job and its parts to stop after their current batch (queued ones stop at
        once)."""
        ...

    def add_results(self, job_id: int, results: list[JobResult], *, worker: str) -> bool:
        """Record clusters' results of job (or part) `job_id` while `worker` still holds it,
        under the job they belong to (`JobResult.job_id`); False, recording nothing, when
        it does not. Results of one job get increasing ids in the order they commit."""
        ...

    def results(self, job_id: int, *, after: int = 0, limit: int = 1000) -> list[JobResult]: ...
    def counts(self, job_id: int) -> dict[str, int]:
        """Results per status."""
        ...

    def unfinished(self, now: datetime) -> list[Job]:
        """Queued jobs and parts, and running ones whose lease ran out: what recovery
        enqueues again (never a job split into parts: its parts are)."""
        ...


class UnitOfWork(Protocol):
    @property
    def orgs(self) -> OrgRepository: ...
    @property
    def tokens(self) -> TokenRepository: ...
    @property
    def audit(self) -> AuditRepository: ...
    @property
    def profiles(self) -> ProfileRepository: ...
    @property
    def versions(self) -> VersionRepository: ...
    @property
    def drafts(self) -> DraftRepository: ...
    @property
    def registries(self) -> RegistryRepository: ...
    @property
    def clusters(self) -> ClusterRepository: ...
    @property
    def stacks(self) -> StackRepository: ...
    @property
    def renders(self) -> RenderRepository: ...
    @property
    def jobs(self) -> JobRepository: ...
    @property
    def catalog(self) -> CatalogRepository: ...


class CatalogRepository(Protocol):
    """Catalog sources with the entries of their last good sync, and the origins of
    profiles installed from a catalog or a URL."""

    def page(self, org_id: int, *, page: int, page_size: int) -> Page[CatalogSource]: ...
    def all(self, org_id: int) -> list[CatalogSource]: ...
    def get(self, org_id: int, source_id: int) -> CatalogSource | None: ...
    def get_by_name(self, org_id: int, name: str) -> CatalogSource | None: ...
    def create(self, source: CatalogSource) -> CatalogSource: ...
    def set_access(self, source_id: int, access: Access) -> None: ...
    def delete(self, org_id: int, source_id: int) -> bool: ...
    def record_sync(
        self, source_id: int, *, at: datetime, entries: list[CatalogEntry] | None, error: str | None
    ) -> None:
        """Record a sync at `at`: its error, and its entries (None keeps the last ones)."""
        ...

    def origin(self, profile_id: int) -> Origin | None: ...
    def origins(self, org_id: int) -> list[tuple[Origin, Profile]]:
        """The org's installed profiles (archived ones left out) with their origins, by name."""
        ...

    def set_origin(self, origin: Origin) -> None:
        """Record (or replace) where profile `origin.profile_id` came from."""
        ...


class CatalogReader(Protocol):
    """Reads what catalog sources hold: files of a Git branch, documents over HTTP."""

    def git_files(self, *, url: str, branch: str, path: str) -> dict[str, Any]:
        """{repository path: parsed document} of the YAML and JSON files at `path` (a file,
        or a folder read recursively; "" is the whole repository) on the branch's head.
        CatalogUnavailable when the repository cannot be read; InvalidInput, its issue
        paths starting with the file's name, when a file is not YAML."""
        ...

    def http_document(self, url: str) -> Any:
        """The parsed YAML or JSON document at `url` (http or https; every hop checked by
        the server's target policy). CatalogUnavailable when it cannot be fetched;
        InvalidInput when it is not YAML."""
        ...


# A stored render: its files ({template path: text}) and, when they were kept, the objects
# parsed from them ([(template path, object)], in file order).
StoredRender = tuple[dict[str, str], list[tuple[str, dict[str, Any]]] | None]


class RenderRepository(Protocol):
    """Rendered output kept by the digest of its inputs, so it never changes."""

    def get(self, key: str) -> StoredRender | None: ...
    def put(
        self,
        key: str,
        files: dict[str, str],
        *,
        objects: list[tuple[str, dict[str, Any]]] | None = None,
        at: datetime,
    ) -> None:
        """Keep the render (a key stored already keeps what it holds); `objects` are the
        objects parsed from `files`, kept only when JSON holds them exactly."""
        ...


class Store(Protocol):
    def unit_of_work(
        self, *, write: bool = False, wait: bool = True
    ) -> AbstractContextManager[UnitOfWork]:
        """A transaction: committed when the block ends normally, rolled back on error. Only
        a `write` unit may write; one that need not `wait` for other writers gives up
        instead of queueing behind them (what it writes may be lost, e.g. a last-use time)."""
        ...

    def cluster_lock(self, cluster_id: int, *, what: str) -> AbstractContextManager[None]:
        """Exclusive, across processes, held outside any transaction; dies with its holder.
        Conflict naming `what` when another holder keeps it too long."""
        ...

    def cluster_locks(self, cluster_ids: list[int], *, what: str) -> AbstractContextManager[None]:
        """The locks of several clusters at once (a commit of many), taken in one order."""
        ...

    def delivery_lock(self, target: str, *, what: str) -> AbstractContextManager[None]:
        """Held while a job delivers to the clusters of one Git target (`url#branch`):
        render, diff, commit. So two workers never deliver one cluster at once, and a batch
        commit has its repository to itself among jobs. Not the commits' own locks."""
        ...

    def migrate(self) -> None: ...


class JobQueue(Protocol):
    """Carries 'run job N' to the workers; the store keeps the job itself."""

    def enqueue(self, job_id: int) -> None: ...


class ChartSource(Protocol):
    """Reads one kind of registry: its index, and chart archives."""

    def index(self, registry: RegistryConfig) -> list[PackVersion]:
        """Every chart version the registry offers (RegistryUnavailable when unreachable)."""
        ...

    def fetch(self, registry: RegistryConfig, pack: PackVersion, *, max_bytes: int) -> bytes:
        """The archive bytes of `pack`; refuses archives over `max_bytes`."""
        ...


class LoadedChart(Protocol):
    """A chart held in memory by the engine; loading is slow, rendering from it is fast."""

    @property
    def metadata(self) -> dict[str, Any]: ...


class ChartEngine(Protocol):
    """The Helm engine: load, inspect and render charts in-process."""

    def load(self, archive: bytes) -> LoadedChart:
        """Load a chart archive (InvalidChart when it is corrupt or hostile)."""
        ...

    def default_values(self, chart: LoadedChart) -> dict[str, Any]:
        """The chart's complete default values, subcharts included."""
        ...

    def values_schema(self, chart: LoadedChart) -> dict[str, Any] | None: ...

    def may_vary(self, chart: LoadedChart, values: dict[str, Any]) -> bool:
        """Whether two renders with the same values may differ (random functions, clock)."""
        ...

    def render(
        self,
        chart: LoadedChart,
        *,
        values: dict[str, Any],
        release: str,
        namespace: str,
        kube_version: str | None,
        api_versions: list[str],
    ) -> dict[str, str]:
        """`helm template`: {template path: rendered text}; RenderFailed names the template."""
        ...

    def digest(self, archive: bytes) -> str:
        """`sha256:<hex>` of an archive, as chart repository indexes state it."""
        ...


class BlobStore(Protocol):
    """Content-addressed storage of chart archives, keyed by `sha256:<hex>`."""

    def get(self, digest: str) -> bytes | None: ...
    def put(self, data: bytes) -> str: ...


class Kustomizer(Protocol):
    def build(self, files: dict[str, str]) -> str:
        """`kustomize build` of a directory holding `files` (a kustomization.yaml among them)."""
        ...


class ObjectValidator(Protocol):
    def validate(self, obj: dict[str, Any], *, kube_version: str) -> tuple[list[str], bool]:
        """(problems, known): schema problems of one object; known=False for unknown kinds."""
        ...

    def validate_custom(self, obj: dict[str, Any], schema: dict[str, Any]) -> list[str]:
        """Problems of one custom resource against its CRD's `openAPIV3Schema`."""
        ...


class ScopeLookup(Protocol):
    def namespaced(self, api_version: str, kind: str, *, kube_version: str) -> bool | None:
        """Whether Kubernetes `kube_version` serves `kind` namespaced (True), cluster-scoped
        (False), or does not serve it at all (None)."""
        ...


class RegistryRepository(Protocol):
    def page(self, org_id: int, *, page: int, page_size: int) -> Page[Registry]: ...
    def get(self, org_id: int, registry_id: int) -> Registry | None: ...
    def get_by_name(self, org_id: int, name: str) -> Registry | None: ...
    def create(self, registry: Registry) -> Registry: ...
    def delete(self, org_id: int, registry_id: int) -> bool: ...
    def mark_synced(self, registry_id: int, *, at: datetime, error: str | None) -> None: ...
    def replace_packs(
        self, registry_id: int, packs: list[PackVersion], latest: set[tuple[str, str]]
    ) -> None:
        """Make `packs` the registry's whole index; `latest` marks (name, version) newest."""
        ...

    def packs(
        self, org_id: int, *, search: str | None, registry: str | None, page: int, page_size: int
    ) -> Page[PackSummary]: ...
    def pack_counts(self, org_id: int) -> dict[str, int]:
        """How many packs (charts) each of the org's registries offers, by registry name;
        registries without any are absent."""
        ...

    def versions(self, registry_id: int, name: str) -> list[PackVersion]: ...


class Cipher(Protocol):
    """Seals credentials at rest."""

    def seal(self, plain: str) -> str: ...
    def open(self, sealed: str) -> str: ...
    def digest(self, plain: str) -> str:
        """A keyed digest of `plain` (hex): equal texts give equal digests, and without the
        server's key it tells nothing about the text."""
        ...


class SecretEncryptor(Protocol):
    """Encrypts Kubernetes manifests for a cluster (SOPS with age)."""

    def encrypt(self, manifest: str, *, recipient: str) -> str:
        """`manifest` (one YAML document) with only its `data` and `stringData` values
        encrypted for the age public key `recipient`. ToolMissing when the encryption program
        is not installed, LaminaError when it fails."""
        ...


class ManifestCodec(Protocol):
    """YAML for manifests: parse rendered streams, write objects, read identities cheaply."""

    def load_all(self, text: str, source: str) -> list[Any]: ...
    def dump(self, value: Any) -> str: ...
    def scan_identities(self, text: str) -> list[tuple[str, str, str]] | None:
        """(kind, namespace, name) of each object without parsing, or None when unsure."""
        ...


class ClusterRepository(Protocol):
    def all(self, org_id: int) -> list[Cluster]: ...
    def get(self, org_id: int, cluster_id: int, *, for_update: bool = False) -> Cluster | None: ...
    def org_of(self, cluster_id: int) -> int | None: ...
    def get_by_name(self, org_id: int, name: str) -> Cluster | None: ...
    def create(self, cluster: Cluster) -> Cluster: ...
    def update(self, cluster: Cluster) -> Cluster: ...
    def delete(self, org_id: int, cluster_id: int) -> bool: ...
    def record_commit(
        self, cluster_id: int, *, expected_revision: int, sha: str, now: datetime
    ) -> bool:
        """Advance the cluster to expected_revision + 1 at `sha`; False when it moved on."""
        ...


class StackRepository(Protocol):
    def instantiations(self, cluster_id: int) -> list[Instantiation]: ...
    def instantiation(self, org_id: int, instantiation_id: int) -> Instantiation | None: ...
    def instantiations_by_id(self, org_id: int, ids: list[int]) -> dict[int, Instantiation]:
        """The org's instantiations among `ids`, by id, in one query."""
        ...

    def of_profile(self, profile_id: int) -> list[tuple[Instantiation, str]]:
        """Every instantiation of a profile with its cluster's name."""
        ...

    def outdated_counts(self, profile_ids: list[int]) -> dict[int, int]:
        """How many instantiations of each profile run a version older than the profile's
        current one, or a deprecated one, in one query; profiles with none are absent."""
        ...

    def version_counts(self, profile_ids: list[int]) -> list[tuple[int, int, int, int]]:
        """(profile id, version, instantiations, outdated ones) for each version the
        profiles run, in one query: profiles by id, versions newest first."""
        ...

    def replace_instantiations(
        self, cluster_id: int, org_id: int, addons: list[dict[str, Any]], now: datetime
    ) -> list[int]:
        """Make `addons` the cluster's instantiations (keeping ids of kept ones); new ids."""
        ...

    def add_revision(self, revision: StackRevision) -> None: ...
    def last_revision(
        self,
        cluster_id: int,
        *,
        texts: bool = True,
        known: dict[str, list[str]] | None = None,
    ) -> StackRevision | None:
        """The newest revision; with `texts=False` its objects hold content references
        instead of YAML texts (enough to count or key them, one query less). `known`
        objects (another stack's, {key: [layer, text]}) save reading the texts they share
        with the revision: an object of the same key and text takes the known text."""
        ...

    def committed_draft(self, cluster_id: int, draft_id: int) -> tuple[int, str] | None:
        """(revision, commit SHA) that stack draft `draft_id` became, if it was committed."""
        ...

    def create_draft(self, draft: StackDraft) -> StackDraft: ...
    def draft(self, org_id: int, cluster_id: int, draft_id: int) -> StackDraft | None: ...
    def delete_draft(self, draft_id: int) -> bool: ...
    def reviews(self, cluster_ids: list[int], profile_id: int) -> dict[int, list[int]]:
        """{cluster id: draft ids}: the clusters' drafts that rollout dry runs of the
        profile keep for review (clusters with none left out)."""
        ...

    def intent(self, cluster_id: int) -> CommitIntent | None:
        """The cluster's commit that was about to be pushed and is not recorded yet."""
        ...

    def pending_intents(self) -> list[CommitIntent]: ...
    def add_intent(self, intent: CommitIntent) -> None: ...
    def drop_intent(self, cluster_id: int, marker: str) -> bool: ...
    def deprecations(self, profile_id: int) -> dict[int, dict[str, str]]: ...
    def deprecate(
        self, profile_id: int, version: int, *, reason: str, note: str, now: datetime
    ) -> None: ...
    def undeprecate(self, profile_id: int, version: int) -> bool: ...
    def running(self, cluster_id: int) -> list[tuple[Instantiation, str, bool]]:
        """The cluster's instantiations with their profile's name and whether each is
        outdated (as `outdated_count` counts it)."""
        ...

    def draft_page(
        self, org_id: int, cluster_id: int, *, page: int, page_size: int
    ) -> Page[StackDraft]:
        """The cluster's open stack drafts, oldest first, without their files and objects."""
        ...

    def revision_page(self, cluster_id: int, *, page: int, page_size: int) -> Page[StackRevision]:
        """The cluster's revisions, newest first, without their addons and objects."""
        ...

    def revision(self, cluster_id: int, revision: int) -> StackRevision | None: ...


class GitRepository(Protocol):
    def commit_tree(
        self,
        *,
        url: str,
        branch: str,
        username: str | None,
        token: str | None,
        directory: str,
        files: dict[str, str],
        message: str,
    ) -> str | None:
        """Make `directory` hold exactly `files` in one pushed commit; the SHA, or None when
        nothing changed. Raises DeliveryFailed when the push failed (it may still have landed
        when the connection broke after the remote took it: look for it with find_commit)."""
        ...

    def commit_trees(
        self,
        *,
        url: str,
        branch: str,
        username: str | None,
        token: str | None,
        trees: dict[str, dict[str, str]],
        message: str,
    ) -> str | None:
        """As commit_tree for several directories ({directory: files}) in one commit."""
        ...

    def find_commit(
        self,
        *,
        url: str,
        branch: str,
        username: str | None,
        token: str | None,
        marker: str,
        since: str | None,
    ) -> str | None:
        """The SHA of the commit on the branch whose message holds the line `marker`, looked
        for after commit `since` (the whole branch when None); None when there is none.
        DeliveryFailed when the repository cannot be read."""
        ...
