"""Cloning a profile version into another org, its charts resolved to that org's registries.

The caller is an admin of the source org and proves admin rights in the target org with an
admin token of that org. Every chart the version uses (its own layers' and, through its lock,
those of nested profiles) is resolved by `domain.resolution`; the clone is published in the
target org only when all resolve. With `allow_unresolved`, unresolved charts leave a draft
there instead, which fails validation at exactly those charts. The same resolution serves an
import with `resolve=true` (`resolve_document`), against the importer's own registries.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lamina.domain import document, layering, locks, resolution
from lamina.domain.errors import Forbidden, InvalidInput, Issue, NotFound, Unauthorized
from lamina.domain.models import (
    Draft,
    Principal,
    Profile,
    ProfileVersion,
    Registry,
    RegistryKind,
    Role,
)
from lamina.domain.resolution import ChartRef, Offer, Resolution, Status
from lamina.ports import Store, UnitOfWork
from lamina.services import access, audit, auth
from lamina.services.drafts import DraftService
from lamina.services.profiles import ProfileService

CLONE_ROUTE = "/api/v1/org/stack-profiles/{profile}/clone"
TARGET_TOKEN_HEADER = "X-Lamina-Target-Token"
_REGISTRY_PAGE = 200
_URL_SCHEMES = ("https://", "http://", "oci://")


class Outcome(StrEnum):
    PUBLISHED = "published"
    UNCHANGED = "unchanged"
    DRAFT = "draft"
    REFUSED = "refused"


@dataclass(frozen=True)
class NestedMissing:
    """A nested profile version the target org does not have."""

    path: str
    name: str
    version: int


@dataclass(frozen=True)
class Report:
    """What resolution found: a row per chart, missing nested profiles, values to review."""

    resolutions: list[Resolution]
    nested_missing: list[NestedMissing] = field(default_factory=list)
    review: list[tuple[str, str]] = field(default_factory=list)

    @property
    def unresolved(self) -> list[Resolution]:
        return [r for r in self.resolutions if r.status is not Status.RESOLVED]

    @property
    def blocked(self) -> bool:
        """Whether nothing may be created even as a draft: a nested profile is missing, or a
        nested profile's chart is unresolved (the clone cannot rewrite another profile)."""
        return bool(self.nested_missing) or any(r.ref.nested for r in self.unresolved)

    def issues(self) -> list[Issue]:
        """Each unresolved chart and missing nested profile, at its path."""
        found = [_issue(r) for r in self.unresolved]
        found += [
            Issue(
                n.path,
                "nested_profile_not_found",
                f"The target org has no version {n.version} of profile '{n.name}'; clone "
                "that profile first",
            )
            for n in self.nested_missing
        ]
        return found


@dataclass(frozen=True)
class Cloned:
    """The result of a clone: the report, what happened, and what was created."""

    report: Report
    outcome: Outcome
    target_org: str
    profile: Profile | None = None
    version: ProfileVersion | None = None
    draft: Draft | None = None


class CloneService:
    def __init__(self, *, store: Store, profiles: ProfileService, drafts: DraftService) -> None:
        self._store = store
        self._profiles = profiles
        self._drafts = drafts

    def clone(
        self,
        principal: Principal,
        profile_id: int,
        *,
        target_org: str,
        target_token: str | None,
        version: int | None = None,
        registry_map: Mapping[str, str] | None = None,
        allow_unresolved: bool = False,
    ) -> Cloned:
        """Resolve the version's charts in `target_org` and publish the clone there (the next
        version of a profile of the same name, as an import would), or with unresolved charts
        and `allow_unresolved` a draft; otherwise store nothing (outcome REFUSED)."""
        access.require(principal, Role.ADMIN)
        with self._store.unit_of_work() as uow:
            profile = access.own_profile(uow, principal, profile_id)
            chosen = uow.versions.get(profile.id, version or profile.latest_version)
            if chosen is None:
                raise NotFound(f"Profile '{profile.name}' has no version {version}")
            sources = _registries(uow, principal.org_id)
        target = self._target(principal, target_org, target_token)
        wanted = dict(registry_map or {})
        with self._store.unit_of_work() as uow:
            destination = _registries(uow, target.org_id)
            _check_map(wanted, sources, destination)
            refs = _version_refs(chosen, sources)
            offers = _offers(uow, destination, {ref.name for ref in refs})
            nested = _nested_missing(uow, target.org_id, chosen.spec)
        doc = document.export_document(profile, chosen)
        report = Report(
            resolution.resolve(refs, offers, wanted),
            nested,
            _review(chosen.spec, _hosts(sources, refs) - _hosts(destination, [])),
        )
        result = self._create(target, _rewritten(doc, report), report, allow_unresolved)
        if result.outcome is not Outcome.REFUSED:
            self._audit(principal, target, profile, chosen, result)
        return result

    def resolve_document(
        self, principal: Principal, doc: Any, registry_map: Mapping[str, str] | None = None
    ) -> tuple[Any, Report]:
        """`doc` with each chart pointed at the caller's registries (by the map, the same URL,
        then search), and the report; a document that is no profile comes back unchanged for
        the import to refuse with its usual issues. Editors only, as imports are."""
        access.require(principal, Role.EDITOR)
        spec = doc.get("spec") if isinstance(doc, dict) else None
        if not isinstance(spec, dict):
            return doc, Report([])
        with self._store.unit_of_work() as uow:
            own = _registries(uow, principal.org_id)
            wanted = dict(registry_map or {})
            _check_map(wanted, None, own)
            refs = _document_refs(spec)
            offers = _offers(uow, own, {ref.name for ref in refs})
        report = Report(
            resolution.resolve(refs, offers, wanted),
            review=_review(spec, _hosts([], refs) - _hosts(own, [])),
        )
        return _rewritten(doc, report), report

    def _target(self, principal: Principal, org: str, token: str | None) -> Principal:
        """The admin of `org` the target token stands for. Any other token is refused alike,
        so the answer never tells whether the org exists."""
        refused = Forbidden(
            f"Send an admin token of org '{org}' in the {TARGET_TOKEN_HEADER} header"
        )
        if not token:
            raise refused
        try:
            target = auth.authenticate(self._store, token.strip())
        except Unauthorized:
            raise refused from None
        if target.org_slug != org or not target.role.allows(Role.ADMIN):
            raise refused
        if target.org_id == principal.org_id:
            issue = Issue("target_org", "invalid_value", "The target is the profile's own org")
            raise InvalidInput("Clone into another org", issues=[issue])
        return target

    def _create(
        self, target: Principal, doc: dict[str, Any], report: Report, allow_unresolved: bool
    ) -> Cloned:
        org = target.org_slug
        if report.blocked or (report.unresolved and not allow_unresolved):
            return Cloned(report, Outcome.REFUSED, org)
        if report.unresolved:
            draft = self._drafts.create(target, source=doc)
            return Cloned(report, Outcome.DRAFT, org, draft=draft)
        imported = self._profiles.import_or_keep(target, doc)
        outcome = Outcome.UNCHANGED if imported.unchanged else Outcome.PUBLISHED
        return Cloned(report, outcome, org, profile=imported.profile, version=imported.version)

    def _audit(
        self,
        principal: Principal,
        target: Principal,
        profile: Profile,
        version: ProfileVersion,
        result: Cloned,
    ) -> None:
        """The write in the target org's audit log too (the request's own org logs it through
        the API): who cloned what, from where."""
        status = 200 if result.outcome is Outcome.UNCHANGED else 201
        # Keywords, so that the docs check does not read these keys as issue codes.
        where = dict(source_org=principal.org_slug, profile=profile.name)
        audit.record(
            self._store,
            target,
            method="POST",
            route=CLONE_ROUTE,
            target=where | {"version": version.version},
            status=status,
        )


def _issue(r: Resolution) -> Issue:
    ref = r.ref
    where = f"layer '{ref.layer}': chart {ref.name} {ref.version}"
    if r.status is Status.VERSION_MISSING:
        offered = ", ".join(r.nearest)
        message = f"{where} is not in the target's registries (nearest: {offered})"
        return Issue(f"{ref.path}.version", "chart_version_missing", message)
    return Issue(ref.path, "chart_not_in_target", f"{where}: no target registry has this chart")


def _registries(uow: UnitOfWork, org_id: int) -> list[Registry]:
    found: list[Registry] = []
    page = 1
    while True:
        batch = uow.registries.page(org_id, page=page, page_size=_REGISTRY_PAGE)
        found += batch.items
        if len(batch.items) < _REGISTRY_PAGE:
            return found
        page += 1


def _check_map(
    wanted: Mapping[str, str], sources: list[Registry] | None, destination: list[Registry]
) -> None:
    """Every key names a source registry (when the source is known), every value a registry
    of the destination."""
    source_names = None if sources is None else {r.name for r in sources}
    target_names = {r.name for r in destination}
    issues = []
    for key, value in wanted.items():
        path = f"registry_map.{key}"
        if source_names is not None and key not in source_names:
            issues.append(Issue(path, "unknown_registry", f"No source registry named '{key}'"))
        if value not in target_names:
            issues.append(Issue(path, "unknown_registry", f"No target registry named '{value}'"))
    if issues:
        raise InvalidInput("The registry map names unknown registries", issues=issues)


def _offers(uow: UnitOfWork, registries: list[Registry], names: set[str]) -> list[Offer]:
    """What each registry offers of the charts named (deprecated versions left out, as a
    render would refuse them)."""
    return [
        Offer(
            registry=registry.name,
            url=registry.url,
            charts={
                name: [
                    p.version
                    for p in uow.registries.versions(registry.id, name)
                    if not p.deprecated
                ]
                for name in sorted(names)
            },
        )
        for registry in registries
    ]


def _version_refs(version: ProfileVersion, sources: list[Registry]) -> list[ChartRef]:
    """The charts of a published version: each chart layer at the version its lock pinned
    (its own `version` when unlocked), and each chart its lock pins for nested profiles."""
    spec = version.spec
    index = {str(layer.get("name")): i for i, layer in _layers(spec)}
    pins = (version.lock or {}).get("charts")
    pins = pins if isinstance(pins, dict) else {}
    refs = []
    for row in locks.lock_rows(spec, version.lock) or _unlocked_rows(spec):
        if row.chart is None or row.repository is None:
            continue
        nested = row.profile is not None
        parent = row.layer.partition("/")[0] if nested else row.layer
        where = f"spec.layers[{index.get(parent, 0)}]"
        pinned = row.version or row.constraint or ""
        registry, url = _source_of(row.repository, sources)
        refs.append(
            ChartRef(
                path=f"{where}.profile" if nested else f"{where}.chart",
                layer=row.layer,
                name=row.chart,
                version=pinned,
                registry=registry,
                url=url,
                nested=nested,
            )
        )
    return refs


def _unlocked_rows(spec: Mapping[str, Any]) -> list[locks.LockRow]:
    """Rows for a version published before versions were locked: its layers' own charts."""
    return [r for r in locks.lock_rows(spec, {}) or [] if r.profile is None]


def _document_refs(spec: Mapping[str, Any]) -> list[ChartRef]:
    """The chart layers of a document, at the version each layer writes."""
    refs = []
    for i, layer in _layers(spec):
        chart = layer.get("chart")
        if not isinstance(chart, dict):
            continue
        repository, name = chart.get("repository"), chart.get("name")
        version = chart.get("version")
        if not all(isinstance(v, str) and v for v in (repository, name, version)):
            continue  # the import reports the malformed chart
        is_url = str(repository).startswith(_URL_SCHEMES)
        refs.append(
            ChartRef(
                path=f"spec.layers[{i}].chart",
                layer=str(layer.get("name")),
                name=str(name),
                version=str(version),
                registry=None if is_url else str(repository),
                url=str(repository) if is_url else None,
            )
        )
    return refs


def _layers(spec: Mapping[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    layers = spec.get("layers")
    if not isinstance(layers, list):
        return []
    return [(i, layer) for i, layer in enumerate(layers) if isinstance(layer, dict)]


def _source_of(repository: str, sources: list[Registry]) -> tuple[str | None, str | None]:
    """(source registry name, URL) of a chart's `repository`: a registry name, or a URL
    that may belong to one of the source's registries."""
    if repository.startswith(_URL_SCHEMES):
        key = resolution.same_url_key(repository)
        owner = next((r for r in sources if resolution.same_url_key(r.url) == key), None)
        return (owner.name if owner else None), repository
    registry = next((r for r in sources if r.name == repository), None)
    return repository, (registry.url if registry else None)


def _nested_missing(uow: UnitOfWork, org_id: int, spec: Mapping[str, Any]) -> list[NestedMissing]:
    missing = []
    for i, layer in _layers(spec):
        ref = layering.nested_ref(layer)
        if ref is not None and uow.versions.find(org_id, *ref) is None:
            missing.append(NestedMissing(f"spec.layers[{i}].profile", *ref))
    return missing


def _hosts(registries: Iterable[Registry], refs: Iterable[ChartRef]) -> set[str]:
    """The hosts of network registries and of the charts' URLs."""
    urls = [r.url for r in registries if r.kind is not RegistryKind.LOCAL]
    urls += [ref.url for ref in refs if ref.url and ref.url.startswith(_URL_SCHEMES)]
    return {host for url in urls if (host := resolution.host_of(url))}


def _review(spec: Mapping[str, Any], hosts: set[str]) -> list[tuple[str, str]]:
    """Values, manifests and defaults naming a source registry's host: images and URLs that
    the target org may not reach. The chart references themselves are rewritten instead."""
    if not hosts:
        return []
    found = []
    for key, value in spec.items():
        if key != "layers":
            found += resolution.mentions(value, f"spec.{key}", hosts)
    for i, layer in _layers(spec):
        rest = {k: v for k, v in layer.items() if k != "chart"}
        found += resolution.mentions(rest, f"spec.layers[{i}]", hosts)
    return found


def _rewritten(doc: Any, report: Report) -> Any:
    """`doc` with each direct chart layer pointed at its destination registry."""
    if not isinstance(doc, dict) or not isinstance(doc.get("spec"), dict):
        return doc
    out = copy.deepcopy(doc)
    layers = out["spec"].get("layers")
    by_path = {r.ref.path: r for r in report.resolutions if not r.ref.nested}
    for i, layer in _layers(out["spec"]):
        found = by_path.get(f"spec.layers[{i}].chart")
        if found is not None and isinstance(layers, list):
            layers[i] = {**layer, "chart": resolution.rewrite_chart(layer["chart"], found)}
    if isinstance(out.get("metadata"), dict):
        out["metadata"].pop("version", None)
    return out
