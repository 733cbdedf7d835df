"""Rendering a profile (a draft or a locked version) for one cluster.

Rendering is a function of (document, lock, bindings, cluster facts): identical inputs
give identical layers. Each layer's output is cached by a key made of its inputs: the
chart digest, release, namespace and Kubernetes version, the layer's own values as
written, and the values of just the parameters and cluster facts the layer references.
Computing that key substitutes and serialises nothing, so a fleet of clusters that differ
in one parameter re-renders only the layers that use it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lamina.domain import effective, expansion, layering, params, values
from lamina.domain.caches import ByteLru
from lamina.domain.errors import (
    InvalidInput,
    Issue,
    LaminaError,
    RegistryUnavailable,
    RenderFailed,
)
from lamina.domain.expansion import FlatLayer
from lamina.domain.models import ProfileVersion
from lamina.domain.objects import RenderedLayer, RenderedObject, is_object
from lamina.ports import ChartEngine, Kustomizer, LoadedChart, ManifestCodec, Store, UnitOfWork
from lamina.services.charts import ChartLibrary, ResolvedChart

RENDER_CACHE_BYTES = 256 * 2**20
# A rendered layer weighs its text plus, once parsed, its objects: Python dicts and strings
# take about eight times the YAML they came from, so a layer counts as ten times its text.
TEXT_WEIGHT = 10
MAX_NESTED_VERSIONS = 200


@dataclass(frozen=True)
class ClusterFacts:
    name: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    kubernetes_version: str | None = None


@dataclass(frozen=True)
class StackRender:
    layers: list[RenderedLayer]
    warnings: list[Issue]
    kube_version: str | None
    lock: dict[str, Any]


@dataclass(frozen=True)
class _LayerPlan:
    """What a layer's cache key needs, worked out once per document."""

    layer: FlatLayer
    written: str  # the layer's values and source as written, serialised
    params: tuple[str, ...]  # parameters it references
    cluster_name: bool  # whether it references ${{ cluster.name }}
    labels: tuple[str, ...]  # cluster labels it references

    @property
    def static(self) -> bool:
        """Whether the layer renders the same whatever the bindings and cluster."""
        return not (self.params or self.cluster_name or self.labels)


@dataclass
class Inputs:
    """Everything one render reads from the store, gathered up front, and the plan made
    from it on first use (so rendering one document for many clusters plans once)."""

    org_id: int
    spec: dict[str, Any]
    lock: dict[str, Any] | None
    nested: dict[tuple[str, int], ProfileVersion]
    _plan: list[_LayerPlan] | None = field(default=None, repr=False)
    _parameters: list[params.Parameter] | None = field(default=None, repr=False)
    _kube: tuple[str | None] | None = field(default=None, repr=False)
    # Layers that reference no parameter or cluster fact render the same for every cluster
    # (of one Kubernetes version): kept here with their lock entry, skipping even the key.
    _static: dict[tuple[str, str | None], tuple[RenderedLayer, Any]] = field(
        default_factory=dict, repr=False
    )

    def parameters(self) -> list[params.Parameter]:
        if self._parameters is None:
            self._parameters = params.parse_parameters(_parameters(self.spec))
        return self._parameters

    def kubernetes_version(self) -> str | None:
        if self._kube is None:
            self._kube = (kubernetes_version_of(self.spec),)
        return self._kube[0]

    def plan(self) -> list[_LayerPlan]:
        if self._plan is None:
            nested_specs = {ref: v.spec for ref, v in self.nested.items()}
            self._plan = [_plan_layer(f) for f in expansion.expand(self.spec, nested_specs)]
        return self._plan


class RenderService:
    def __init__(
        self,
        *,
        store: Store,
        charts: ChartLibrary,
        kustomizer: Kustomizer,
        codec: ManifestCodec,
        cache_bytes: int = RENDER_CACHE_BYTES,
    ) -> None:
        self._store = store
        self._charts = charts
        self._engine: ChartEngine = charts.engine
        self._kustomizer = kustomizer
        self._codec = codec
        self._cache: ByteLru[tuple[Any, ...], RenderedLayer] = ByteLru(cache_bytes, _weight)
        self._count_lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0

    def gather(
        self, uow: UnitOfWork, org_id: int, spec: dict[str, Any], lock: dict[str, Any] | None
    ) -> Inputs:
        """Read the nested profile versions a spec reaches (breadth first, bounded)."""
        nested: dict[tuple[str, int], ProfileVersion] = {}
        queue = list(layering.nested_refs(spec))
        while queue and len(nested) < MAX_NESTED_VERSIONS:
            ref = queue.pop(0)
            if ref in nested:
                continue
            found = uow.versions.find(org_id, ref[0], ref[1])
            if found is not None:
                nested[ref] = found
                queue += layering.nested_refs(found.spec)
        return Inputs(org_id=org_id, spec=spec, lock=lock, nested=nested)

    def render(
        self,
        inputs: Inputs,
        supplied: Mapping[str, Any],
        cluster: ClusterFacts,
        overrides: Mapping[str, dict[str, Any]] | None = None,
        *,
        placeholders: bool = False,
        redact: bool = False,
        secret_format: str | None = None,
        persist: bool = False,
    ) -> StackRender:
        """Render every layer in order; InvalidInput/RenderFailed name what failed where.
        Objects two layers both render are a validation matter (`objects.duplicates`).

        `placeholders` stands in for missing values (validation); `redact` renders secret
        parameters as "<redacted>" (previews shown to people). A chart layer rendered before
        from the same inputs gives back the stored output, byte for byte (charts may use
        random functions); `persist` stores what is rendered anew (delivery does)."""
        overrides = overrides or {}
        plan = inputs.plan()
        _check_overrides(overrides, plan)
        contexts = Contexts(inputs, supplied, cluster, placeholders, redact, secret_format)
        kube = cluster.kubernetes_version or inputs.kubernetes_version()
        done: dict[str, RenderedLayer] = {}
        lock: dict[str, Any] = {}
        for step in plan:
            done[step.layer.name] = self._layer(
                step,
                inputs,
                contexts,
                overrides.get(step.layer.name, {}),
                kube,
                done,
                lock,
                persist=persist,
            )
        layers = [done[step.layer.name] for step in plan]
        return StackRender(layers=layers, warnings=[], kube_version=kube, lock={"charts": lock})

    def _layer(
        self,
        step: _LayerPlan,
        inputs: Inputs,
        contexts: Contexts,
        cluster_values: dict[str, Any],
        kube: str | None,
        done: dict[str, RenderedLayer],
        lock: dict[str, Any],
        *,
        persist: bool,
    ) -> RenderedLayer:
        layer = step.layer
        if step.static and not cluster_values and (layer.name, kube) in inputs._static:
            self.cache_hits += 1  # the same for every cluster: not even a key to compute
            rendered, entry = inputs._static[(layer.name, kube)]
            if entry is not None:
                lock[layer.name] = entry
            return rendered
        context = contexts.for_layer(layer)
        if layer.kind == "kustomize":
            return self._kustomize(layer, context, done)
        if cluster_values:  # overrides may reference parameters too: key on what they become
            cluster_values = values.substitute(cluster_values, context, f"values.{layer.name}")
        static = step.static and not cluster_values
        rendered = self._keyed(step, inputs, context, cluster_values, kube, lock, persist=persist)
        if static:
            inputs._static[(layer.name, kube)] = (rendered, lock.get(layer.name))
        return rendered

    def _keyed(
        self,
        step: _LayerPlan,
        inputs: Inputs,
        context: values.Context,
        cluster_values: dict[str, Any],
        kube: str | None,
        lock: dict[str, Any],
        *,
        persist: bool = False,
    ) -> RenderedLayer:
        layer = step.layer
        digest = ""
        chart: LoadedChart | None = None
        if layer.kind == "chart":
            try:
                chart, digest, lock[layer.name] = self.load_chart(layer, inputs)
            except (InvalidInput, RegistryUnavailable) as error:
                raise _in_layer(error, layer, f"{layer.path}.chart") from error
        key = _key(step, context, digest, kube, cluster_values)
        cached = self._cached(key)
        if cached is not None:
            return cached
        if chart is not None:
            rendered = self._chart(layer, chart, context, cluster_values, kube, key, persist)
        elif layer.kind == "manifests":
            rendered = self._manifests(layer, context)
        else:  # os / kubernetes descriptors render nothing
            rendered = self._layer_of(layer, {}, objects=[])
        self._store_cached(key, rendered)
        return rendered

    def _layer_of(
        self,
        layer: FlatLayer | RenderedLayer,
        files: dict[str, str],
        objects: list[RenderedObject] | None = None,
        values: dict[str, Any] | None = None,
    ) -> RenderedLayer:
        return RenderedLayer(
            layer.name,
            layer.namespace,
            files,
            parse=self._codec.load_all,
            scan=self._codec.scan_identities,
            objects=objects,
            values=values,
        )

    def _chart(
        self,
        layer: FlatLayer,
        chart: LoadedChart,
        context: values.Context,
        cluster_values: dict[str, Any],
        kube: str | None,
        key: tuple[Any, ...],
        persist: bool,
    ) -> RenderedLayer:
        profile_values = values.substitute(layer.values, context, f"{layer.path}.values")
        user = effective.overlay(profile_values, cluster_values)
        # A render is kept by the digest of every input of it (chart digest, the values'
        # sources and what they reference, release, namespace, Kubernetes version, as plain
        # text): a chart that may render differently each time (random functions, the clock)
        # gives back its first output byte for byte, and delivery, which keeps what it
        # renders, reads any other back with its objects instead of rendering and parsing
        # it again. Other renders (previews, validation) of other charts ask Helm at once.
        stored = persist or self._engine.may_vary(chart, user)
        stored_key = "sha256:" + hashlib.sha256(repr(key).encode()).hexdigest() if stored else ""
        found = None
        if stored:
            with self._store.unit_of_work() as uow:
                found = uow.renders.get(stored_key)
        if found is not None:
            files, kept = found
            objects = [RenderedObject(source, body) for source, body in kept or []]
            return self._layer_of(layer, files, objects if kept is not None else None, user)
        try:
            files = self._engine.render(
                chart,
                values=user,
                release=release_name(layer.name),
                namespace=layer.namespace,
                kube_version=kube,
                api_versions=[],
            )
        except RenderFailed as error:
            raise _in_layer(error, layer, f"{layer.path}.chart") from error
        rendered = self._layer_of(layer, files, values=user)
        if persist:
            self._persist(stored_key, rendered)
        return rendered

    def _persist(self, stored_key: str, rendered: RenderedLayer) -> None:
        """Keep a render with its objects; one whose files do not parse keeps its files
        alone (whoever reads its objects meets the parse error, as before)."""
        try:
            objects: list[tuple[str, dict[str, Any]]] | None = [
                (item.source, item.body) for item in rendered.objects
            ]
        except LaminaError:
            objects = None
        with self._store.unit_of_work(write=True) as uow:
            uow.renders.put(stored_key, rendered.files, objects=objects, at=datetime.now(UTC))

    def _manifests(self, layer: FlatLayer, context: values.Context) -> RenderedLayer:
        body = values.substitute(layer.source or [], context, f"{layer.path}.manifests")
        objects = [
            RenderedObject(f"manifests[{i}]", obj) for i, obj in enumerate(body) if is_object(obj)
        ]
        files = {item.source: self._codec.dump(item.body) for item in objects}
        return self._layer_of(layer, files, objects)

    def load_chart(
        self, layer: FlatLayer, inputs: Inputs
    ) -> tuple[LoadedChart, str, dict[str, Any]]:
        """The layer's chart: the pinned one of a lock (from memory when loaded before), or the
        newest matching version for a draft."""
        entry = _lock_entry(inputs, layer)
        if entry is not None:
            held = self._charts.held(entry["digest"])
            if held is not None:
                return held, entry["digest"], entry
        resolved, pinned = self._resolve(layer, inputs, entry)
        chart, digest = self._charts.load(resolved, expected_digest=pinned)
        return chart, digest, resolved.lock_entry(digest)

    def _resolve(
        self, layer: FlatLayer, inputs: Inputs, entry: dict[str, Any] | None
    ) -> tuple[ResolvedChart, str]:
        path = f"{layer.path}.chart"
        with self._store.unit_of_work() as uow:
            if entry is not None:
                return self._charts.from_lock(entry, uow, inputs.org_id, path), entry["digest"]
            return self._charts.resolve(uow, inputs.org_id, layer.source, path=path), ""

    def _kustomize(
        self, layer: FlatLayer, context: values.Context, done: dict[str, RenderedLayer]
    ) -> RenderedLayer:
        """`kustomize build` over inline resources and the objects of the `bases` layers,
        which the kustomization takes over (those layers end up empty)."""
        source = values.substitute(layer.source or {}, context, f"{layer.path}.kustomize")
        files: dict[str, str] = {}
        resources: list[str] = []
        for base in source.get("bases") or []:
            name = _prefixed(layer.name, base)  # a layer of the same (nested) profile
            taken = done.get(name)
            if taken is not None:
                done[name] = self._layer_of(taken, {}, objects=[])  # taken over: empty
                for i, item in enumerate(taken.objects):
                    file = f"bases/{base.replace('/', '-')}-{i:03d}.yaml"
                    files[file] = self._codec.dump(item.body)
                    resources.append(file)
        for i, item in enumerate(source.get("resources") or []):
            file = f"resources/{i:03d}.yaml"
            files[file] = self._codec.dump(item) if isinstance(item, dict) else str(item)
            resources.append(file)
        if source.get("path"):
            resources.append(str(source["path"]))  # a kustomize remote target
        kustomization: dict[str, Any] = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": resources,
            "patches": source.get("patches") or [],
        }
        if layer.namespace != "default":
            kustomization["namespace"] = layer.namespace
        files["kustomization.yaml"] = self._codec.dump(kustomization)
        try:
            text = self._kustomizer.build(files)
        except RenderFailed as error:
            raise _in_layer(error, layer, f"{layer.path}.kustomize") from error
        return self._layer_of(layer, {"kustomize": text})

    def _cached(self, key: tuple[Any, ...]) -> RenderedLayer | None:
        hit = self._cache.get(key)
        with self._count_lock:
            if hit is None:
                self.cache_misses += 1
            else:
                self.cache_hits += 1
        return hit

    def _store_cached(self, key: tuple[Any, ...], rendered: RenderedLayer) -> None:
        self._cache.put(key, rendered)

    def clear_cache(self) -> None:
        self._cache.clear()

    @property
    def cache_bytes(self) -> int:
        """What the kept rendered layers weigh (an estimate, see TEXT_WEIGHT)."""
        return self._cache.bytes


def _plan_layer(layer: FlatLayer) -> _LayerPlan:
    refs = [ref for _, ref in values.find_references([layer.values, layer.source])]
    labels = sorted({r.name.removeprefix("labels.") for r in refs if r.name.startswith("labels.")})
    return _LayerPlan(
        layer=layer,
        # repr keeps the document's key order: the same document always gives the same text
        written=repr((layer.values, layer.source)),
        params=tuple(sorted({r.name for r in refs if r.scope == "params"})),
        cluster_name=any(r.scope == "cluster" and r.name == "name" for r in refs),
        labels=tuple(labels),
    )


def _key(
    step: _LayerPlan,
    context: values.Context,
    digest: str,
    kube: str | None,
    cluster_values: dict[str, Any],
) -> tuple[Any, ...]:
    layer = step.layer
    bound = tuple(_hashable(context.params.get(name)) for name in step.params)
    labels = tuple(context.cluster_labels.get(name) for name in step.labels)
    name = context.cluster_name if step.cluster_name else None
    overrides = json.dumps(cluster_values, sort_keys=True) if cluster_values else ""
    return (layer.name, layer.namespace, digest, kube, step.written, bound, name, labels, overrides)


def _hashable(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return (type(value).__name__, value)


class Contexts:
    """Bound parameters per profile: the top profile's, and each nested profile's (which
    take the parent's bound values for parameters of the same name)."""

    def __init__(
        self,
        inputs: Inputs,
        supplied: Mapping[str, Any],
        cluster: ClusterFacts,
        placeholders: bool,
        redact: bool,
        secret_format: str | None = None,
    ) -> None:
        self._inputs = inputs
        self._cluster = cluster
        self._placeholders = placeholders
        self._redact = redact
        self._secret_format = secret_format
        top = inputs.parameters()
        self._top = self._bind(top, supplied, "parameters")
        self._by_profile: dict[tuple[str, int], values.Context] = {}
        self._top_context: values.Context | None = None

    def _bind(
        self, declared: list[params.Parameter], supplied: Mapping[str, Any], path: str
    ) -> dict[str, Any]:
        if self._placeholders:
            # What was supplied is bound (typed, checked); the rest gets stand-ins.
            given = [p for p in declared if p.name in supplied]
            bound = params.bind(given, supplied, path=path)
            bound |= {p.name: placeholder(p) for p in declared if p.name not in supplied}
        else:
            bound = params.bind(declared, supplied, path=path)
        if self._secret_format is not None:
            # Secrets never reach a rendered output: a placeholder the cluster fills in does.
            secret = self._secret_format
            bound |= {p.name: secret.format(name=p.name) for p in declared if p.type == "secret"}
        return params.redact(declared, bound) if self._redact else bound

    def _context(self, bound: dict[str, Any]) -> values.Context:
        labels: Mapping[str, str] = dict(self._cluster.labels)
        if self._placeholders:
            labels = _AnyLabel(labels)
        return values.Context(params=bound, cluster_name=self._cluster.name, cluster_labels=labels)

    def for_layer(self, layer: FlatLayer) -> values.Context:
        if layer.profile is None:
            if self._top_context is None:
                self._top_context = self._context(self._top)
            return self._top_context
        if layer.profile not in self._by_profile:
            spec = self._inputs.nested[layer.profile].spec
            declared = params.parse_parameters(_parameters(spec))
            given = {p.name: self._top[p.name] for p in declared if p.name in self._top}
            where = f"{layer.name.rsplit('/', 1)[0]}.parameters"
            self._by_profile[layer.profile] = self._context(self._bind(declared, given, where))
        return self._by_profile[layer.profile]


class _AnyLabel(dict[str, str]):
    """Cluster labels when validating without a cluster: every label has a stand-in value."""

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key, "placeholder")


def placeholder(parameter: params.Parameter) -> Any:
    """A stand-in value of the parameter's type, for validating without real bindings."""
    if parameter.has_default:
        return parameter.default
    if parameter.type == "number":
        return 1
    if parameter.type == "boolean":
        return False
    if parameter.type == "enum" and parameter.enum:
        return parameter.enum[0]
    return "placeholder"


def release_name(layer_name: str) -> str:
    """Helm release name of a layer: nested `web/ingress` becomes `web-ingress`."""
    return layer_name.replace("/", "-")[:53].rstrip("-")


def kubernetes_version_of(spec: Mapping[str, Any]) -> str | None:
    """The version in the profile's `k8s` layer descriptor, if it has one."""
    for layer in spec.get("layers") or []:
        if isinstance(layer, dict) and isinstance(layer.get("kubernetes"), dict):
            version = layer["kubernetes"].get("version")
            return str(version) if version else None
    return None


def _parameters(spec: Mapping[str, Any]) -> list[Any]:
    declared = spec.get("parameters")
    return declared if isinstance(declared, list) else []


def _lock_entry(inputs: Inputs, layer: FlatLayer) -> dict[str, Any] | None:
    lock = inputs.nested[layer.profile].lock if layer.profile is not None else inputs.lock
    if not lock:
        return None
    entry = (lock.get("charts") or {}).get(layer.lock_key if layer.profile else layer.name)
    return entry if isinstance(entry, dict) else None


def _prefixed(layer_name: str, base: str) -> str:
    parent = layer_name.rsplit("/", 1)[0] if "/" in layer_name else ""
    return f"{parent}/{base}" if parent else base


def _check_overrides(overrides: Mapping[str, Any], plan: list[_LayerPlan]) -> None:
    known = {step.layer.name for step in plan if step.layer.kind == "chart"}
    unknown = [name for name in overrides if name not in known]
    if unknown:
        raise InvalidInput(
            "Overrides name unknown layers",
            issues=[
                Issue(f"values.{name}", "unknown_layer", f"No chart layer named '{name}'")
                for name in unknown
            ],
        )


def _in_layer(error: LaminaError, layer: FlatLayer, path: str) -> RenderFailed:
    if isinstance(error, RegistryUnavailable):
        error = LaminaError(
            error.detail, issues=[Issue(path, "registry_unavailable", error.detail)]
        )
    issues = [
        Issue(issue.path or path, issue.code, f"layer '{layer.name}': {issue.message}")
        for issue in error.issues
    ] or [Issue(path, "render_failed", f"layer '{layer.name}': {error.detail}")]
    return RenderFailed(f"Layer '{layer.name}' failed to render", issues=issues)


def _weight(layer: RenderedLayer) -> int:
    text = sum(len(source) + len(body) for source, body in layer.files.items())
    return TEXT_WEIGHT * text
