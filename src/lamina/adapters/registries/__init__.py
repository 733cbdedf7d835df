"""Chart sources, one per RegistryKind: HTTP chart repositories, OCI registries, directories.

Every source follows one contract (ports.ChartSource): `index` lists versions by chart
name, newest first, or raises RegistryUnavailable naming the registry (never a password);
`fetch` returns archive bytes, raising RegistryUnavailable when it cannot deliver them and
InvalidChart when they are over `max_bytes` or, when the pack states a digest, do not match it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from lamina.domain import semver
from lamina.domain.models import PackVersion, RegistryKind
from lamina.ports import ChartSource

_sources: dict[RegistryKind, ChartSource] = {}
_lock = threading.Lock()


def source_for(kind: RegistryKind) -> ChartSource:
    """The shared source for `kind` (shared so that the local source's cache lives on)."""
    with _lock:
        if kind not in _sources:
            _sources[kind] = _make(kind)
        return _sources[kind]


def _make(kind: RegistryKind) -> ChartSource:
    # Imported here: the submodules import `newest_first` from this package.
    from lamina.adapters.registries.http import HttpChartSource
    from lamina.adapters.registries.local import LocalChartSource
    from lamina.adapters.registries.oci import OciChartSource

    makers: dict[RegistryKind, type[ChartSource]] = {
        RegistryKind.HELM: HttpChartSource,
        RegistryKind.OCI: OciChartSource,
        RegistryKind.LOCAL: LocalChartSource,
    }
    return makers[kind]()


def newest_first(packs: Iterable[PackVersion]) -> list[PackVersion]:
    """`packs` by chart name, then by version from newest to oldest in semver precedence;
    versions that are not semver come after the others."""

    def version_key(pack: PackVersion) -> tuple[int, semver.Version, str]:
        try:
            return (1, semver.parse_version(pack.version), "")
        except ValueError:
            return (0, semver.Version(0, 0, 0), pack.version)

    by_version = sorted(packs, key=version_key, reverse=True)
    return sorted(by_version, key=lambda pack: pack.name)  # stable: keeps the version order
