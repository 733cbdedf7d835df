"""Pages: a profile and its versions, the diff of two versions, and the draft editor."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from lamina.adapters import yamlio
from lamina.api.deps import ServicesDep
from lamina.domain import document, layering, locks
from lamina.domain.diff import Change
from lamina.domain.models import Profile, ProfileVersion
from lamina.services.drafts import document_of
from lamina.web.pages import PageRoute, ViewerDep, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Version = Annotated[int | None, Query(ge=1, le=1_000_000)]
# Shown instead of a secret parameter's default: secrets never reach a page.
HIDDEN = "(hidden)"
# The relative path of a change to the whole entry (a layer or parameter added or removed).
WHOLE = "(whole)"


@dataclass(frozen=True)
class LayerView:
    """One layer as the profile page lists it: what it installs and from where."""

    name: str
    kind: str
    source: str
    category: str
    namespace: str
    depends_on: list[str]


@dataclass(frozen=True)
class ParameterView:
    name: str
    type: str
    required: bool
    default: str
    enum: str
    pattern: str
    description: str


@router.get("/profiles/{profile}")
def profile_page(
    request: Request, profile: str, who: ViewerDep, wired: ServicesDep, version: Version = None
) -> Response:
    profile_id = wired.names.profile(who.principal, profile)
    detail = wired.profiles.detail(who.principal, profile_id)
    found = detail.profile
    number = version or found.latest_version
    selected = wired.profiles.version(who.principal, profile_id, number) if number else None
    own = found.org_id == who.principal.org_id
    running = wired.fleet.instantiations(who.principal, profile_id) if own else []
    return render(
        request,
        "profile.html",
        who=who,
        title=found.name,
        profile=found,
        ref=_ref(found, who.principal.org_id),
        own=own,
        can_write=own and who.can_edit,
        versions=sorted(detail.versions, key=lambda v: -v.version),
        deprecations=detail.deprecations,
        selected=selected,
        layers=layer_views(selected) if selected else [],
        parameters=parameter_views(selected.spec) if selected else [],
        instantiations=running,
    )


@router.get("/profiles/{profile}/diff")
def diff_page(
    request: Request,
    profile: str,
    who: ViewerDep,
    wired: ServicesDep,
    from_version: Annotated[int | None, Query(alias="from", ge=1, le=1_000_000)] = None,
    to_version: Annotated[int | None, Query(alias="to", ge=1, le=1_000_000)] = None,
) -> Response:
    profile_id = wired.names.profile(who.principal, profile)
    detail = wired.profiles.detail(who.principal, profile_id)
    compared = wired.profiles.compare(who.principal, profile_id, from_version, to_version)
    old, new, changes = compared.old, compared.new, compared.changes
    return render(
        request,
        "version_diff.html",
        who=who,
        title=f"{detail.profile.name}: v{old.version} → v{new.version}",
        profile=detail.profile,
        ref=_ref(detail.profile, who.principal.org_id),
        versions=sorted(detail.versions, key=lambda v: -v.version),
        deprecations=detail.deprecations,
        old=old,
        new=new,
        layers=layer_changes(old, new, changes),
        parameters=_under(changes, "spec.parameters"),
        other=[c for c in changes if not c.path.startswith(("spec.layers[", "spec.parameters"))],
        shown=shown,
    )


@router.get("/drafts/{draft}")
def draft_page(request: Request, draft: str, who: ViewerDep, wired: ServicesDep) -> Response:
    found = wired.drafts.get(who.principal, wired.names.draft(who.principal, draft))
    doc = document_of(found)
    layers = [layer for layer in found.spec.get("layers") or [] if isinstance(layer, Mapping)]
    metadata = document.profile_fields(found.metadata)
    tags = metadata["tags"]
    return render(
        request,
        "draft.html",
        who=who,
        title=f"Draft {found.name or found.id}",
        draft=found,
        text=yamlio.dump(doc),
        metadata=metadata,
        tags_text=", ".join(map(str, tags)) if isinstance(tags, list) else str(tags),
        layer_names=[str(layer.get("name")) for layer in layers],
        chart_layers=[str(layer.get("name")) for layer in layers if "chart" in layer],
        parameters=parameter_views(found.spec),
    )


def _ref(profile: Profile, org_id: int) -> str:
    """How page URLs name the profile: by name in its own org, by id elsewhere."""
    return profile.name if profile.org_id == org_id else str(profile.id)


def layer_views(version: ProfileVersion) -> list[LayerView]:
    """The version's layers in install order, each with its source as the lock pinned it."""
    layers = {
        str(layer.get("name")): layer
        for layer in version.spec.get("layers") or []
        if isinstance(layer, Mapping)
    }
    pins = _pins(version)
    return [_layer_view(name, layers[name], pins.get(name)) for name in _ordered(layers)]


def _pins(version: ProfileVersion) -> dict[str, locks.LockRow]:
    return {row.layer: row for row in locks.lock_rows(version.spec, version.lock) or []}


def _ordered(layers: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [name for name in layering.order_layers(list(layers.values())) if name in layers]


def _layer_view(name: str, layer: Mapping[str, Any], pin: locks.LockRow | None) -> LayerView:
    kind, source = _source(layer, pin)
    depends = layer.get("dependsOn")
    return LayerView(
        name=name,
        kind=kind,
        source=source,
        category=str(layer.get("category") or ""),
        namespace=str(layer.get("namespace") or ""),
        depends_on=[str(d) for d in depends] if isinstance(depends, list) else [],
    )


def _source(layer: Mapping[str, Any], pin: locks.LockRow | None) -> tuple[str, str]:
    """(kind, text) of where a layer's objects come from."""
    chart, kustomize, nested = layer.get("chart"), layer.get("kustomize"), layer.get("profile")
    if isinstance(chart, Mapping):
        name = chart.get("name")
        version = pin.version if pin and pin.version else f"{chart.get('version')} (not pinned)"
        return "chart", f"{name}@{version} from {chart.get('repository')}"
    if isinstance(layer.get("manifests"), list):
        count = len(layer["manifests"])
        return "manifests", f"{count} inline manifest{'s' if count != 1 else ''}"
    if isinstance(kustomize, Mapping):
        if kustomize.get("path"):
            return "kustomize", f"path {kustomize['path']}"
        resources = kustomize.get("resources") or []
        bases = kustomize.get("bases") or []
        return "kustomize", f"{len(resources)} resources, bases: {', '.join(bases) or 'none'}"
    if isinstance(nested, Mapping):
        return "profile", f"{nested.get('name')}@{nested.get('version')}"
    for key in ("os", "kubernetes"):
        if isinstance(layer.get(key), Mapping):
            described = layer[key]
            return key, f"{described.get('name') or described.get('distribution')} " + str(
                described.get("version") or ""
            )
    return "", ""


def parameter_views(spec: Mapping[str, Any]) -> list[ParameterView]:
    """The declared parameters; a secret's default is never shown."""
    views = []
    for raw in document.parameters_of(dict(spec)):
        if not isinstance(raw, Mapping):
            continue
        secret = raw.get("type") == "secret"
        default = raw.get("default")
        views.append(
            ParameterView(
                name=str(raw.get("name") or ""),
                type=str(raw.get("type") or ""),
                required=bool(raw.get("required")),
                default=HIDDEN if secret and default is not None else shown(default),
                enum=", ".join(str(e) for e in raw.get("enum") or []),
                pattern=str(raw.get("pattern") or ""),
                description=str(raw.get("description") or ""),
            )
        )
    return views


def shown(value: Any) -> str:
    """A value as one line of text: strings as they are, the rest as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=False)


@dataclass
class LayerChange:
    """A layer of either version, matched by name: added, removed, changed or unchanged."""

    name: str
    status: str
    old_source: str = ""
    new_source: str = ""
    changes: list[Change] = field(default_factory=list)


def layer_changes(
    old: ProfileVersion, new: ProfileVersion, changes: list[Change]
) -> list[LayerChange]:
    """Every layer of `new` in its order, then those only `old` has, with their changes
    (paths relative to the layer) and their sources as each version's lock pinned them."""
    old_layers, new_layers = _by_name(old.spec), _by_name(new.spec)
    old_pins, new_pins = _pins(old), _pins(new)
    out = []
    for name in [*new_layers, *(n for n in old_layers if n not in new_layers)]:
        mine = _under(changes, f"spec.layers[{name}]")
        if name not in old_layers:
            status = "added"
        elif name not in new_layers:
            status = "removed"
        else:
            status = "changed" if mine else "unchanged"
        inside = [c for c in mine if c.path != WHOLE]
        out.append(
            LayerChange(
                name=name,
                status=status,
                old_source=_source(old_layers[name], old_pins.get(name))[1]
                if name in old_layers
                else "",
                new_source=_source(new_layers[name], new_pins.get(name))[1]
                if name in new_layers
                else "",
                changes=inside,
            )
        )
    return out


def _by_name(spec: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    layers = spec.get("layers")
    if not isinstance(layers, list):
        return {}
    return {str(layer.get("name")): layer for layer in layers if isinstance(layer, Mapping)}


def _under(changes: list[Change], base: str) -> list[Change]:
    """The changes at `base` or below it, with paths relative to `base`."""
    found = []
    for change in changes:
        rest = change.path[len(base) :]
        if change.path.startswith(base) and (not rest or rest[0] in ".["):
            where = rest.lstrip(".") or WHOLE
            found.append(Change(where, change.op, change.before, change.after))
    return found
