"""Settings from the environment, and the bootstrap that builds the services."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lamina.adapters import yamlio
from lamina.adapters.blobs import DiskBlobStore
from lamina.adapters.clock import SystemClock
from lamina.adapters.gitdelivery import GitDelivery
from lamina.adapters.helm import HelmEngine
from lamina.adapters.kubeschema import KubeSchemaValidator
from lamina.adapters.kustomize import KustomizeBuilder
from lamina.adapters.registries import source_for
from lamina.adapters.secretbox import SecretBox
from lamina.adapters.store import SqlStore, create_store
from lamina.domain.models import RegistryKind
from lamina.services.capture import CaptureService
from lamina.services.charts import ChartLibrary
from lamina.services.checks import DocumentChecker
from lamina.services.clusters import ClusterService
from lamina.services.drafts import DraftService
from lamina.services.fleet import FleetService
from lamina.services.previews import Previews
from lamina.services.profiles import ProfileService
from lamina.services.registries import RegistryService
from lamina.services.render import RenderService
from lamina.services.stacks import StackService

DEFAULT_DATABASE_URL = "sqlite:///lamina.db"
DEMO_DIR = Path(__file__).parent / "demo"
DEMO_CHARTS = DEMO_DIR / "charts"

# Every setting Lamina reads: name -> (default, description). docs/configuration.md lists them.
SETTINGS: dict[str, tuple[str, str]] = {
    "LAMINA_DATABASE_URL": (
        DEFAULT_DATABASE_URL,
        "SQLAlchemy URL of the store: sqlite:///path.db or postgresql://user@host/db",
    ),
    "LAMINA_HOST": ("127.0.0.1", "Address `lamina serve` listens on"),
    "LAMINA_PORT": ("8080", "Port `lamina serve` listens on"),
    "LAMINA_MAX_BODY_BYTES": (str(yamlio.MAX_BYTES), "Largest request body the API accepts"),
    "LAMINA_DEMO": (
        "1",
        "Seed a `demo` org with example profiles into an empty database (0 to skip)",
    ),
    "LAMINA_DATA_DIR": (
        ".lamina",
        "Directory for the chart archive cache and the generated secret key",
    ),
    "LAMINA_SECRET_KEY": (
        "",
        "Fernet key sealing registry credentials; when empty, a key file in LAMINA_DATA_DIR",
    ),
    "LAMINA_LOCAL_ROOTS": (
        "",
        "Directories (separated by ':') under which `local` registries may point",
    ),
    "LAMINA_SERVER": ("http://127.0.0.1:8080", "API address the CLI client commands talk to"),
    "LAMINA_TOKEN": ("", "API token the CLI client commands send"),
}


def setting(name: str) -> str:
    return os.environ.get(name, SETTINGS[name][0])


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
        default_factory=lambda: (DEMO_CHARTS, *_paths(setting("LAMINA_LOCAL_ROOTS")))
    )
    schema: str | None = None


def _paths(text: str) -> tuple[Path, ...]:
    return tuple(Path(part) for part in text.split(":") if part)


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: SqlStore
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


def build_services(settings: Settings | None = None, *, migrate: bool = True) -> Services:
    """Open the store (applying migrations) and wire the services to it."""
    settings = settings or Settings()
    store = create_store(settings.database_url, schema=settings.schema)
    if migrate:
        store.migrate()
    clock = SystemClock()
    cipher = SecretBox.from_settings(
        key=settings.secret_key, key_file=settings.data_dir / "secret.key"
    )
    codec = yamlio.YamlCodec()
    charts = ChartLibrary(
        sources={kind: source_for(kind) for kind in RegistryKind},
        engine=HelmEngine(),
        blobs=DiskBlobStore(settings.data_dir / "charts"),
        cipher=cipher,
    )
    render = RenderService(
        store=store,
        charts=charts,
        kustomizer=KustomizeBuilder(),
        codec=codec,
    )
    clusters = ClusterService(store=store, clock=clock, cipher=cipher)
    stacks = StackService(
        store=store,
        clock=clock,
        cipher=cipher,
        render=render,
        codec=codec,
        git=GitDelivery(settings.data_dir / "git"),
        clusters=clusters,
    )
    checker = DocumentChecker(
        store=store, charts=charts, render=render, objects=KubeSchemaValidator()
    )
    return Services(
        settings=settings,
        store=store,
        profiles=ProfileService(store=store, clock=clock, checker=checker),
        drafts=DraftService(store=store, clock=clock, checker=checker),
        registries=RegistryService(
            store=store, clock=clock, cipher=cipher, charts=charts, local_roots=settings.local_roots
        ),
        render=render,
        previews=Previews(store=store, render=render, charts=charts),
        charts=charts,
        clusters=clusters,
        stacks=stacks,
        fleet=FleetService(store=store, stacks=stacks),
        capture=CaptureService(store=store, clock=clock, checker=checker),
    )


def demo_documents() -> list[dict[str, object]]:
    """The bundled example profiles, in file name order."""
    return [yamlio.load(path.read_text()) for path in sorted(DEMO_DIR.glob("*.yaml"))]
