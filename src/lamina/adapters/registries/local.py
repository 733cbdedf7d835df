"""A directory as a registry: chart directories (holding Chart.yaml) and .tgz archives.

Chart directories are packaged in memory by Helm. Packaging is deterministic (see
helm.package_chart), so a directory's digest depends only on its files' content and names:
the same across processes and machines. Each entry's archive and metadata are cached,
keyed by path and a fingerprint of names, sizes and modification times of its files, so an
index after an edit sees the edit and one without edits repackages nothing.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from lamina.adapters import archives, helm
from lamina.adapters.registries import newest_first
from lamina.domain.errors import InvalidChart, RegistryUnavailable
from lamina.domain.models import PackVersion, RegistryConfig

_Fingerprint = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class _Entry:
    fingerprint: _Fingerprint
    archive: bytes
    pack: PackVersion


class LocalChartSource:
    """ports.ChartSource for RegistryKind.LOCAL; `RegistryConfig.url` is a directory path
    (or a file:// URL)."""

    def __init__(self, engine: helm.HelmEngine | None = None) -> None:
        self._engine = engine or helm.HelmEngine()
        self._cache: dict[Path, _Entry] = {}
        self._lock = threading.Lock()

    def index(self, registry: RegistryConfig) -> list[PackVersion]:
        """Every chart in the directory, newest first; `urls` holds the entry's path.
        RegistryUnavailable when the directory is missing or an entry is not a valid chart
        (named, so that it can be fixed)."""
        return newest_first(entry.pack for entry in self._entries(_directory(registry)))

    def fetch(self, registry: RegistryConfig, pack: PackVersion, *, max_bytes: int) -> bytes:
        """The archive of the entry with the pack's name and version (its `urls` are not
        trusted as paths); InvalidChart over `max_bytes` or on a stated digest's mismatch."""
        for entry in self._entries(_directory(registry)):
            if (entry.pack.name, entry.pack.version) == (pack.name, pack.version):
                if len(entry.archive) > max_bytes:
                    raise archives.too_large(max_bytes)
                if pack.digest:
                    archives.verify_digest(entry.archive, pack.digest)
                return entry.archive
        raise RegistryUnavailable(
            f"The directory {registry.url} holds no chart {pack.name} {pack.version}"
        )

    def _entries(self, directory: Path) -> list[_Entry]:
        try:
            paths = sorted(directory.iterdir())
        except OSError as error:
            raise RegistryUnavailable(f"Cannot read the directory {directory}: {error}") from None
        found = [
            self._entry(path)
            for path in paths
            if (path.is_dir() and (path / "Chart.yaml").is_file())
            or (path.is_file() and path.name.endswith(".tgz"))
        ]
        # Cached entries of paths that are gone are dropped, so the cache cannot grow forever.
        with self._lock:
            present = set(paths)
            for stale in [p for p in self._cache if p.parent == directory and p not in present]:
                del self._cache[stale]
        return found

    def _entry(self, path: Path) -> _Entry:
        try:
            fingerprint = _fingerprint(path)
            with self._lock:
                cached = self._cache.get(path)
            if cached is not None and cached.fingerprint == fingerprint:
                return cached
            entry = self._load(path, fingerprint)
        except (OSError, InvalidChart) as error:
            reason = error.detail if isinstance(error, InvalidChart) else str(error)
            raise RegistryUnavailable(f"The chart at {path} cannot be used: {reason}") from None
        with self._lock:
            self._cache[path] = entry
        return entry

    def _load(self, path: Path, fingerprint: _Fingerprint) -> _Entry:
        if path.is_dir():
            archive = helm.package_chart(path)
        else:
            if path.stat().st_size > archives.MAX_ARCHIVE_BYTES:
                raise archives.too_large(archives.MAX_ARCHIVE_BYTES)
            archive = path.read_bytes()
        metadata = self._engine.load(archive).metadata
        pack = PackVersion(
            name=str(metadata.get("name", "")),
            version=str(metadata.get("version", "")),
            app_version=str(metadata.get("appVersion") or ""),
            description=str(metadata.get("description") or ""),
            digest=archives.sha256_digest(archive),
            kube_version=str(metadata.get("kubeVersion") or ""),
            deprecated=metadata.get("deprecated") is True,
            urls=(str(path),),
        )
        return _Entry(fingerprint, archive, pack)


def _directory(registry: RegistryConfig) -> Path:
    return Path(registry.url.removeprefix("file://")).expanduser()


def _fingerprint(path: Path) -> _Fingerprint:
    """Names, sizes and modification times of the files under `path` (or of `path`)."""
    if not path.is_dir():
        stat = path.stat()
        return (("", stat.st_size, stat.st_mtime_ns),)
    rows: list[tuple[str, int, int]] = []
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = Path(folder) / name
            stat = full.stat()
            rows.append((str(full.relative_to(path)), stat.st_size, stat.st_mtime_ns))
    return tuple(rows)
