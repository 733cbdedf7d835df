"""Rendering a profile (a draft or a locked version) for one cluster.

Rendering is a function of (document, lock, bindings, cluster facts): identical inputs
give identical layers, so each chart layer's output is cached by a digest of its inputs
(chart digest, substituted values, release, namespace, Kubernetes version).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lamina.domain import effective, expansion, layering, params, values
from lamina.domain.errors import InvalidInput, Issue, LaminaError, RenderFailed
from lamina.domain.expansion import FlatLayer
from lamina.domain.models import ProfileVersion
from lamina.domain.objects import RenderedLayer, RenderedObject, duplicates, is_object
from lamina.ports import ChartEngine, Kustomizer, LoadedChart, Store, UnitOfWork
from lamina.services.charts import ChartLibrary, ResolvedChart

RENDER_CACHE_ENTRIES = 4096
MAX_NESTED_VERSIONS = 200

ParseYaml = Callable[[str, str], list[Any]]
DumpYaml = Callable[[Any], str]


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


@dataclass
class Inputs:
    """Everything one render reads from the store, gathered up front."""

    org_id: int
    spec: dict[str, Any]
    lock: dict[str, Any] | None
    nested: dict[tuple[str, int], ProfileVersion]


class RenderService:
    def __init__(
        self,
        *,
        store: Store,
        charts: ChartLibrary,
        kustomizer: Kustomizer,
        parse_yaml: ParseYaml,
        dump_yaml: DumpYaml,
    ) -> None:
        self._store = store
        self._charts = charts
        self._engine: ChartEngine = charts.engine
        self._kustomizer = kustomizer
        self._parse = parse_yaml
        self._dump = dump_yaml
        self._cache: OrderedDict[str, RenderedLayer] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0

    # -- entry points -------------------------------------------------------------------

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
    ) -> StackRender:
        """Render every layer in order; InvalidInput/RenderFailed name what failed where.

        `placeholders` stands in for missing values (validation); `redact` renders secret
        parameters as "<redacted>" (previews shown to people)."""
        overrides = overrides or {}
        nested_specs = {ref: v.spec for ref, v in inputs.nested.items()}
        flat = expansion.expand(inputs.spec, nested_specs)
        _check_overrides(overrides, flat)
        contexts = Contexts(inputs, supplied, cluster, placeholders, redact)
        kube = cluster.kubernetes_version or kubernetes_version_of(inputs.spec)
        done: dict[str, RenderedLayer] = {}
        lock: dict[str, Any] = {}
        for layer in flat:
            rendered = self._layer(layer, inputs, contexts, overrides, kube, done, lock)
            done[layer.name] = rendered
        layers = [done[layer.name] for layer in flat]
        problems = duplicates(layers)
        if problems:
            raise RenderFailed("Two layers render the same object", issues=problems)
        return StackRender(layers=layers, warnings=[], kube_version=kube, lock={"charts": lock})

    # -- layers -----------------------------------------------------------------------

    def _layer(
        self,
        layer: FlatLayer,
        inputs: Inputs,
        contexts: Contexts,
        overrides: Mapping[str, dict[str, Any]],
        kube: str | None,
        done: dict[str, RenderedLayer],
        lock: dict[str, Any],
    ) -> RenderedLayer:
        context = contexts.for_layer(layer)
        if layer.kind == "chart":
            return self._chart(layer, inputs, context, overrides.get(layer.name, {}), kube, lock)
        if layer.kind == "manifests":
            body = values.substitute(layer.source or [], context, f"{layer.path}.manifests")
            objects = [
                RenderedObject(f"manifests[{i}]", obj)
                for i, obj in enumerate(body)
                if is_object(obj)
            ]
            return RenderedLayer(layer.name, layer.namespace, objects)
        if layer.kind == "kustomize":
            return self._kustomize(layer, context, done)
        return RenderedLayer(layer.name, layer.namespace, [])  # os / kubernetes descriptors

    def _chart(
        self,
        layer: FlatLayer,
        inputs: Inputs,
        context: values.Context,
        cluster_values: dict[str, Any],
        kube: str | None,
        lock: dict[str, Any],
    ) -> RenderedLayer:
        chart, digest, lock[layer.name] = self.load_chart(layer, inputs)
        profile_values = values.substitute(layer.values, context, f"{layer.path}.values")
        user = effective.overlay(
            profile_values, values.substitute(cluster_values, context, "values")
        )
        release = release_name(layer.name)
        key = _digest([digest, user, release, layer.namespace, kube])
        cached = self._cached(key)
        if cached is not None:
            return RenderedLayer(layer.name, cached.namespace, cached.objects)
        complete = values.coalesce(self._charts.default_values(chart, digest), user)
        problems = self._engine.validate_values(chart, complete)
        if problems:
            raise RenderFailed(
                f"Layer '{layer.name}': values do not match the chart's schema",
                issues=[Issue(f"{layer.path}.values", "values_schema", m) for m in problems],
            )
        try:
            files = self._engine.render(
                chart,
                values=user,
                release=release,
                namespace=layer.namespace,
                kube_version=kube,
                api_versions=[],
            )
        except RenderFailed as error:
            raise _in_layer(error, layer) from error
        rendered = RenderedLayer(layer.name, layer.namespace, self._objects(files))
        self._store_cached(key, rendered)
        return rendered

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
        with self._store.unit_of_work() as uow:
            if entry is not None:
                return self._charts.from_lock(
                    entry, uow, inputs.org_id, f"{layer.path}.chart"
                ), entry["digest"]
            return self._charts.resolve(
                uow, inputs.org_id, layer.source, path=f"{layer.path}.chart"
            ), ""

    def _objects(self, files: Mapping[str, str]) -> list[RenderedObject]:
        out: list[RenderedObject] = []
        for path in sorted(files):
            out += [
                RenderedObject(path, doc)
                for doc in self._parse(files[path], path)
                if is_object(doc)
            ]
        return out

    def _kustomize(
        self, layer: FlatLayer, context: values.Context, done: dict[str, RenderedLayer]
    ) -> RenderedLayer:
        source = values.substitute(layer.source or {}, context, f"{layer.path}.kustomize")
        files: dict[str, str] = {}
        resources: list[str] = []
        for base in source.get("bases") or []:
            taken = done.pop(base, None) or done.pop(_prefixed(layer.name, base), None)
            for i, item in enumerate(taken.objects if taken else []):
                name = f"bases/{base.replace('/', '-')}-{i:03d}.yaml"
                files[name] = self._dump(item.body)
                resources.append(name)
        for i, item in enumerate(source.get("resources") or []):
            name = f"resources/{i:03d}.yaml"
            files[name] = self._dump(item) if isinstance(item, dict) else str(item)
            resources.append(name)
        if source.get("path"):
            resources.append(str(source["path"]))  # a kustomize remote target
        kustomization: dict[str, Any] = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
        }
        kustomization |= {"namespace": layer.namespace} if layer.namespace != "default" else {}
        kustomization |= {"resources": resources, "patches": source.get("patches") or []}
        files["kustomization.yaml"] = self._dump(kustomization)
        try:
            text = self._kustomizer.build(files)
        except RenderFailed as error:
            raise _in_layer(error, layer) from error
        objects = [
            RenderedObject("kustomize", d) for d in self._parse(text, "kustomize") if is_object(d)
        ]
        return RenderedLayer(layer.name, layer.namespace, objects)

    # -- cache ------------------------------------------------------------------------

    def _cached(self, key: str) -> RenderedLayer | None:
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is None:
                self.cache_misses += 1
                return None
            self._cache.move_to_end(key)
            self.cache_hits += 1
            return hit

    def _store_cached(self, key: str, rendered: RenderedLayer) -> None:
        with self._cache_lock:
            self._cache[key] = rendered
            while len(self._cache) > RENDER_CACHE_ENTRIES:
                self._cache.popitem(last=False)


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
    ) -> None:
        self._inputs = inputs
        self._cluster = cluster
        self._placeholders = placeholders
        self._redact = redact
        top = params.parse_parameters(_parameters(inputs.spec))
        self._top = self._bind(top, supplied, "parameters")
        self._by_profile: dict[tuple[str, int], values.Context] = {}

    def _bind(
        self, declared: list[params.Parameter], supplied: Mapping[str, Any], path: str
    ) -> dict[str, Any]:
        if self._placeholders:
            bound = {p.name: supplied.get(p.name, placeholder(p)) for p in declared}
        else:
            bound = params.bind(declared, supplied, path=path)
        return params.redact(declared, bound) if self._redact else bound

    def _context(self, bound: dict[str, Any]) -> values.Context:
        labels: Mapping[str, str] = dict(self._cluster.labels)
        if self._placeholders:
            labels = _AnyLabel(labels)
        return values.Context(params=bound, cluster_name=self._cluster.name, cluster_labels=labels)

    def for_layer(self, layer: FlatLayer) -> values.Context:
        if layer.profile is None:
            return self._context(self._top)
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


def _check_overrides(overrides: Mapping[str, Any], flat: list[FlatLayer]) -> None:
    known = {layer.name for layer in flat if layer.kind == "chart"}
    unknown = [name for name in overrides if name not in known]
    if unknown:
        raise InvalidInput(
            "Overrides name unknown layers",
            issues=[
                Issue(f"values.{name}", "unknown_layer", f"No chart layer named '{name}'")
                for name in unknown
            ],
        )


def _in_layer(error: LaminaError, layer: FlatLayer) -> RenderFailed:
    issues = [
        Issue(issue.path or layer.path, issue.code, f"layer '{layer.name}': {issue.message}")
        for issue in error.issues
    ] or [Issue(layer.path, "render_failed", f"layer '{layer.name}': {error.detail}")]
    return RenderFailed(f"Layer '{layer.name}' failed to render", issues=issues)


def _digest(parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
