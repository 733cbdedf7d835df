"""Stacks: instantiating a profile version on a cluster (a form generated from the version's
parameters), and reviewing the stack draft it makes before committing or discarding it.

The form posts to the API itself (static/instantiate.js); the review's line diffs are
computed here, per object, from the YAML before and after the draft.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from lamina.api.deps import ServicesDep
from lamina.domain import params, textdiff
from lamina.domain.models import StackDraft
from lamina.domain.refs import MAX_ID
from lamina.domain.stackdiff import ObjectChange
from lamina.services.delivery import review
from lamina.services.delivery.compose import declared_parameters
from lamina.web.pages import PageRoute, ViewerDep, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
# The cluster select lists at most this many clusters; more need the `cluster` query.
MAX_CLUSTERS = 500
CRD_KIND = "CustomResourceDefinition"


# -- instantiate ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One parameter as a form field. `default` is the text a non-secret field starts with
    (secrets never start with one); `path` is where the API reports its errors."""

    param: params.Parameter
    default: str
    choices: list[tuple[str, str]]  # enum: (value as JSON, label)

    @property
    def id(self) -> str:
        return f"param-{self.param.name}"

    @property
    def default_json(self) -> str:
        """The default as JSON (enum options carry their value so), "" without one."""
        p = self.param
        return json.dumps(p.default) if p.has_default and p.type != "secret" else ""

    @property
    def path(self) -> str:
        return f"parameters.{self.param.name}"


def form_fields(declared: list[params.Parameter]) -> list[Field]:
    """The form fields of a version's parameters, in declaration order."""
    return [
        Field(
            param=p,
            default="" if p.type == "secret" or not p.has_default else _text(p.default),
            choices=[(json.dumps(m), _text(m)) for m in (p.enum or ())],
        )
        for p in declared
    ]


def hints(field: Field) -> list[str]:
    """The sentences that explain a field: description, required, pattern, default."""
    p = field.param
    said = [f"{p.description.rstrip('.')}." if p.description else ""]
    said.append("Required." if p.required else "")
    said.append(f"Must match the pattern {p.pattern}." if p.pattern else "")
    if p.type == "secret":
        said.append("Secret: never shown again.")
        said.append("Leave empty for the version's default." if p.has_default else "")
    elif p.has_default:
        said.append(f"Default: {field.default}.")
    return [s for s in said if s]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@router.get("/profiles/{profile}/instantiate")
def instantiate(
    request: Request,
    who: ViewerDep,
    wired: ServicesDep,
    profile: str,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    cluster: Annotated[str, Query(max_length=253)] = "",
) -> Response:
    """The instantiate form of a profile version (default: its current stable version, else
    its latest): a cluster to choose and the version's parameters."""
    profile_id = wired.names.profile(who.principal, profile)
    detail = wired.profiles.detail(who.principal, profile_id)
    number = version or detail.profile.current_version or detail.profile.latest_version
    chosen = wired.profiles.version(who.principal, profile_id, number)
    declared = params.parse_parameters(declared_parameters(chosen.spec))
    clusters = wired.clusters.list_clusters(
        who.principal, selector="", page=1, page_size=MAX_CLUSTERS
    )
    return render(
        request,
        "instantiate.html",
        who=who,
        title=f"Instantiate {detail.profile.name} v{number}",
        profile=detail.profile,
        versions=detail.versions,
        number=number,
        deprecation=detail.deprecations.get(number),
        fields=form_fields(declared),
        clusters=clusters.items,
        chosen_cluster=cluster,
        hints=hints,
    )


# -- review ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectView:
    """One changed object of the review, with its line diff."""

    change: ObjectChange
    lines: textdiff.LineDiff

    @property
    def crd(self) -> bool:
        return self.change.kind == CRD_KIND

    @property
    def label(self) -> str:
        c = self.change
        return f"{c.kind} {c.namespace}/{c.name}" if c.namespace else f"{c.kind} {c.name}"


@dataclass(frozen=True)
class LayerView:
    name: str
    objects: list[ObjectView]

    def count(self, op: str) -> int:
        return sum(1 for o in self.objects if o.change.op == op)


@dataclass(frozen=True)
class ParameterView:
    profile: str
    name: str
    old: str | None  # None: not set before
    new: str | None  # None: not set after
    secret: str  # a secret's change: "set", "changed" or "removed"; "" for other parameters
    old_default: bool
    new_default: bool


def layer_views(
    changes: list[ObjectChange],
    before: dict[review.Key, str],
    after: dict[review.Key, str],
) -> list[LayerView]:
    """The changes grouped by layer, layers in the order the diff gives them, each object
    with the line diff of its YAML (an added object against nothing, a removed one to
    nothing)."""
    grouped: dict[str, list[ObjectView]] = {}
    for change in changes:
        key = (change.kind, change.namespace, change.name)
        old = "" if change.op == "added" else before.get(key, "")
        new = "" if change.op == "removed" else after.get(key, "")
        view = ObjectView(change, textdiff.line_diff(old, new))
        grouped.setdefault(change.layer, []).append(view)
    return [LayerView(name, objects) for name, objects in grouped.items()]


def parameter_views(found: list[dict[str, Any]], names: dict[int, str]) -> list[ParameterView]:
    """Parameter changes for people: values as JSON; a secret's value never, only that it
    changed (the service already gives secrets as <redacted>)."""
    views = []
    for p in found:
        secret = params.REDACTED in (p.get("from"), p.get("to"))
        views.append(
            ParameterView(
                profile=names.get(p["profile_id"], f"profile {p['profile_id']}"),
                name=p["name"],
                old=None if p.get("from") is None or secret else json.dumps(p["from"]),
                new=None if p.get("to") is None or secret else json.dumps(p["to"]),
                secret=_secret_change(p) if secret else "",
                old_default=bool(p.get("from_default")),
                new_default=bool(p.get("to_default")),
            )
        )
    return views


def _secret_change(found: dict[str, Any]) -> str:
    if found.get("from") is None:
        return "set"
    if found.get("to") is None:
        return "removed"
    return "changed"


@router.get("/clusters/{cluster}/drafts/{draft_id}")
def draft_review(
    request: Request,
    who: ViewerDep,
    wired: ServicesDep,
    cluster: str,
    draft_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> Response:
    """The review of a stack draft: per layer the objects it adds, changes and removes with
    their YAML diffs, the parameter changes and warnings; Commit and Discard while it is
    open. A committed draft shows its revision; a discarded one, that it is gone."""
    cluster_id = wired.names.cluster(who.principal, cluster)
    target = wired.clusters.get(who.principal, cluster_id)
    found = wired.stacks.review(who.principal, cluster_id, draft_id)
    context: dict[str, Any] = {
        "cluster": target,
        "draft_id": draft_id,
        "committed": found.committed,
        "draft": found.draft,
    }
    if found.draft is None:
        status = 200 if found.committed else 404
        return render(
            request,
            "review.html",
            who=who,
            title=f"Stack draft {draft_id}",
            status=status,
            **context,
        )
    diff = found.diff
    assert diff is not None  # an open draft's review carries its diff
    layers = layer_views(diff.objects, found.before, found.after)
    parameters = parameter_views(diff.parameters, found.profile_names)
    return render(
        request,
        "review.html",
        who=who,
        title=f"Review stack draft {draft_id} of {target.name}",
        layers=layers,
        parameters=parameters,
        totals=_totals(layers),
        stale=found.draft.base_revision != target.revision,
        profiles=_profiles(found.draft, found.profile_names),
        **context,
    )


def _totals(layers: list[LayerView]) -> dict[str, int]:
    return {op: sum(layer.count(op) for layer in layers) for op in ("added", "changed", "removed")}


def _profiles(draft: StackDraft, names: dict[int, str]) -> list[tuple[str, int]]:
    """(profile name, version) of each instantiation the draft's stack holds."""
    return [(names.get(a["profile_id"], "?"), int(a["version"])) for a in draft.addons]
