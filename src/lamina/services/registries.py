"""Registries and packs: register pack sources, index them, browse charts and their values."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from lamina.domain import refs, semver
from lamina.domain.errors import Conflict, InvalidInput, Issue, NotFound, RegistryUnavailable
from lamina.domain.models import (
    PackSummary,
    PackVersion,
    Page,
    Principal,
    Registry,
    RegistryConfig,
    RegistryKind,
    Role,
)
from lamina.ports import Cipher, Clock, Store, UnitOfWork
from lamina.services import usage
from lamina.services.access import require
from lamina.services.charts import ChartLibrary, ResolvedChart
from lamina.services.targets import TargetPolicy

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_SCHEMES = {RegistryKind.HELM: ("https://", "http://"), RegistryKind.OCI: ("oci://",)}


@dataclass(frozen=True)
class PackValues:
    pack: PackVersion
    values: dict[str, Any]
    schema: dict[str, Any] | None


class RegistryService:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        cipher: Cipher,
        charts: ChartLibrary,
        policy: TargetPolicy,
    ) -> None:
        self._store = store
        self._clock = clock
        self._cipher = cipher
        self._charts = charts
        self._policy = policy

    def list_registries(self, principal: Principal, *, page: int, page_size: int) -> Page[Registry]:
        with self._store.unit_of_work() as uow:
            return uow.registries.page(principal.org_id, page=page, page_size=page_size)

    def create(
        self,
        principal: Principal,
        *,
        name: str,
        kind: RegistryKind,
        url: str,
        username: str | None = None,
        password: str | None = None,
        charts: tuple[str, ...] = (),
    ) -> Registry:
        """Register a pack source; credentials are sealed before they are stored."""
        require(principal, Role.ADMIN)
        self._check(principal.org_slug, name, kind, url, charts)
        registry = Registry(
            id=0,
            org_id=principal.org_id,
            name=name,
            kind=kind,
            url=url.rstrip("/") if kind is not RegistryKind.LOCAL else url,
            username=username or None,
            password_sealed=self._cipher.seal(password) if password else None,
            charts=charts,
            synced_at=None,
            sync_error=None,
            created_at=self._clock.now(),
        )
        with self._store.unit_of_work(write=True) as uow:
            if uow.registries.get_by_name(principal.org_id, name):
                raise InvalidInput(
                    "Name taken",
                    issues=[Issue("name", "duplicate_name", f"A registry named '{name}' exists")],
                )
            return uow.registries.create(registry)

    def _check(
        self, org_slug: str, name: str, kind: RegistryKind, url: str, charts: tuple[str, ...]
    ) -> None:
        issues: list[Issue] = []
        if not _NAME.match(name):
            issues.append(Issue("name", "invalid_name", "A registry name is a DNS-1123 label"))
        elif clash := refs.name_problem(name, "registry"):
            issues.append(Issue("name", "invalid_name", clash))
        if kind in _SCHEMES and not url.startswith(_SCHEMES[kind]):
            wanted = " or ".join(_SCHEMES[kind])
            issues.append(
                Issue("url", "invalid_value", f"A {kind.value} registry URL starts with {wanted}")
            )
        else:
            try:
                self._policy.check_registry_url(org_slug, kind, url)
            except InvalidInput as refused:
                issues += refused.issues
        if kind is RegistryKind.OCI and not charts:
            issues.append(
                Issue(
                    "charts",
                    "missing_field",
                    "Name the charts of an OCI registry (it cannot list them)",
                )
            )
        if issues:
            raise InvalidInput("The registry is invalid", issues=issues)

    def delete(self, principal: Principal, registry_id: int) -> None:
        require(principal, Role.ADMIN)
        with self._store.unit_of_work(write=True) as uow:
            registry = uow.registries.get(principal.org_id, registry_id)
            if registry is None:
                raise NotFound(f"Registry {registry_id} does not exist")
            users = usage.registry_users(uow, registry)
            if users is not None:
                raise Conflict(users)
            uow.registries.delete(principal.org_id, registry_id)

    def sync(self, principal: Principal, registry_id: int) -> tuple[Registry, int]:
        """Read the registry's index and make it the registry's packs; returns the count."""
        require(principal, Role.ADMIN)
        registry = self._get(principal, registry_id)
        now = self._clock.now()
        self._policy.check_registry_url(principal.org_slug, registry.kind, registry.url)
        try:
            config = self._charts.config(registry)
            packs = self._charts.index(config)
            if registry.kind is RegistryKind.OCI:
                packs = self._described(registry.name, config, packs)
        except RegistryUnavailable as error:
            with self._store.unit_of_work(write=True) as uow:
                uow.registries.mark_synced(registry.id, at=now, error=error.detail)
            raise
        with self._store.unit_of_work(write=True) as uow:
            uow.registries.replace_packs(registry.id, packs, newest(packs))
            uow.registries.mark_synced(registry.id, at=now, error=None)
        return self._get(principal, registry_id), len(packs)

    def _described(
        self, name: str, config: RegistryConfig, packs: list[PackVersion]
    ) -> list[PackVersion]:
        """OCI tags say nothing about a chart: read the newest version's Chart.yaml (its
        archive is then cached) so that pack lists show a description and app version."""
        latest = newest(packs)
        described: list[PackVersion] = []
        for pack in packs:
            if (pack.name, pack.version) in latest:
                chart, digest = self._charts.load(ResolvedChart(name, config, pack))
                meta = chart.metadata
                pack = replace(
                    pack,
                    description=str(meta.get("description") or ""),
                    app_version=str(meta.get("appVersion") or ""),
                    kube_version=str(meta.get("kubeVersion") or ""),
                    digest=digest,
                )
            described.append(pack)
        return described

    def _get(self, principal: Principal, registry_id: int) -> Registry:
        with self._store.unit_of_work() as uow:
            registry = uow.registries.get(principal.org_id, registry_id)
        if registry is None:
            raise NotFound(f"Registry {registry_id} does not exist")
        return registry

    def packs(
        self,
        principal: Principal,
        *,
        search: str | None,
        registry: str | None,
        page: int,
        page_size: int,
    ) -> Page[PackSummary]:
        with self._store.unit_of_work() as uow:
            return uow.registries.packs(
                principal.org_id, search=search, registry=registry, page=page, page_size=page_size
            )

    def pack_counts(self, principal: Principal) -> dict[str, int]:
        """How many packs each of the org's registries offers, in one query."""
        with self._store.unit_of_work() as uow:
            return uow.registries.pack_counts(principal.org_id)

    def versions(
        self,
        principal: Principal,
        registry_name: str,
        name: str,
        *,
        include_prerelease: bool = False,
        include_deprecated: bool = False,
    ) -> list[PackVersion]:
        """A chart's versions, newest first by semantic version."""
        with self._store.unit_of_work() as uow:
            registry = _by_ref(uow, principal.org_id, registry_name)
            found = uow.registries.versions(registry.id, name) if registry else []
        if not found:
            raise NotFound(f"No chart '{name}' in registry '{registry_name}'")
        shown = [
            p
            for p in found
            if (include_deprecated or not p.deprecated)
            and (include_prerelease or not _pre(p.version))
        ]
        return sorted(shown, key=lambda p: _order(p.version), reverse=True)

    def values(
        self, principal: Principal, registry_name: str, name: str, version: str
    ) -> PackValues:
        """The complete default values of one pack version, and its values schema."""
        with self._store.unit_of_work() as uow:
            registry = _by_ref(uow, principal.org_id, registry_name)
            found = uow.registries.versions(registry.id, name) if registry else []
        pack = next((p for p in found if p.version == version), None)
        if registry is None or pack is None:
            raise NotFound(f"No chart '{name}' version {version} in registry '{registry_name}'")
        self._policy.check_registry_url(principal.org_slug, registry.kind, registry.url)
        resolved = ResolvedChart(registry.name, self._charts.config(registry), pack)
        chart, digest = self._charts.load(resolved)
        engine = self._charts.engine
        return PackValues(
            pack=pack,
            values=self._charts.default_values(chart, digest),
            schema=engine.values_schema(chart),
        )


def newest(packs: list[PackVersion]) -> set[tuple[str, str]]:
    """(name, version) of each chart's newest stable, non-deprecated version (or newest at all)."""
    best: dict[str, PackVersion] = {}
    for pack in packs:
        current = best.get(pack.name)
        if current is None or _rank(pack) > _rank(current):
            best[pack.name] = pack
    return {(p.name, p.version) for p in best.values()}


def _rank(pack: PackVersion) -> tuple[bool, bool, Any]:
    return (not pack.deprecated, not _pre(pack.version), _order(pack.version))


def _pre(version: str) -> bool:
    try:
        return bool(semver.parse_version(version).prerelease)
    except ValueError:
        return False


def _order(version: str) -> Any:
    try:
        return (1, semver.parse_version(version), "")
    except ValueError:
        return (0, semver.parse_version("0.0.0"), version)


def _by_ref(uow: UnitOfWork, org_id: int, ref: str) -> Registry | None:
    """The org's registry a name or a digits-only id names."""
    if refs.is_id(ref):
        number = int(ref)
        return uow.registries.get(org_id, number) if number <= refs.MAX_ID else None
    return uow.registries.get_by_name(org_id, ref)
