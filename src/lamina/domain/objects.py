"""Rendered Kubernetes objects: identity, and objects two layers would both own."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lamina.domain.errors import Issue

# Cluster-scoped kinds when neither the stack's CRDs nor the Kubernetes schemas know a kind
# (see domain.scope): the built-in ones, and well-known cluster-scoped custom kinds.
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "StorageClass",
        "CSIDriver",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "PriorityClass",
        "IngressClass",
        "RuntimeClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "APIService",
        "ClusterIssuer",
        "VolumeSnapshotClass",
        "GatewayClass",
    }
)

# Whether an object lives in a namespace (domain.scope builds one per stack).
Namespaced = Callable[[dict[str, Any]], bool]


def fallback_namespaced(obj: dict[str, Any]) -> bool:
    """Namespaced unless its kind is in CLUSTER_SCOPED."""
    return obj.get("kind") not in CLUSTER_SCOPED


@dataclass(frozen=True)
class RenderedObject:
    """One object and the file it came from (a template path, or a manifest slot)."""

    source: str
    body: dict[str, Any]


Parse = Callable[[str, str], list[Any]]
Scan = Callable[[str], "list[tuple[str, str, str]] | None"]


class RenderedLayer:
    """A rendered layer: its files as rendered ({source path: YAML text}), and the objects
    in them, parsed only when someone asks (parsing costs as much as rendering).

    `scan` reads (kind, namespace, name) of each object straight from the text, or answers
    None when the text is not plain enough to be sure; then the file is parsed instead.
    """

    def __init__(
        self,
        name: str,
        namespace: str,
        files: dict[str, str],
        *,
        parse: Parse,
        scan: Scan,
        objects: list[RenderedObject] | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.namespace = namespace
        self.files = files
        self.values = values
        """A chart layer's values exactly as the chart received them (None for others)."""
        self._parse = parse
        self._scan = scan
        self._objects = objects
        self._identities: list[tuple[tuple[str, str, str], str]] | None = None

    @property
    def objects(self) -> list[RenderedObject]:
        if self._objects is None:
            self._objects = [
                RenderedObject(source, body)
                for source, text in self.files.items()
                for body in self._parse(text, source)
                if is_object(body)
            ]
        return self._objects

    @property
    def identities(self) -> list[tuple[tuple[str, str, str], str]]:
        """((kind, namespace, name), source) of every object, in file order."""
        if self._identities is None:
            found: list[tuple[tuple[str, str, str], str]] = []
            if self._objects is not None:
                self._identities = [
                    (identity(o.body, self.namespace), o.source) for o in self._objects
                ]
                return self._identities
            for source, text in self.files.items():
                scanned = self._scan(text)
                if scanned is None:
                    bodies = [b for b in self._parse(text, source) if is_object(b)]
                    scanned = [_raw_identity(body) for body in bodies]
                found += [(_scoped(key, self.namespace), source) for key in scanned]
            self._identities = found
        return self._identities


def identity(
    obj: dict[str, Any], default_namespace: str, namespaced: Namespaced | None = None
) -> tuple[str, str, str]:
    """(kind, namespace, name) of an object as the cluster will know it; `namespaced` decides
    the scope (default: `fallback_namespaced`)."""
    if namespaced is None:
        return _scoped(_raw_identity(obj), default_namespace)
    kind, namespace, name = _raw_identity(obj)
    return kind, (namespace or default_namespace) if namespaced(obj) else "", name


def _raw_identity(obj: dict[str, Any]) -> tuple[str, str, str]:
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    namespace = str(metadata.get("namespace") or "")
    return str(obj.get("kind", "")), namespace, str(metadata.get("name", ""))


def _scoped(key: tuple[str, str, str], default_namespace: str) -> tuple[str, str, str]:
    kind, namespace, name = key
    if kind in CLUSTER_SCOPED:
        return kind, "", name
    return kind, namespace or default_namespace, name


def shown(key: tuple[str, str, str]) -> str:
    kind, namespace, name = key
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def duplicates(layers: Iterable[RenderedLayer]) -> list[Issue]:
    """An issue for every object that more than one layer (or one layer twice) renders."""
    owners: dict[tuple[str, str, str], str] = {}
    issues: list[Issue] = []
    for layer in layers:
        for key, source in layer.identities:
            if key in owners:
                issues.append(
                    Issue(
                        layer.name,
                        "duplicate_object",
                        f"{shown(key)} is rendered by layer '{owners[key]}' and by layer "
                        f"'{layer.name}' ({source})",
                    )
                )
            else:
                owners[key] = layer.name
    return issues


def is_object(value: Any) -> bool:
    """Whether a parsed document is a Kubernetes object (empty documents are skipped)."""
    return isinstance(value, dict) and bool(value.get("kind"))
