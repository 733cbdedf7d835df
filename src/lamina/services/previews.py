"""Previews for people: renders and effective values of drafts and versions, with secret
parameters always shown as "<redacted>"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lamina.domain import document, effective, expansion, params, validation, values
from lamina.domain.errors import InvalidInput, Issue, NotFound
from lamina.domain.models import Principal
from lamina.ports import Store
from lamina.services.charts import ChartLibrary
from lamina.services.render import ClusterFacts, Contexts, Inputs, RenderService, StackRender


@dataclass(frozen=True)
class EffectiveValues:
    layer: str
    chart: dict[str, Any]
    values: dict[str, Any]
    origins: list[effective.Origin]


class Previews:
    def __init__(self, *, store: Store, render: RenderService, charts: ChartLibrary) -> None:
        self._store = store
        self._render = render
        self._charts = charts

    def draft(
        self,
        principal: Principal,
        draft_id: int,
        supplied: Mapping[str, Any],
        cluster: ClusterFacts,
        overrides: Mapping[str, dict[str, Any]],
    ) -> StackRender:
        return self._render.render(
            self._draft_inputs(principal, draft_id), supplied, cluster, overrides, redact=True
        )

    def version(
        self,
        principal: Principal,
        profile_id: int,
        number: int,
        supplied: Mapping[str, Any],
        cluster: ClusterFacts,
        overrides: Mapping[str, dict[str, Any]],
    ) -> StackRender:
        inputs = self._version_inputs(principal, profile_id, number)
        return self._render.render(inputs, supplied, cluster, overrides, redact=True)

    def effective_values(
        self,
        principal: Principal,
        *,
        draft_id: int | None = None,
        version: tuple[int, int] | None = None,
        layer: str,
        supplied: Mapping[str, Any],
        cluster: ClusterFacts,
        overrides: Mapping[str, Any],
        secrets_allowed: bool = True,
    ) -> EffectiveValues:
        """A chart layer's complete values and which level set each key it changes.

        With `secrets_allowed=False` (values that came in a URL), supplying a secret parameter
        is refused: URLs end up in logs and browser histories.
        """
        if draft_id is not None:
            inputs = self._draft_inputs(principal, draft_id)
        else:
            assert version is not None
            inputs = self._version_inputs(principal, *version)
        if not secrets_allowed:
            _refuse_secrets(inputs.parameters(), supplied)
        nested_specs = {ref: v.spec for ref, v in inputs.nested.items()}
        flat = {f.name: f for f in expansion.expand(inputs.spec, nested_specs)}
        target = flat.get(layer)
        if target is None or target.kind != "chart":
            raise InvalidInput(
                "Unknown layer",
                issues=[Issue("layer", "unknown_layer", f"No chart layer named '{layer}'")],
            )
        contexts = Contexts(inputs, supplied, cluster, placeholders=True, redact=True)
        context = contexts.for_layer(target)
        chart, digest, entry = self._render.load_chart(target, inputs)
        profile_values = values.substitute(target.values, context, f"{target.path}.values")
        cluster_values = values.substitute(dict(overrides), context, "values")
        complete = values.coalesce(
            self._charts.default_values(chart, digest), profile_values, cluster_values
        )
        return EffectiveValues(
            layer=layer,
            chart=entry,
            values=complete,
            origins=effective.origins(profile_values, cluster_values),
        )

    def _draft_inputs(self, principal: Principal, draft_id: int) -> Inputs:
        with self._store.unit_of_work() as uow:
            draft = uow.drafts.get(principal.org_id, draft_id)
            if draft is None:
                raise NotFound(f"Draft {draft_id} does not exist")
            report = validation.validate_document(document.assemble(draft.metadata, draft.spec))
            if not report.valid:
                raise InvalidInput("The draft is invalid; validate it first", issues=report.errors)
            return self._render.gather(uow, principal.org_id, draft.spec, None)

    def _version_inputs(self, principal: Principal, profile_id: int, number: int) -> Inputs:
        with self._store.unit_of_work() as uow:
            profile = uow.profiles.get(principal.org_id, profile_id, include_public=True)
            found = uow.versions.get(profile.id, number) if profile else None
            if profile is None or found is None:
                raise NotFound(f"Profile {profile_id} has no version {number}")
            return self._render.gather(uow, profile.org_id, found.spec, found.lock)


def _refuse_secrets(declared: list[params.Parameter], supplied: Mapping[str, Any]) -> None:
    secret = sorted(p.name for p in declared if p.type == "secret" and p.name in supplied)
    if secret:
        message = (
            "is a secret parameter: send it in the body of a POST to this endpoint, never in a URL"
        )
        raise InvalidInput(
            "Secret parameters cannot be sent in a URL",
            issues=[Issue("param", "secret_in_url", f"{name!r} {message}") for name in secret],
        )
