"""A cluster's stack as files for a GitOps repository, applied by Flux or Argo CD.

Two layouts, both {relative path: text} for the cluster's directory (the caller writes
them under `<path>/<cluster>/`), both deterministic: the same input gives the same bytes.

`rendered` (any tool that runs kustomize, Argo CD included):

    kustomization.yaml            resources: every layer folder, in layer order
    lamina.yaml                   cluster and add-ons (never secret values, no revision numbers)
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
`--no-cross-namespace-refs`. For a cluster with an age key, Lamina writes those values
itself as SOPS-encrypted Secrets (`LayerOutput.sealed`) and the cluster supplies only its
age key (`DECRYPTION_SECRET`).

Objects without a namespace get their layer's namespace written in, unless they are
cluster-scoped (the `namespaced` decision, `domain.scope.stack_scope`), so the files say where
each object goes. Helm hooks are committed as `domain.hooks` decides (test hooks never).

In `rendered` mode, every Namespace and CustomResourceDefinition of the stack moves to a
first folder, `00-cluster/` (Namespaces, then CRDs), listed before every layer, and a
Namespace is written there for each namespace the stack's objects use that no layer creates
(except the built-in ones). Flux's kustomize-controller and Argo CD apply Namespaces and CRDs
before the rest of one build anyway; the folder lets `kubectl apply -k` apply it alone first
(`kubectl apply -k <dir>/00-cluster`), since kubectl cannot map a custom resource whose CRD
it creates in the same apply.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lamina.domain import hooks, scope
from lamina.domain.objects import Namespaced, fallback_namespaced

Dump = Callable[[Any], str]
Committed = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
Tree = dict[str, str]

FLUX_NAMESPACE = "flux-system"
INTERVAL = "10m"
KUSTOMIZATION = "kustomization.yaml"
RECORD = "lamina.yaml"
FLUX_DIR = "flux"
CLUSTER_FOLDER = "00-cluster"  # rendered mode: the stack's Namespaces and CRDs, first
DECRYPTION_SECRET = "sops-age"  # in flux-system, key `age.agekey`: the cluster's age key
SOURCES_PREFIX = "source-"
PRUNE_DISABLED = {"kustomize.toolkit.fluxcd.io/prune": "disabled"}
# Namespaces every cluster has: a chart layer in one of them gets no Namespace object.
BUILTIN_NAMESPACES = frozenset(
    {"default", "kube-system", "kube-public", "kube-node-lease", FLUX_NAMESPACE}
)
MAX_NAME = 63  # Flux writes Kustomization names into label values
MAX_RELEASE = 53  # Helm's limit on release names

_UNSAFE = re.compile(r"[^a-z0-9.-]")
SECRET_PLACEHOLDER = "${{lamina_secret_{name}}}"
_SECRET_IN_TEXT = re.compile(r"\$\{lamina_secret_([A-Za-z0-9_]+)\}")
_NOT_NAME = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ChartRelease:
    """What Flux needs to install a chart layer itself.

    `repository_url` is an https:// chart repository or an oci://host/path (Flux appends
    the chart); `version` is exact; `release` is the Helm release name rendering used (the
    preview's and `rendered` mode's); `values` are the values rendering gave the chart with
    every secret value taken out (`split_secret_values`); `secret_values` are (values path,
    key in the Secret) pairs injected with `valuesFrom` from `secret_name`, a Secret in the
    layer namespace.
    """

    repository_url: str
    chart: str
    version: str
    values: dict[str, Any]
    secret_values: list[tuple[str, str]]
    secret_name: str
    release: str = ""


@dataclass(frozen=True)
class LayerOutput:
    """One rendered layer. `name` is the full layer name (`web-platform/ingress`);
    `objects` are its rendered objects in order, with secret values already replaced by
    `${lamina_secret_NAME}` placeholders; `chart` is set for chart layers Flux can fetch.
    `secret_name`, when set, names a Secret in flux-system whose keys Flux substitutes for
    those placeholders (flux mode, layers without `chart` only). `sealed` says that some
    objects are SOPS-encrypted Secrets (a chart layer with `chart` then has as `objects` only
    the Secret its `valuesFrom` reads, written next to the HelmRelease), so Flux must decrypt
    the folder with the age key in the `DECRYPTION_SECRET` Secret of flux-system."""

    name: str
    namespace: str
    objects: list[dict[str, Any]]
    chart: ChartRelease | None = None
    secret_name: str = ""
    sealed: bool = False
    create_namespace: bool = True  # False: rendered mode writes no Namespace for this layer


@dataclass(frozen=True)
class AddonRecord:
    """One add-on instantiated on the cluster. `bindings` hold non-secret parameter values;
    `secrets` only the names of secret parameters."""

    profile: str
    profile_id: int
    version: int
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
    addons: list[AddonRecord],
    layers: list[LayerOutput],
    dump: Dump,
    namespaced: Namespaced = fallback_namespaced,
    committed: Committed = hooks.committed,
) -> Tree:
    """The `rendered` layout: every layer's objects as files, built by `kustomize build`
    of the cluster directory, after `00-cluster/` (Namespaces and CRDs). `dump` turns plain
    values into YAML text; `namespaced` decides each object's scope; `committed` is
    `hooks.committed` (or a function that answers as it does)."""
    folders = [layer_folder(i, layer.name) for i, layer in enumerate(layers)]
    placed = [_placed(layer, namespaced, committed) for layer in layers]
    first = _cluster_objects(layers, placed, namespaced)
    tree = _top([CLUSTER_FOLDER, *folders] if first else folders, cluster, addons, dump)
    if first:
        tree |= _folder(CLUSTER_FOLDER, first, dump)
    for folder, objects in zip(folders, placed, strict=True):
        tree |= _folder(folder, [obj for obj in objects if not _goes_first(obj)], dump)
    return tree


def flux_tree(
    *,
    cluster: str,
    addons: list[AddonRecord],
    layers: list[LayerOutput],
    dump: Dump,
    source: str = "flux-system",
    root: str = "",
    namespaced: Namespaced = fallback_namespaced,
    committed: Committed = hooks.committed,
) -> Tree:
    """The `flux` layout. `source` names the GitRepository (in flux-system) holding the tree;
    `root` is the cluster directory's path in that repository (Kustomization paths are
    `./<root>/<folder>`). Namespaces and the CRDs of the layers Flux applies as objects go
    first, in `00-cluster/` with a Kustomization of their own that never prunes (deleting a
    CRD deletes every object of its kind) and that the first layer depends on."""
    placed = [
        _chart_objects(layer, layer.chart) if layer.chart else _placed(layer, namespaced, committed)
        for layer in layers
    ]
    first = _cluster_objects(layers, placed, namespaced)
    folders = [layer_folder(i, layer.name) for i, layer in enumerate(layers)]
    units = [f"{FLUX_DIR}/{folder}.yaml" for folder in folders]
    if first:
        units.insert(0, f"{FLUX_DIR}/{CLUSTER_FOLDER}.yaml")
    # Each chart repository once per cluster, applied with the Kustomizations themselves
    # (so no layer's pruning owns a source other layers use).
    sources = {
        repository_name(layer.chart.repository_url): _helm_repository(layer.chart)
        for layer in layers
        if layer.chart
    }
    source_files = [f"{FLUX_DIR}/{SOURCES_PREFIX}{name}.yaml" for name in sorted(sources)]
    tree = _top([*source_files, *units], cluster, addons, dump)
    for file, name in zip(source_files, sorted(sources), strict=True):
        tree[file] = dump(sources[name])
    previous = ""
    if first:
        tree |= _folder(CLUSTER_FOLDER, first, dump)
        previous = kustomization_name(cluster, CLUSTER_FOLDER)
        spec = {
            "interval": INTERVAL,
            "path": _flux_path(root, CLUSTER_FOLDER),
            "prune": False,
            "wait": True,
            "sourceRef": {"kind": "GitRepository", "name": source},
        }
        tree[units[0]] = dump(_flux_object(previous, spec))
    for folder, unit, layer, objects in zip(
        folders, units[1:] if first else units, layers, placed, strict=True
    ):
        tree |= _folder(folder, [obj for obj in objects if not _goes_first(obj)], dump)
        name = kustomization_name(cluster, folder)
        spec = _flux_spec(layer, _flux_path(root, folder), source, previous)
        tree[unit] = dump(_flux_object(name, spec))
        previous = name
    return tree


def _top(resources: list[str], cluster: str, addons: list[AddonRecord], dump: Dump) -> Tree:
    return {
        KUSTOMIZATION: dump(_kustomization(resources)),
        RECORD: dump(_record(cluster, addons)),
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


def _record(cluster: str, addons: list[AddonRecord]) -> dict[str, Any]:
    """lamina.yaml: what is on the cluster. A binding named in `secrets` is left out even
    when a caller passed one, so no secret value is ever written. No revision number or
    database id: the file holds only what the stack is, so an unchanged stack gives the
    same bytes and commits nothing."""
    return {"cluster": cluster, "addons": [_addon(addon) for addon in addons]}


def _addon(addon: AddonRecord) -> dict[str, Any]:
    secret = set(addon.secrets)
    return {
        "profile": addon.profile,
        "profile_id": addon.profile_id,
        "version": addon.version,
        "bindings": {k: v for k, v in sorted(addon.bindings.items()) if k not in secret},
        "secrets": sorted(secret),
    }


# --- objects -----------------------------------------------------------------------------


def _placed(
    layer: LayerOutput,
    namespaced: Namespaced = fallback_namespaced,
    committed: Committed = hooks.committed,
) -> list[dict[str, Any]]:
    """The layer's committed objects (`hooks.committed`), each namespaced one without a
    namespace given the layer's, each cluster-scoped one without any."""
    namespace = layer.namespace or "default"
    return [with_namespace(obj, namespace, namespaced) for obj in committed(layer.objects)]


def with_namespace(obj: dict[str, Any], namespace: str, namespaced: Namespaced) -> dict[str, Any]:
    """The object as committed in a layer of `namespace`: a namespaced one without a
    namespace gets it (after its name), a cluster-scoped one loses any; else unchanged
    (the same object). Placing a placed object changes nothing."""
    metadata = _metadata(obj)
    if not namespaced(obj):
        if "namespace" not in metadata:
            return obj
        return {**obj, "metadata": {k: v for k, v in metadata.items() if k != "namespace"}}
    if metadata.get("namespace"):
        return obj
    placed: dict[str, Any] = {}
    for key, value in metadata.items():
        placed[key] = value
        if key == "name":
            placed["namespace"] = namespace
    placed.setdefault("namespace", namespace)
    return {**obj, "metadata": placed}


def _goes_first(obj: dict[str, Any]) -> bool:
    return obj.get("kind") == "Namespace" or scope.is_crd(obj)


def _cluster_objects(
    layers: list[LayerOutput], placed: list[list[dict[str, Any]]], namespaced: Namespaced
) -> list[dict[str, Any]]:
    """What `00-cluster/` holds: every Namespace (the stack's own, and one for each other
    namespace the namespaced objects of layers that did not opt out with `createNamespace:
    false` take, built-in ones aside) by name, then every CRD in stack order. `placed` are
    the objects each layer's folder would hold."""
    objects = [obj for layer_objects in placed for obj in layer_objects]
    using = [
        obj
        for layer, layer_objects in zip(layers, placed, strict=True)
        if layer.create_namespace
        for obj in layer_objects
    ]
    owned = {
        str(_metadata(obj).get("name")): obj for obj in objects if obj.get("kind") == "Namespace"
    }
    used = {str(_metadata(obj).get("namespace")) for obj in using if namespaced(obj)}
    for name in used - set(owned) - BUILTIN_NAMESPACES - {""}:
        owned[name] = _namespace(name)
    crds = [obj for obj in objects if scope.is_crd(obj)]
    return [owned[name] for name in sorted(owned)] + crds


def _chart_objects(layer: LayerOutput, chart: ChartRelease) -> list[dict[str, Any]]:
    """What a chart layer's folder holds in flux mode: its namespace (never pruned, as other
    layers may share it), the layer's own objects (its encrypted values Secret), and the
    HelmRelease."""
    namespace = layer.namespace or "default"
    objects = [] if namespace in BUILTIN_NAMESPACES else [_namespace(namespace)]
    sealed = _placed(layer) if layer.sealed else []  # its encrypted values Secret
    return [*objects, *sealed, _helm_release(layer.name, namespace, chart)]


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
    if chart.release:
        spec["releaseName"] = chart.release
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


def secret_placeholder(name: str) -> str:
    """What a secret parameter's value is replaced with in everything Lamina writes."""
    return SECRET_PLACEHOLDER.format(name=name)


def split_secret_values(
    values: dict[str, Any],
) -> tuple[dict[str, Any], list[tuple[str, str]], list[tuple[str, str]]]:
    """Chart values (as rendering gave them, secrets as placeholders) for a HelmRelease:
    (values without secrets, [(values path, secret)] for strings that are exactly one
    placeholder, [(values path, secret)] for placeholders inside longer strings, which
    `valuesFrom` cannot fill). Paths are in the form `valuesFrom.targetPath` takes:
    `a.b[0].c`, dots in keys escaped as `\\.`."""

    def secret(text: str) -> str | None:
        found = _SECRET_IN_TEXT.fullmatch(text)
        return found.group(1) if found else None

    whole: list[tuple[str, str]] = []
    embedded: list[tuple[str, str]] = []

    def walk(tree: Any, path: str) -> Any:
        if isinstance(tree, dict):
            kept = {}
            for key, value in tree.items():
                inner = f"{path}.{_escaped(str(key))}" if path else _escaped(str(key))
                if isinstance(value, str) and (name := secret(value)):
                    whole.append((inner, name))
                    continue
                kept[key] = walk(value, inner)
            return kept
        if isinstance(tree, list):
            return [walk(item, f"{path}[{i}]") for i, item in enumerate(tree)]
        if isinstance(tree, str):
            embedded.extend((path, name) for name in _SECRET_IN_TEXT.findall(tree))
        return tree

    return walk(values, ""), whole, embedded


def _escaped(key: str) -> str:
    return key.replace(".", "\\.")


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
    if layer.sealed:
        spec["decryption"] = {"provider": "sops", "secretRef": {"name": DECRYPTION_SECRET}}
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
