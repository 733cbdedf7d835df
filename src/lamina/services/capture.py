"""Capturing a cluster's committed stack as a profile: one self-contained document whose
layers are the instantiated versions' layers, prefixed by profile name."""

from __future__ import annotations

import copy
from typing import Any

from lamina.domain import document, effective, params
from lamina.domain.errors import InvalidInput, Issue, NotFound
from lamina.domain.models import Cluster, Principal, Profile, ProfileType, ProfileVersion, Role
from lamina.ports import Clock, Store, UnitOfWork
from lamina.services import publishing
from lamina.services.access import own_profile, require
from lamina.services.checks import DocumentChecker

_TYPES = {ProfileType.INFRA: 0, ProfileType.FULL: 1, ProfileType.ADD_ON: 2}


class CaptureService:
    def __init__(self, *, store: Store, clock: Clock, checker: DocumentChecker) -> None:
        self._store = store
        self._clock = clock
        self._checker = checker

    def document(
        self, principal: Principal, cluster_ref: str | int, *, name: str, include_values: bool
    ) -> dict[str, Any]:
        """The profile document of the cluster's committed stack. Secret values never enter
        it: secret parameters stay secret parameters, without defaults."""
        with self._store.unit_of_work() as uow:
            cluster = _cluster(uow, principal, cluster_ref)
            parts = []
            for inst in uow.stacks.instantiations(cluster.id):
                profile = uow.profiles.get(principal.org_id, inst.profile_id, include_public=True)
                version = uow.versions.get(inst.profile_id, inst.version)
                if profile is not None and version is not None:
                    parts.append((profile, version, inst.bindings, inst.values))
        if not parts:
            raise InvalidInput(
                "Nothing to capture",
                issues=[
                    Issue("cluster", "empty_stack", f"Cluster '{cluster.name}' runs no profile")
                ],
            )
        return _document(name, cluster, parts, include_values)

    def capture(
        self,
        principal: Principal,
        cluster_ref: str | int,
        *,
        name: str,
        include_values: bool,
        profile_id: int | None = None,
    ) -> tuple[Profile, ProfileVersion]:
        """Publish the captured document: version 1 of a new profile, or the next version of
        `profile_id` (which keeps its name)."""
        require(principal, Role.EDITOR)
        if profile_id is not None:
            with self._store.unit_of_work() as uow:
                name = own_profile(uow, principal, profile_id).name
        doc = self.document(principal, cluster_ref, name=name, include_values=include_values)
        report, lock = self._checker.check(principal.org_id, doc)
        publishing.raise_if_invalid(report)
        return publishing.publish(
            self._store, principal, doc=doc, now=self._clock.now(), profile_id=profile_id, lock=lock
        )


def _document(
    name: str,
    cluster: Cluster,
    parts: list[tuple[Profile, ProfileVersion, dict[str, Any], dict[str, Any]]],
    include_values: bool,
) -> dict[str, Any]:
    parts = sorted(parts, key=lambda p: _TYPES.get(p[0].type, 2))
    layers: list[dict[str, Any]] = []
    parameters: dict[str, dict[str, Any]] = {}
    for profile, version, bindings, overrides in parts:
        rename = {
            layer["name"]: f"{profile.name}-{layer['name']}"[:63].rstrip("-")
            for layer in version.spec.get("layers", [])
        }
        for layer in version.spec.get("layers", []):
            layers.append(_layer(layer, rename, overrides if include_values else {}))
        for declared in params.parse_parameters(_declared(version.spec)):
            parameters.setdefault(declared.name, _parameter(declared, bindings, include_values))
    kinds = {p[0].type for p in parts}
    kind = ProfileType.FULL if ProfileType.FULL in kinds else min(kinds, key=lambda k: _TYPES[k])
    metadata = {
        "name": name,
        "description": f"Captured from cluster {cluster.name} at revision {cluster.revision}",
        "changelog": f"Captured from cluster {cluster.name} (revision {cluster.revision})",
    }
    spec = {"type": kind.value, "parameters": list(parameters.values()), "layers": layers}
    return document.assemble(metadata, spec)


def _layer(
    layer: dict[str, Any], rename: dict[str, str], overrides: dict[str, Any]
) -> dict[str, Any]:
    copied = copy.deepcopy(layer)
    copied["name"] = rename[layer["name"]]
    if "dependsOn" in copied:
        copied["dependsOn"] = [rename.get(d, d) for d in copied["dependsOn"]]
    kustomize = copied.get("kustomize")
    if isinstance(kustomize, dict) and "bases" in kustomize:
        kustomize["bases"] = [rename.get(b, b) for b in kustomize["bases"]]
    extra = overrides.get(layer["name"])
    if extra and "chart" in copied:
        copied["values"] = effective.overlay(copied.get("values") or {}, extra)
    return copied


def _parameter(
    declared: params.Parameter, bindings: dict[str, Any], include: bool
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": declared.name, "type": declared.type}
    if declared.enum is not None:
        entry["enum"] = list(declared.enum)
    if declared.pattern:
        entry["pattern"] = declared.pattern
    if declared.description:
        entry["description"] = declared.description
    if declared.type == "secret":
        entry["required"] = True  # the value stays with the cluster, never in a profile
    elif include and bindings.get(declared.name) is not None:
        entry["default"] = bindings[declared.name]
    elif declared.has_default:
        entry["default"] = declared.default
    elif declared.required:
        entry["required"] = True
    return entry


def _declared(spec: dict[str, Any]) -> list[Any]:
    declared = spec.get("parameters")
    return declared if isinstance(declared, list) else []


def _cluster(uow: UnitOfWork, principal: Principal, ref: str | int) -> Cluster:
    found = (
        uow.clusters.get(principal.org_id, ref)
        if isinstance(ref, int)
        else uow.clusters.get_by_name(principal.org_id, ref)
    )
    if found is None:
        raise NotFound(f"Cluster {ref} does not exist")
    return found
