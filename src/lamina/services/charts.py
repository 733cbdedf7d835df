"""Charts for chart layers: which version a layer means, its archive, the loaded chart.

Archives are fetched once and kept by digest in the blob store; loaded charts stay in
memory (an LRU by digest), because loading is slow and rendering a loaded chart is fast.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from lamina.domain import semver
from lamina.domain.caches import ByteLru
from lamina.domain.errors import InvalidChart, InvalidInput, Issue, RegistryUnavailable
from lamina.domain.models import PackVersion, Registry, RegistryConfig, RegistryKind
from lamina.ports import BlobStore, ChartEngine, ChartSource, Cipher, LoadedChart, UnitOfWork

MAX_ARCHIVE_BYTES = 20 * 1024 * 1024
INDEX_TTL_SECONDS = 300.0
LOADED_CHART_BYTES = 256 * 2**20
# A loaded chart holds its unpacked files and the engine's parsed templates: counted as
# ten times its (compressed) archive.
ARCHIVE_WEIGHT = 10


@dataclass(frozen=True)
class ResolvedChart:
    """A chart layer pinned to one pack version of one registry."""

    repository: str
    registry: RegistryConfig
    pack: PackVersion

    def lock_entry(self, digest: str) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "name": self.pack.name,
            "version": self.pack.version,
            "digest": digest,
        }


class ChartLibrary:
    def __init__(
        self,
        *,
        sources: Mapping[RegistryKind, ChartSource],
        engine: ChartEngine,
        blobs: BlobStore,
        cipher: Cipher,
        max_archive_bytes: int = MAX_ARCHIVE_BYTES,
        loaded_bytes: int = LOADED_CHART_BYTES,
    ) -> None:
        self._sources = sources
        self.engine = engine
        self._blobs = blobs
        self._cipher = cipher
        self._max_bytes = max_archive_bytes
        self._indexes: dict[str, tuple[float, list[PackVersion]]] = {}
        self._loaded: ByteLru[str, tuple[LoadedChart, int]] = ByteLru(
            loaded_bytes, lambda held: ARCHIVE_WEIGHT * held[1], on_evict=self._forget
        )
        self._defaults: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def config(self, registry: Registry) -> RegistryConfig:
        """How to reach a registered registry, with its password unsealed."""
        password = self._cipher.open(registry.password_sealed) if registry.password_sealed else None
        return RegistryConfig(
            kind=registry.kind,
            url=registry.url,
            username=registry.username,
            password=password,
            charts=registry.charts,
        )

    def index(self, config: RegistryConfig) -> list[PackVersion]:
        return self._sources[config.kind].index(config)

    def resolve(
        self, uow: UnitOfWork, org_id: int, chart: Mapping[str, Any], *, path: str
    ) -> ResolvedChart:
        """The newest pack matching the layer's `version`, from its repository."""
        repository, name = str(chart.get("repository") or ""), str(chart.get("name") or "")
        wanted = str(chart.get("version") or "")
        config, candidates = self._candidates(uow, org_id, repository, name, path=path)
        versions = [p.version for p in candidates if p.name == name and not p.deprecated]
        chosen = semver.max_satisfying(versions, wanted, include_prerelease=_names_pre(wanted))
        if chosen is None:
            known = ", ".join(sorted(versions, key=_sort_key, reverse=True)[:5]) or "none"
            raise InvalidInput(
                "Chart not found",
                issues=[
                    Issue(
                        f"{path}.version",
                        "chart_not_found",
                        f"No version of chart '{name}' in {repository} matches '{wanted}' "
                        f"(newest: {known})",
                    )
                ],
            )
        pack = next(p for p in candidates if p.name == name and p.version == chosen)
        return ResolvedChart(repository=repository, registry=config, pack=pack)

    def _candidates(
        self, uow: UnitOfWork, org_id: int, repository: str, name: str, *, path: str
    ) -> tuple[RegistryConfig, list[PackVersion]]:
        if repository.startswith(("https://", "http://")):
            config = RegistryConfig(kind=RegistryKind.HELM, url=repository)
            return config, self._cached_index(config, path)
        if repository.startswith("oci://"):
            config = RegistryConfig(kind=RegistryKind.OCI, url=repository, charts=(name,))
            return config, self._cached_index(config, path)
        registry = uow.registries.get_by_name(org_id, repository) if repository else None
        if registry is None:
            raise InvalidInput(
                "Unknown registry",
                issues=[
                    Issue(
                        f"{path}.repository",
                        "unknown_registry",
                        f"No registry named '{repository}'; register it or give a URL",
                    )
                ],
            )
        return self.config(registry), uow.registries.versions(registry.id, name)

    def _cached_index(self, config: RegistryConfig, path: str) -> list[PackVersion]:
        key = f"{config.kind}:{config.url}:{','.join(config.charts)}"
        now = time.monotonic()
        cached = self._indexes.get(key)
        if cached and now - cached[0] < INDEX_TTL_SECONDS:
            return cached[1]
        try:
            packs = self.index(config)
        except RegistryUnavailable as error:
            issue = Issue(f"{path}.repository", "registry_unavailable", error.detail)
            raise InvalidInput(error.detail, issues=[issue]) from error
        self._indexes[key] = (now, packs)
        return packs

    def archive(self, resolved: ResolvedChart, *, expected_digest: str = "") -> tuple[bytes, str]:
        """The chart archive and its digest, from the blob store or fetched once."""
        wanted = expected_digest or resolved.pack.digest
        if wanted:
            stored = self._blobs.get(wanted)
            if stored is not None:
                return stored, wanted
        data = self._sources[resolved.registry.kind].fetch(
            resolved.registry, resolved.pack, max_bytes=self._max_bytes
        )
        digest = self.engine.digest(data)
        if wanted and digest != wanted:
            raise InvalidChart(
                "Chart digest mismatch",
                issues=[
                    Issue(
                        "",
                        "chart_digest_mismatch",
                        f"{resolved.pack.name} {resolved.pack.version}: expected {wanted}, "
                        f"the archive is {digest}",
                    )
                ],
            )
        self._blobs.put(data)
        return data, digest

    def load(
        self, resolved: ResolvedChart, *, expected_digest: str = ""
    ) -> tuple[LoadedChart, str]:
        """The loaded chart (kept in memory by digest) and its digest."""
        wanted = expected_digest or resolved.pack.digest
        if wanted:
            held = self._loaded.get(wanted)
            if held is not None:
                return held[0], wanted
        data, digest = self.archive(resolved, expected_digest=expected_digest)
        chart = self.loaded(data, digest)
        return chart, digest

    def held(self, digest: str) -> LoadedChart | None:
        """The chart with this digest if it is loaded already."""
        found = self._loaded.get(digest)
        return found[0] if found is not None else None

    def loaded(self, data: bytes, digest: str) -> LoadedChart:
        found = self._loaded.get(digest)
        if found is not None:
            return found[0]
        chart = self.engine.load(data)
        self._loaded.put(digest, (chart, len(data)))
        return chart

    def _forget(self, digest: str) -> None:
        with self._lock:
            self._defaults.pop(digest, None)

    def default_values(self, chart: LoadedChart, digest: str) -> dict[str, Any]:
        """The chart's complete defaults (cached: never mutate the result)."""
        with self._lock:
            cached = self._defaults.get(digest)
        if cached is None:
            cached = self.engine.default_values(chart)
            if digest in self._loaded:  # forgotten with the chart it belongs to
                with self._lock:
                    self._defaults[digest] = cached
        return cached

    def from_lock(
        self, entry: Mapping[str, Any], uow: UnitOfWork, org_id: int, path: str
    ) -> ResolvedChart:
        """The exact pack a version's lock pinned (its archive must match the pinned digest)."""
        chart = {
            "repository": entry["repository"],
            "name": entry["name"],
            "version": entry["version"],
        }
        stored = self._blobs.get(entry["digest"])
        if stored is not None:
            pack = PackVersion(name=entry["name"], version=entry["version"], digest=entry["digest"])
            config = RegistryConfig(kind=RegistryKind.LOCAL, url="")
            return ResolvedChart(repository=entry["repository"], registry=config, pack=pack)
        resolved = self.resolve(uow, org_id, chart, path=path)
        return replace(resolved, pack=replace(resolved.pack, digest=entry["digest"]))


def _names_pre(constraint: str) -> bool:
    return "-" in constraint


def _sort_key(version: str) -> Any:
    try:
        return (1, semver.parse_version(version))
    except ValueError:
        return (0, version)
