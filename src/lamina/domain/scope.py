"""Which objects are namespaced: the stack's CRDs first, then the Kubernetes schemas of the
cluster's version, then a fallback list of well-known cluster-scoped kinds.

The schemas are reached through a lookup (a port): (apiVersion, kind) -> True (namespaced),
False (cluster-scoped) or None (not a kind that Kubernetes version serves).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from lamina.domain.objects import Namespaced, fallback_namespaced

Lookup = Callable[[str, str], "bool | None"]
CRD = "CustomResourceDefinition"
CRD_GROUP = "apiextensions.k8s.io"


def is_crd(obj: dict[str, Any]) -> bool:
    """Whether an object is a CustomResourceDefinition."""
    return obj.get("kind") == CRD and group_of(str(obj.get("apiVersion") or "")) == CRD_GROUP


def group_of(api_version: str) -> str:
    """The API group of an apiVersion ("" for the core group: `v1`)."""
    return api_version.rpartition("/")[0]


def stack_scope(objects: Iterable[dict[str, Any]], lookup: Lookup | None) -> Namespaced:
    """The namespaced-or-not decision for a stack whose objects are `objects`: a kind defined
    by one of the stack's CRDs takes its `spec.scope`; any other kind asks `lookup`; a kind
    neither knows falls back to `objects.CLUSTER_SCOPED`."""
    custom = {_crd_key(obj): _crd_namespaced(obj) for obj in objects if is_crd(obj)}

    def namespaced(obj: dict[str, Any]) -> bool:
        api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
        known = custom.get((group_of(api_version), kind))
        if known is None and lookup is not None:
            known = lookup(api_version, kind)
        return fallback_namespaced(obj) if known is None else known

    return namespaced


def crd_schema(
    crds: Iterable[dict[str, Any]], api_version: str, kind: str
) -> dict[str, Any] | None:
    """The `openAPIV3Schema` a CRD among `crds` gives `kind` at `api_version` (a served
    version of its group), or None when no CRD defines it or the version has no schema."""
    group, _, version = api_version.rpartition("/")
    for crd in crds:
        if not is_crd(crd) or _crd_key(crd) != (group, kind):
            continue
        for entry in _spec(crd).get("versions") or []:
            if isinstance(entry, dict) and entry.get("name") == version and entry.get("served"):
                schema = (entry.get("schema") or {}).get("openAPIV3Schema")
                return schema if isinstance(schema, dict) else None
    return None


def _spec(crd: dict[str, Any]) -> dict[str, Any]:
    spec = crd.get("spec")
    return spec if isinstance(spec, dict) else {}


def _crd_key(crd: dict[str, Any]) -> tuple[str, str]:
    names = _spec(crd).get("names")
    kind = names.get("kind") if isinstance(names, dict) else None
    return str(_spec(crd).get("group") or ""), str(kind or "")


def _crd_namespaced(crd: dict[str, Any]) -> bool:
    return _spec(crd).get("scope") != "Cluster"
