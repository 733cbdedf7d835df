"""A cluster's stack as files for a GitOps repository, applied by Flux or Argo CD.

Two layouts, both {relative path: text} for the cluster's directory (the caller writes
them under `<path>/<cluster>/`), both deterministic: the same input gives the same bytes.

`rendered` (any tool that runs kustomize, Argo CD included):

    kustomization.yaml            resources: every layer folder, in layer order
    lamina.yaml                   cluster, revision, and the add-ons (never secret values)
    01-web-platform.ingress/
      kustomization.yaml          resources: the object files, in render order
      ingress.deployment-web.yaml one object per file

`flux`: the same folders, except that a chart layer Flux can fetch itself holds a
`HelmRepository` (in flux-system) and a `HelmRelease` (in the layer namespace) instead of
its rendered objects, plus one Flux `Kustomization` per layer in `flux/<folder>.yaml`, each
depending on the previous layer's; the cluster's `kustomization.yaml` lists only those, so
Flux applies the Kustomizations and they apply the folders, one layer after the other.

What the cluster must supply in flux mode: each chart layer's `secret_name` Secret in the
layer namespace (its keys feed `valuesFrom`), and each other layer's `secret_name` Secret in
flux-system (its keys are the `lamina_secret_NAME` variables its objects hold). HelmReleases
reference their HelmRepository across namespaces, which Flux refuses when started with
`--no-cross-namespace-refs`.

Objects without a namespace get their layer's namespace written in, unless their kind is
cluster-scoped (`objects.CLUSTER_SCOPED`), so the files say where each object goes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lamina.domain.objects import CLUSTER_SCOPED

Dump = Callable[[Any], str]
Tree = dict[str, str]

FLUX_NAMESPACE = "flux-system"
INTERVAL = "10m"
KUSTOMIZATION = "kustomization.yaml"
RECORD = "lamina.yaml"
FLUX_DIR = "flux"
PRUNE_DISABLED = {"kustomize.toolkit.fluxcd.io/prune": "disabled"}
# Namespaces every cluster has: a chart layer in one of them gets no Namespace object.
BUILTIN_NAMESPACES = frozenset(
    {"default", "kube-system", "kube-public", "kube-node-lease", FLUX_NAMESPACE}
)
MAX_NAME = 63  # Flux writes Kustomization names into label values
MAX_RELEASE = 53  # Helm's limit on release names

_UNSAFE = re.compile(r"[^a-z0-9.-]")
_NOT_NAME = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ChartRelease:
    """What Flux needs to install a chart layer itself.

    `repository_url` is an https:// chart repository or an oci://host/path (Flux appends
    the chart); `version` is exact; `values` are the user values with every secret value
    taken out; `secret_values` are (dotted values path, key in the Secret) pairs injected
    with `valuesFrom` from `secret_name`, a Secret in the layer namespace.
    """

    repository_url: str
    chart: str
    version: str
    values: dict[str, Any]
    secret_values: list[tuple[str, str]]
    secret_name: str


@dataclass(frozen=True)
class LayerOutput:
    """One rendered layer. `name` is the full layer name (`web-platform/ingress`);
    `objects` are its rendered objects in order, with secret values already replaced by
    `${lamina_secret_NAME}` placeholders; `chart` is set for chart layers Flux can fetch.
    `secret_name`, when set, names a Secret in flux-system whose keys Flux substitutes for
    those placeholders (flux mode, layers without `chart` only)."""

    name: str
    namespace: str
    objects: list[dict[str, Any]]
    chart: ChartRelease | None = None
    secret_name: str = ""


@dataclass(frozen=True)
class AddonRecord:
    """One add-on instantiated on the cluster. `bindings` hold non-secret parameter values;
    `secrets` only the names of secret parameters."""

    profile: str
    profile_id: int
    version: int
    instantiation_id: int
    bindings: dict[str, Any]
    secrets: list[str]


# --- names -------------------------------------------------------------------------------


def layer_folder(index: int, name: str) -> str:
    """The folder of the layer at 0-based `index`: its number from 01 (two digits, three from
    index 99 on), "-", and the name lowercased with "/" as "." and every character outside
    [a-z0-9.-] as "-": `layer_folder(0, "web-platform/ingress") == "01-web-platform.ingress"`."""
    if index < 0:
        raise ValueError(f"layer index {index} is negative")
    return f"{index + 1:02d}-{_sanitise(name.replace('/', '.'))}"


def object_file(obj: dict[str, Any]) -> str:
    """The file name of one object: `<namespace>.<kind>-<name>.yaml`, or `<kind>-<name>.yaml`
    without a namespace, lowercased, every character outside [a-z0-9.-] as "-"."""
    metadata = _metadata(obj)
    stem = f"{str(obj.get('kind') or '').lower()}-{metadata.get('name') or ''}"
    namespace = str(metadata.get("namespace") or "")
    return _sanitise(f"{namespace}.{stem}" if namespace else stem) + ".yaml"


def object_files(objects: Iterable[dict[str, Any]]) -> list[str]:
    """`object_file` of each object, made unique within one folder: a name already taken
    (or `kustomization.yaml`) gets "-2", "-3"… before `.yaml`, first come first served."""
    taken = {KUSTOMIZATION}
    files: list[str] = []
    for obj in objects:
        file = _unique(object_file(obj), taken)
        taken.add(file)
        files.append(file)
    return files


def release_name(layer_name: str) -> str:
    """The Helm release (and HelmRelease) name of a layer, as rendering names it:
    `web-platform/ingress` becomes `web-platform-ingress`, at most 53 characters."""
    return layer_name.replace("/", "-")[:MAX_RELEASE].rstrip("-")


def repository_name(url: str) -> str:
    """The HelmRepository name of a chart repository URL: host and path, lowercased, each run
    of other characters as "-", prefixed with the scheme unless it is https
    (`oci://ghcr.io/acme/charts` is `oci-ghcr-io-acme-charts`); at most 63 characters."""
    text = url.strip().lower()
    if text.startswith("https://"):
        text = text[len("https://") :]
    return _bounded(_NOT_NAME.sub("-", text).strip("-") or "charts", MAX_NAME)


def kustomization_name(cluster: str, folder: str) -> str:
    """The Flux Kustomization of one layer folder: `<cluster>-<folder>`, at most 63 characters."""
    return _bounded(f"{_sanitise(cluster)}-{folder}", MAX_NAME)


# --- trees -------------------------------------------------------------------------------


def rendered_tree(
    *,
    cluster: str,
    revision: int,
    addons: list[AddonRecord],
    layers: list[LayerOutput],
    dump: Dump,
) -> Tree:
    """The `rendered` layout: every layer's objects as files, built by `kustomize build`
    of the cluster directory. `dump` turns plain values into YAML text."""
    folders = [layer_folder(i, layer.name) for i, layer in enumerate(layers)]
    tree = _top(folders, cluster, revision, addons, dump)
    for folder, layer in zip(folders, layers, strict=True):
        tree |= _folder(folder, _placed(layer), dump)
    return tree


def flux_tree(
    *,
    cluster: str,
    revision: int,
    addons: list[AddonRecord],
    layers: list[LayerOutput],
    dump: Dump,
    source: str = "flux-system",
    root: str = "",
) -> Tree:
    """The `flux` layout. `source` names the GitRepository (in flux-system) holding the tree;
    `root` is the cluster directory's path in that repository (Kustomization paths are
    `./<root>/<folder>`)."""
    folders = [layer_folder(i, layer.name) for i, layer in enumerate(layers)]
    units = [f"{FLUX_DIR}/{folder}.yaml" for folder in folders]
    tree = _top(units, cluster, revision, addons, dump)
    previous = ""
    for folder, unit, layer in zip(folders, units, layers, strict=True):
        objects = _chart_objects(layer, layer.chart) if layer.chart else _placed(layer)
        tree |= _folder(folder, objects, dump)
        name = kustomization_name(cluster, folder)
        spec = _flux_spec(layer, _flux_path(root, folder), source, previous)
        tree[unit] = dump(_flux_object(name, spec))
        previous = name
    return tree


def _top(
    resources: list[str], cluster: str, revision: int, addons: list[AddonRecord], dump: Dump
) -> Tree:
    return {
        KUSTOMIZATION: dump(_kustomization(resources)),
        RECORD: dump(_record(cluster, revision, addons)),
    }


def _folder(folder: str, objects: list[dict[str, Any]], dump: Dump) -> Tree:
    """One layer folder: its kustomization.yaml, then one file per object."""
    files = object_files(objects)
    tree = {f"{folder}/{KUSTOMIZATION}": dump(_kustomization(files))}
    for file, obj in zip(files, objects, strict=True):
        tree[f"{folder}/{file}"] = dump(obj)
    return tree


def _kustomization(resources: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(resources),
    }


def _record(cluster: str, revision: int, addons: list[AddonRecord]) -> dict[str, Any]:
    """lamina.yaml: what is on the cluster. A binding named in `secrets` is left out even
    when a caller passed one, so no secret value is ever written."""
    return {
        "cluster": cluster,
        "revision": revision,
        "addons": [_addon(addon) for addon in addons],
    }


def _addon(addon: AddonRecord) -> dict[str, Any]:
    secret = set(addon.secrets)
    return {
        "profile": addon.profile,
        "profile_id": addon.profile_id,
        "version": addon.version,
        "instantiation_id": addon.instantiation_id,
        "bindings": {k: v for k, v in sorted(addon.bindings.items()) if k not in secret},
        "secrets": sorted(secret),
    }


# --- objects -----------------------------------------------------------------------------


def _placed(layer: LayerOutput) -> list[dict[str, Any]]:
    """The layer's objects, each namespaced one without a namespace given the layer's."""
    return [_with_namespace(obj, layer.namespace or "default") for obj in layer.objects]


def _with_namespace(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    metadata = _metadata(obj)
    if obj.get("kind") in CLUSTER_SCOPED or metadata.get("namespace"):
        return obj
    placed: dict[str, Any] = {}
    for key, value in metadata.items():
        placed[key] = value
        if key == "name":
            placed["namespace"] = namespace
    placed.setdefault("namespace", namespace)
    return {**obj, "metadata": placed}


def _chart_objects(layer: LayerOutput, chart: ChartRelease) -> list[dict[str, Any]]:
    """What a chart layer's folder holds in flux mode: its namespace (never pruned, as other
    layers may share it), the HelmRepository and the HelmRelease."""
    namespace = layer.namespace or "default"
    objects = [] if namespace in BUILTIN_NAMESPACES else [_namespace(namespace)]
    return [*objects, _helm_repository(chart), _helm_release(layer.name, namespace, chart)]


def _namespace(name: str) -> dict[str, Any]:
    metadata = {"name": name, "annotations": dict(PRUNE_DISABLED)}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def _helm_repository(chart: ChartRelease) -> dict[str, Any]:
    spec: dict[str, Any] = {"interval": INTERVAL, "url": chart.repository_url}
    if chart.repository_url.lower().startswith("oci://"):
        spec["type"] = "oci"
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": repository_name(chart.repository_url), "namespace": FLUX_NAMESPACE},
        "spec": spec,
    }


def _helm_release(layer_name: str, namespace: str, chart: ChartRelease) -> dict[str, Any]:
    """The HelmRelease; `values` and `valuesFrom` are left out when empty."""
    source = {
        "kind": "HelmRepository",
        "name": repository_name(chart.repository_url),
        "namespace": FLUX_NAMESPACE,
    }
    spec: dict[str, Any] = {
        "interval": INTERVAL,
        "chart": {"spec": {"chart": chart.chart, "version": chart.version, "sourceRef": source}},
        "install": {"createNamespace": True},
    }
    if chart.values:
        spec["values"] = chart.values
    if chart.secret_values:
        spec["valuesFrom"] = [
            {"kind": "Secret", "name": chart.secret_name, "valuesKey": key, "targetPath": path}
            for path, key in chart.secret_values
        ]
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": release_name(layer_name), "namespace": namespace},
        "spec": spec,
    }


def _flux_spec(layer: LayerOutput, path: str, source: str, previous: str) -> dict[str, Any]:
    """A layer's Kustomization spec: prune, wait for what it applied to be ready (so the next
    layer starts on a ready one), depend on the previous layer's Kustomization."""
    spec: dict[str, Any] = {
        "interval": INTERVAL,
        "path": path,
        "prune": True,
        "wait": True,
        "sourceRef": {"kind": "GitRepository", "name": source},
    }
    if previous:
        spec["dependsOn"] = [{"name": previous}]
    if layer.secret_name and layer.chart is None:
        spec["postBuild"] = {"substituteFrom": [{"kind": "Secret", "name": layer.secret_name}]}
    return spec


def _flux_object(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": FLUX_NAMESPACE},
        "spec": spec,
    }


def _flux_path(root: str, folder: str) -> str:
    """`./<root>/<folder>`, with `root` taken relative to the repository's top."""
    root = root.strip().strip("/")
    while root.startswith("./"):
        root = root[2:].lstrip("/")
    root = "" if root == "." else root
    return "./" + (f"{root}/{folder}" if root else folder)


# --- helpers -----------------------------------------------------------------------------


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _sanitise(text: str) -> str:
    return _UNSAFE.sub("-", text.lower())


def _unique(file: str, taken: set[str]) -> str:
    stem = file.removesuffix(".yaml")
    number = 1
    while file in taken:
        number += 1
        file = f"{stem}-{number}.yaml"
    return file


def _bounded(name: str, limit: int) -> str:
    """`name` if short enough, else its head and a hash of the whole (still unique)."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-.')}-{digest}"
