"""Settings from the environment, and the bootstrap that builds the services."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lamina.adapters import yamlio
from lamina.adapters.clock import SystemClock
from lamina.adapters.store import SqlStore, create_store
from lamina.services.drafts import DraftService
from lamina.services.profiles import ProfileService

DEFAULT_DATABASE_URL = "sqlite:///lamina.db"
DEMO_DIR = Path(__file__).parent / "demo"

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
    schema: str | None = None


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: SqlStore
    profiles: ProfileService
    drafts: DraftService


def build_services(settings: Settings | None = None, *, migrate: bool = True) -> Services:
    """Open the store (applying migrations) and wire the services to it."""
    settings = settings or Settings()
    store = create_store(settings.database_url, schema=settings.schema)
    if migrate:
        store.migrate()
    clock = SystemClock()
    return Services(
        settings=settings,
        store=store,
        profiles=ProfileService(store=store, clock=clock),
        drafts=DraftService(store=store, clock=clock),
    )


def demo_documents() -> list[dict[str, object]]:
    """The bundled example profiles, in file name order."""
    return [yamlio.load(path.read_text()) for path in sorted(DEMO_DIR.glob("*.yaml"))]
