"""Settings from the environment, and the bootstrap that builds the services."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lamina.adapters import jobqueue, network, webfetch, yamlio
from lamina.adapters.blobs import DiskBlobStore
from lamina.adapters.catalogsource import CatalogSources
from lamina.adapters.clock import SystemClock
from lamina.adapters.gitdelivery import GitDelivery
from lamina.adapters.helm import HelmEngine
from lamina.adapters.jobqueue import EmbeddedWorker, HueyQueue
from lamina.adapters.kubeschema import KubeSchemaValidator
from lamina.adapters.kustomize import KustomizeBuilder
from lamina.adapters.regex import Re2Engine
from lamina.adapters.registries import source_for
from lamina.adapters.registries.http import HttpChartSource
from lamina.adapters.registries.oci import OciChartSource
from lamina.adapters.secretbox import SecretBox
from lamina.adapters.sops import SopsEncryptor
from lamina.adapters.store import SqlStore, create_store
from lamina.domain import patterns
from lamina.domain.models import RegistryKind
from lamina.services import targets
from lamina.services.capture import CaptureService
from lamina.services.catalog import CatalogService
from lamina.services.charts import ChartLibrary
from lamina.services.checks import DocumentChecker
from lamina.services.cloning import CloneService
from lamina.services.clusters import ClusterService
from lamina.services.delivery.stacks import StackService
from lamina.services.drafts import DraftService
from lamina.services.fleet import FleetService
from lamina.services.imports import ImportService
from lamina.services.installs import InstallService
from lamina.services.jobs import JobService
from lamina.services.names import NameService
from lamina.services.previews import Previews
from lamina.services.profiles import ProfileService
from lamina.services.registries import RegistryService
from lamina.services.render import RenderService
from lamina.services.sessions import BrowserSessions
from lamina.settings import setting

DEMO_DIR = Path(__file__).parent / "demo"
DEMO_CHARTS = DEMO_DIR / "charts"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: setting("LAMINA_DATABASE_URL"))
    host: str = field(default_factory=lambda: setting("LAMINA_HOST"))
    port: int = field(default_factory=lambda: int(setting("LAMINA_PORT")))
    max_body_bytes: int = field(default_factory=lambda: int(setting("LAMINA_MAX_BODY_BYTES")))
    demo: bool = field(default_factory=lambda: setting("LAMINA_DEMO") not in ("0", "false", ""))
    data_dir: Path = field(default_factory=lambda: Path(setting("LAMINA_DATA_DIR")))
    secret_key: str = field(default_factory=lambda: setting("LAMINA_SECRET_KEY"))
    local_roots: tuple[Path, ...] = field(
        default_factory=lambda: (
            DEMO_CHARTS,
            *targets.parse_roots(setting("LAMINA_LOCAL_ROOTS"))[0],
        )
    )
    """Local roots shared by every org."""
    org_local_roots: Mapping[str, tuple[Path, ...]] = field(
        default_factory=lambda: targets.parse_roots(setting("LAMINA_LOCAL_ROOTS"))[1]
    )
    """Local roots of one org each, by org slug."""
    allow_local_targets: bool = field(
        default_factory=lambda: _flag(setting("LAMINA_ALLOW_LOCAL_TARGETS"))
    )
    kustomize: str = field(default_factory=lambda: setting("LAMINA_KUSTOMIZE"))
    """The kustomize or kubectl binary; empty for the pinned one of Lamina's environment."""
    queue_url: str = field(default_factory=lambda: setting("LAMINA_QUEUE_URL"))
    """Where jobs are queued; empty for beside the store."""
    worker_threads: int = field(default_factory=lambda: int(setting("LAMINA_WORKER_THREADS")))
    """Job workers inside the API process."""
    job_lease_seconds: float = field(
        default_factory=lambda: float(setting("LAMINA_JOB_LEASE_SECONDS"))
    )
    job_parts: int = field(default_factory=lambda: int(setting("LAMINA_JOB_PARTS")))
    """Parts a rollout that never stops early is split into, by Git target."""
    render_cache_mb: int = field(default_factory=lambda: int(setting("LAMINA_RENDER_CACHE_MB")))
    chart_cache_mb: int = field(default_factory=lambda: int(setting("LAMINA_CHART_CACHE_MB")))
    schema: str | None = field(default_factory=lambda: setting("LAMINA_DATABASE_SCHEMA") or None)
    """The PostgreSQL schema of the store; None for the connection's default."""
    database_pool_size: int = field(
        default_factory=lambda: int(setting("LAMINA_DATABASE_POOL_SIZE"))
    )
    """PostgreSQL connections each process keeps open."""


def _flag(text: str) -> bool:
    return text.strip().lower() not in ("0", "false", "no", "off", "")


def target_policy(settings: Settings) -> targets.TargetPolicy:
    return targets.TargetPolicy(
        resolve=network.resolve,
        allow_local=settings.allow_local_targets,
        shared_roots=settings.local_roots,
        org_roots=settings.org_local_roots,
        data_dir=settings.data_dir,
    )


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: SqlStore
    policy: targets.TargetPolicy
    profiles: ProfileService
    drafts: DraftService
    registries: RegistryService
    render: RenderService
    previews: Previews
    charts: ChartLibrary
    clusters: ClusterService
    stacks: StackService
    fleet: FleetService
    capture: CaptureService
    kustomizer: KustomizeBuilder
    names: NameService
    cloning: CloneService
    queue: HueyQueue
    jobs: JobService
    imports: ImportService
    sessions: BrowserSessions
    catalog: CatalogService
    installs: InstallService

    def embedded_worker(self, *, workers: int | None = None) -> EmbeddedWorker:
        """Job workers on threads of this process, with the recovery of abandoned jobs."""
        return EmbeddedWorker(
            self.queue,
            self.jobs.run,
            self.jobs.recover,
            workers=self.settings.worker_threads if workers is None else workers,
            every=max(0.5, self.settings.job_lease_seconds / 2),
        )


def build_services(settings: Settings | None = None, *, migrate: bool = True) -> Services:
    """Open the store (applying migrations) and wire the services to it."""
    settings = settings or Settings()
    store = create_store(
        settings.database_url, schema=settings.schema, pool_size=settings.database_pool_size
    )
    if migrate:
        store.migrate()
    clock = SystemClock()
    cipher = SecretBox.from_settings(
        key=settings.secret_key, key_file=settings.data_dir / "secret.key"
    )
    patterns.use(Re2Engine())
    codec = yamlio.YamlCodec()
    policy = target_policy(settings)
    charts = ChartLibrary(
        sources={
            RegistryKind.HELM: HttpChartSource(guard=policy.check_network_url),
            RegistryKind.OCI: OciChartSource(guard=policy.check_network_url),
            RegistryKind.LOCAL: source_for(RegistryKind.LOCAL),
        },
        engine=HelmEngine(),
        blobs=DiskBlobStore(settings.data_dir / "charts"),
        cipher=cipher,
        loaded_bytes=settings.chart_cache_mb * 2**20,
    )
    kustomizer = KustomizeBuilder(tool=settings.kustomize or None)
    render = RenderService(
        store=store,
        charts=charts,
        kustomizer=kustomizer,
        codec=codec,
        cache_bytes=settings.render_cache_mb * 2**20,
    )
    clusters = ClusterService(store=store, clock=clock, cipher=cipher, policy=policy)
    schemas = KubeSchemaValidator()
    stacks = StackService(
        store=store,
        clock=clock,
        cipher=cipher,
        render=render,
        codec=codec,
        git=GitDelivery(settings.data_dir / "git"),
        clusters=clusters,
        check_target=policy.check_git_url,
        encryptor=SopsEncryptor(),
        scopes=schemas,
    )
    checker = DocumentChecker(store=store, charts=charts, render=render, objects=schemas)
    fleet = FleetService(store=store, stacks=stacks)
    queue = HueyQueue(
        settings.queue_url or jobqueue.default_url(settings.database_url, settings.data_dir),
        name=jobqueue.queue_name(settings.database_url, settings.schema),
    )
    jobs = JobService(
        store=store,
        clock=clock,
        cipher=cipher,
        fleet=fleet,
        queue=queue,
        lease_seconds=settings.job_lease_seconds,
        parts=settings.job_parts,
    )
    return Services(
        settings=settings,
        store=store,
        policy=policy,
        profiles=ProfileService(store=store, clock=clock, checker=checker),
        drafts=DraftService(store=store, clock=clock, checker=checker),
        registries=RegistryService(
            store=store, clock=clock, cipher=cipher, charts=charts, policy=policy
        ),
        render=render,
        previews=Previews(store=store, render=render, charts=charts),
        charts=charts,
        clusters=clusters,
        stacks=stacks,
        fleet=fleet,
        capture=CaptureService(store=store, clock=clock, checker=checker),
        kustomizer=kustomizer,
        names=NameService(store=store),
        cloning=CloneService(
            store=store,
            profiles=ProfileService(store=store, clock=clock, checker=checker),
            drafts=DraftService(store=store, clock=clock, checker=checker),
        ),
        queue=queue,
        jobs=jobs,
        imports=ImportService(
            store=store,
            drafts=DraftService(store=store, clock=clock, checker=checker),
            policy=policy,
            load_yaml=functools.partial(yamlio.load, max_bytes=settings.max_body_bytes),
            fetch=functools.partial(webfetch.fetch, guard=policy.check_network_url),
            max_bytes=settings.max_body_bytes,
        ),
        sessions=BrowserSessions(store=store, cipher=cipher, clock=clock),
        catalog=_catalog(store, clock, policy),
        installs=InstallService(
            store=store,
            clock=clock,
            reader=CatalogSources(guard=policy.check_network_url),
            sources=_catalog(store, clock, policy),
            profiles=ProfileService(store=store, clock=clock, checker=checker),
            policy=policy,
        ),
    )


def _catalog(store: SqlStore, clock: SystemClock, policy: targets.TargetPolicy) -> CatalogService:
    """The catalog sources service (it holds no state: each caller may have its own)."""
    reader = CatalogSources(guard=policy.check_network_url)
    return CatalogService(store=store, clock=clock, reader=reader, policy=policy)


def demo_documents() -> list[dict[str, object]]:
    """The bundled example profiles, in file name order."""
    return [yamlio.load(path.read_text()) for path in sorted(DEMO_DIR.glob("*.yaml"))]
