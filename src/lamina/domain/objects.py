"""Rendered Kubernetes objects: identity, and objects two layers would both own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lamina.domain.errors import Issue

# Kinds without a namespace; everything else defaults to its layer's namespace.
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
    }
)


@dataclass(frozen=True)
class RenderedObject:
    """One object and the file it came from (a template path, or a manifest slot)."""

    source: str
    body: dict[str, Any]


@dataclass(frozen=True)
class RenderedLayer:
    name: str
    namespace: str
    objects: list[RenderedObject]


def identity(obj: dict[str, Any], default_namespace: str) -> tuple[str, str, str]:
    """(kind, namespace, name) of an object as the cluster will know it."""
    kind = str(obj.get("kind", ""))
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(metadata, dict)
    namespace = (
        "" if kind in CLUSTER_SCOPED else str(metadata.get("namespace") or default_namespace)
    )
    return kind, namespace, str(metadata.get("name", ""))


def shown(key: tuple[str, str, str]) -> str:
    kind, namespace, name = key
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def duplicates(layers: Iterable[RenderedLayer]) -> list[Issue]:
    """An issue for every object that more than one layer (or one layer twice) renders."""
    owners: dict[tuple[str, str, str], str] = {}
    issues: list[Issue] = []
    for layer in layers:
        for item in layer.objects:
            key = identity(item.body, layer.namespace)
            if key in owners:
                issues.append(
                    Issue(
                        layer.name,
                        "duplicate_object",
                        f"{shown(key)} is rendered by layer '{owners[key]}' and by layer "
                        f"'{layer.name}' ({item.source})",
                    )
                )
            else:
                owners[key] = layer.name
    return issues


def is_object(value: Any) -> bool:
    """Whether a parsed document is a Kubernetes object (empty documents are skipped)."""
    return isinstance(value, dict) and bool(value.get("kind"))
