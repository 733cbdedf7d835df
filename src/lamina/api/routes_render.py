"""Rendering drafts and versions, and the effective values of a chart layer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from lamina.api import schemas_render as s
from lamina.api.deps import DraftRef, PrincipalDep, ProfileRef, ServicesDep
from lamina.api.inputs import Id
from lamina.domain.errors import InvalidInput, Issue
from lamina.services.render import ClusterFacts, StackRender

router = APIRouter(prefix="/api/v1/org/stack-profiles", tags=["render"])
YAML = "application/yaml"
Format = Annotated[str, Query(pattern="^(json|yaml)$", description="json (default) or yaml")]


@router.post("/drafts/{draft}/render", response_model=s.RenderOut)
def render_draft(
    draft_id: DraftRef,
    body: s.RenderRequest,
    who: PrincipalDep,
    wired: ServicesDep,
    format: Format = "json",
) -> Any:
    """Render a draft for one cluster; secret parameters show as "<redacted>"."""
    result = wired.previews.draft(who, draft_id, _supplied(body), _cluster(body), body.values)
    return _answer(result, format)


@router.post("/{profile}/versions/{number}/render", response_model=s.RenderOut)
def render_version(
    profile_id: ProfileRef,
    number: Id,
    body: s.RenderRequest,
    who: PrincipalDep,
    wired: ServicesDep,
    format: Format = "json",
) -> Any:
    """Render a published version (from its lock) for one cluster."""
    result = wired.previews.version(
        who, profile_id, number, _supplied(body), _cluster(body), body.values
    )
    return _answer(result, format)


Params = Annotated[list[str], Query(description="NAME=VALUE, repeatable")]
Labels = Annotated[list[str], Query(description="cluster label KEY=VALUE, repeatable")]


@router.get("/drafts/{draft}/effective-values", response_model=s.EffectiveValuesOut)
def draft_effective_values(
    draft_id: DraftRef,
    who: PrincipalDep,
    wired: ServicesDep,
    layer: str,
    param: Params = [],  # noqa: B006
    cluster: str = "",
    label: Labels = [],  # noqa: B006
) -> s.EffectiveValuesOut:
    """The layer's complete values: chart defaults ⊕ profile values, with each key's level."""
    facts = ClusterFacts(name=cluster, labels=_pairs(label, "label"))
    found = wired.previews.effective_values(
        who,
        draft_id=draft_id,
        layer=layer,
        supplied=_pairs(param),
        cluster=facts,
        overrides={},
        secrets_allowed=False,
    )
    return _effective(found)


@router.post("/drafts/{draft}/effective-values", response_model=s.EffectiveValuesOut)
def draft_effective_values_for(
    draft_id: DraftRef, layer: str, body: s.RenderRequest, who: PrincipalDep, wired: ServicesDep
) -> s.EffectiveValuesOut:
    """Effective values for a cluster: the render body's parameters, cluster facts and
    per-cluster `values` (the `cluster` level of the origins)."""
    found = wired.previews.effective_values(
        who,
        draft_id=draft_id,
        layer=layer,
        supplied=_supplied(body),
        cluster=_cluster(body),
        overrides=body.values.get(layer, {}),
    )
    return _effective(found)


@router.get("/{profile}/versions/{number}/effective-values", response_model=s.EffectiveValuesOut)
def version_effective_values(
    profile_id: ProfileRef,
    number: Id,
    who: PrincipalDep,
    wired: ServicesDep,
    layer: str,
    param: Params = [],  # noqa: B006
    cluster: str = "",
    label: Labels = [],  # noqa: B006
) -> s.EffectiveValuesOut:
    facts = ClusterFacts(name=cluster, labels=_pairs(label, "label"))
    found = wired.previews.effective_values(
        who,
        version=(profile_id, number),
        layer=layer,
        supplied=_pairs(param),
        cluster=facts,
        overrides={},
        secrets_allowed=False,
    )
    return _effective(found)


@router.post("/{profile}/versions/{number}/effective-values", response_model=s.EffectiveValuesOut)
def version_effective_values_for(
    profile_id: ProfileRef,
    number: Id,
    layer: str,
    body: s.RenderRequest,
    who: PrincipalDep,
    wired: ServicesDep,
) -> s.EffectiveValuesOut:
    found = wired.previews.effective_values(
        who,
        version=(profile_id, number),
        layer=layer,
        supplied=_supplied(body),
        cluster=_cluster(body),
        overrides=body.values.get(layer, {}),
    )
    return _effective(found)


def _supplied(body: s.RenderRequest) -> dict[str, Any]:
    return {p.name: p.value for p in body.parameters}


def _cluster(body: s.RenderRequest) -> ClusterFacts:
    given = body.cluster or s.ClusterIn()
    return ClusterFacts(
        name=given.name, labels=given.labels, kubernetes_version=given.kubernetes_version
    )


def _pairs(items: list[str], field: str = "param") -> dict[str, str]:
    bad = [item for item in items if "=" not in item]
    if bad:
        raise InvalidInput(
            f"Bad {field}",
            issues=[Issue(field, "invalid_value", f"'{b}' is not NAME=VALUE") for b in bad],
        )
    return dict(item.split("=", 1) for item in items)


def _stream(result: StackRender) -> str:
    """All layers as one multi-document stream, each file headed by its source. Trailing
    whitespace stays: a `|+` block ending a document keeps its final newlines."""
    parts = [
        f"---\n# Source: {layer.name}/{path}\n{_body(text)}"
        for layer in result.layers
        for path, text in layer.files.items()
        if text.strip()
    ]
    return "".join(parts)


def _body(text: str) -> str:
    """A file's text after its source header: without a leading separator (chart files
    start with one), ending with a newline."""
    body = text.lstrip()
    body = body[4:] if body.startswith("---\n") else body
    return body if body.endswith("\n") else f"{body}\n"


def _answer(result: StackRender, format: str) -> Any:
    if format == "yaml":
        return Response(_stream(result), media_type=YAML)
    return s.RenderOut(
        layers=[
            s.RenderedLayerOut(
                name=layer.name, objects_count=len(layer.identities), files=layer.files
            )
            for layer in result.layers
        ],
        warnings=[s.IssueOut(**w.as_dict()) for w in result.warnings],
        kubernetes_version=result.kube_version,
    )


def _effective(found: Any) -> s.EffectiveValuesOut:
    return s.EffectiveValuesOut(
        layer=found.layer,
        chart=found.chart,
        values=found.values,
        origins=[s.OriginOut(path=o.path, level=o.level, value=o.value) for o in found.origins],
    )
