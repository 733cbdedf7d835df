"""Offline schema validation of Kubernetes objects against the JSON schemas shipped by the
kubernetes-validate package (strict flavour: unknown fields are errors).

`kubernetes_validate.validate()` re-reads and re-parses a 1.3 MB definitions file on every
call, so this adapter uses the package's schema files directly and keeps one compiled
jsonschema validator per (schema version, schema file), built once under a lock.

The schemas do not say whether a kind is namespaced (every kind shares one ObjectMeta), so
scope comes from CLUSTER_SCOPED below: the cluster-scoped kinds among every resource kind the
shipped schemas hold (those with `x-kubernetes-group-version-kind` and `metadata`), written
from the Kubernetes API reference; every other kind those schemas serve is namespaced.
tests/adapters/test_kubeschema.py lists the resource kinds of every shipped version, so a
kubernetes-validate upgrade that brings a new kind fails until the kind is classified here.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from functools import lru_cache, reduce
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import jsonschema
import kubernetes_validate
from referencing import Registry, Resource

from lamina.domain import paths
from lamina.domain.errors import InvalidInput, Issue

MAX_PROBLEMS = 50
MAX_MESSAGE = 300
SCOPES_KEPT = 4096  # scope answers remembered (apiVersion, kind, Kubernetes version)
ROOT = "(object)"
_SCHEMAS = "kubernetes-json-schema"
_SHIPPED = re.compile(r"^v(\d+)\.(\d+)\.\d+-local-strict$")
_REQUESTED = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")
_GROUP = re.compile(r"^([^./]*)(?:\.[^/]*)?/")
_DEFINITIONS = "_definitions.json"
# (API group, kind) of the cluster-scoped built-in kinds; see the module docstring.
CLUSTER_SCOPED = frozenset(
    {
        ("", "ComponentStatus"),
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("authentication.k8s.io", "SelfSubjectReview"),
        ("authentication.k8s.io", "TokenReview"),
        ("authorization.k8s.io", "SelfSubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectRulesReview"),
        ("authorization.k8s.io", "SubjectAccessReview"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("internal.apiserver.k8s.io", "StorageVersion"),
        ("networking.k8s.io", "ClusterCIDR"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("node.k8s.io", "RuntimeClass"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("resource.k8s.io", "DeviceClass"),
        ("resource.k8s.io", "DeviceTaintRule"),
        ("resource.k8s.io", "ResourceClass"),
        ("resource.k8s.io", "ResourceSlice"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("storagemigration.k8s.io", "StorageVersionMigration"),
    }
)
# Fields every custom resource has besides what its CRD's schema declares.
_OBJECT_FIELDS = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {}}


@dataclass(frozen=True)
class _Schema:
    """A compiled validator and the apiVersions its schema accepts."""

    validator: jsonschema.protocols.Validator
    api_versions: frozenset[str]


@dataclass(frozen=True)
class _Catalog:
    """One shipped version: its schema folder and the names of the files in it."""

    folder: Traversable
    names: frozenset[str]


class KubeSchemaValidator:
    """Implements `ports.ObjectValidator`; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._catalogs: dict[str, _Catalog] = {}
        self._registries: dict[str, Registry[Any]] = {}
        self._schemas: dict[tuple[str, str], _Schema | None] = {}
        self._scopes: dict[tuple[str, str, str], bool | None] = {}

    def validate(self, obj: dict[str, Any], *, kube_version: str) -> tuple[list[str], bool]:
        """(problems, known) for one object against the schemas nearest `kube_version`.

        Problems read `<path>: <message>` (path `(object)` for the object itself), sorted,
        at most MAX_PROBLEMS. known=False (no problems) when no schema of that apiVersion
        and kind ships, as for custom resources. An object without string apiVersion and
        kind is a problem (known=True). InvalidInput when `kube_version` is not a version.
        """
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            return [f"{ROOT}: a Kubernetes object needs string fields apiVersion and kind"], True
        schema = self._schema(schema_version(kube_version), api_version, kind)
        if schema is None:
            return [], False
        return _problems(schema.validator, obj), True

    def namespaced(self, api_version: str, kind: str, *, kube_version: str) -> bool | None:
        """Implements `ports.ScopeLookup`: None when `kube_version`'s schemas have no such
        kind at that apiVersion (a custom resource). Answers are remembered: a stack asks
        the same few questions for every object of every cluster."""
        key = (api_version, kind, kube_version)
        try:
            return self._scopes[key]
        except KeyError:
            pass
        found: bool | None = None
        if self._schema(schema_version(kube_version), api_version, kind) is not None:
            found = (api_version.rpartition("/")[0], kind) not in CLUSTER_SCOPED
        if len(self._scopes) >= SCOPES_KEPT:
            self._scopes.clear()  # kinds are few; a flood of made-up ones starts it over
        self._scopes[key] = found
        return found

    def validate_custom(self, obj: dict[str, Any], schema: dict[str, Any]) -> list[str]:
        """Problems of a custom resource against its CRD's `openAPIV3Schema`, read as the API
        server's strict field validation does: fields the schema does not declare are
        problems, except under `x-kubernetes-preserve-unknown-fields`."""
        root = _structural(schema)
        root["properties"] = {**_OBJECT_FIELDS, **(root.get("properties") or {})}
        return _problems(jsonschema.Draft4Validator(root), obj)

    def _schema(self, version: str, api_version: str, kind: str) -> _Schema | None:
        """The schema of `kind` in `api_version`, or None when none ships."""
        name = _file_name(api_version, kind)
        if name not in self._catalog(version).names:
            return None
        key = (version, name)
        if key not in self._schemas:
            with self._lock:
                if key not in self._schemas:
                    self._schemas[key] = self._compile(version, name)
        schema = self._schemas[key]
        return schema if schema and api_version in schema.api_versions else None

    def _catalog(self, version: str) -> _Catalog:
        catalog = self._catalogs.get(version)
        if catalog is None:
            with self._lock:
                catalog = self._catalogs.get(version) or _list_catalog(version)
                self._catalogs[version] = catalog
        return catalog

    def _compile(self, version: str, name: str) -> _Schema | None:
        """A validator for one schema file; call holding the lock."""
        catalog = self._catalogs[version]
        contents = _read_json(catalog.folder / name)
        api_versions = contents.get("properties", {}).get("apiVersion", {}).get("enum")
        if not api_versions:
            return None
        registry = self._registries.get(version)
        if registry is None:
            definitions = Resource.from_contents(_read_json(catalog.folder / _DEFINITIONS))
            registry = self._registries[version] = definitions @ Registry()
        validator = jsonschema.Draft202012Validator(
            contents, registry=Resource.from_contents(contents) @ registry
        )
        return _Schema(validator, frozenset(api_versions))


def shipped_versions() -> tuple[str, ...]:
    """The Kubernetes minor versions ("1.30") with shipped schemas, oldest first."""
    return tuple(f"{major}.{minor}" for major, minor in _shipped())


@lru_cache(maxsize=256)
def schema_version(kube_version: str) -> str:
    """The shipped schema version ("1.30") used for `kube_version` ("1.30.2", "v1.30.2-eks").

    The same minor when shipped, else the nearest older one, else the oldest shipped.
    InvalidInput when `kube_version` is not `[v]MAJOR.MINOR[.PATCH][-suffix]`.
    """
    match = _REQUESTED.match(kube_version.strip())
    if not match:
        issue = Issue("", "invalid_kube_version", f"{kube_version!r} is not a Kubernetes version")
        raise InvalidInput("Invalid Kubernetes version", issues=[issue])
    wanted = (int(match.group(1)), int(match.group(2)))
    shipped = _shipped()
    older = [version for version in shipped if version <= wanted]
    major, minor = older[-1] if older else shipped[0]
    return f"{major}.{minor}"


@lru_cache(maxsize=1)
def _shipped() -> tuple[tuple[int, int], ...]:
    found = (_SHIPPED.match(entry.name) for entry in _schema_root().iterdir())
    versions = sorted({(int(m.group(1)), int(m.group(2))) for m in found if m})
    if not versions:
        raise RuntimeError("kubernetes-validate ships no strict schemas")
    return tuple(versions)


def _schema_root() -> Traversable:
    return resources.files(kubernetes_validate) / _SCHEMAS


def _list_catalog(version: str) -> _Catalog:
    folder = _schema_root() / f"v{version}.0-local-strict"
    names = frozenset(
        entry.name for entry in folder.iterdir() if entry.name not in (_DEFINITIONS, "all.json")
    )
    return _Catalog(folder, names)


def _file_name(api_version: str, kind: str) -> str:
    """The schema file of a kind, as kubernetes-validate names it: `deployment-apps-v1.json`."""
    group_version = _GROUP.sub(r"\1-", api_version)
    return f"{kind.lower()}-{group_version}.json"


def _read_json(file: Traversable) -> dict[str, Any]:
    with file.open("rb") as handle:
        contents: dict[str, Any] = json.load(handle)
    return contents


def _structural(schema: Any) -> dict[str, Any]:
    """A copy of an OpenAPI v3 schema as JSON Schema: `nullable` as a null type, and
    undeclared fields refused wherever the schema lists fields and keeps no unknown ones."""
    if not isinstance(schema, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties") and isinstance(value, dict):
            out[key] = {name: _structural(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = _structural(value)
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            out[key] = [_structural(sub) for sub in value]
        else:
            out[key] = value
    if schema.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    keeps_unknown = schema.get("x-kubernetes-preserve-unknown-fields") or schema.get(
        "x-kubernetes-embedded-resource"
    )
    if "properties" in out and "additionalProperties" not in out and not keeps_unknown:
        out["additionalProperties"] = False
    return out


def _problems(validator: jsonschema.protocols.Validator, obj: dict[str, Any]) -> list[str]:
    problems = sorted(
        problem for error in validator.iter_errors(obj) for problem in _describe(error)
    )
    if len(problems) > MAX_PROBLEMS:
        rest = len(problems) - MAX_PROBLEMS
        problems = [*problems[:MAX_PROBLEMS], f"{ROOT}: {rest} more problems not shown"]
    return problems


def _describe(error: jsonschema.ValidationError) -> list[str]:
    """`path: message` lines for one error; one `unknown field` line per unexpected key."""
    path = reduce(paths.child, error.absolute_path, "")
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = _unexpected(error.instance, error.schema)
        if extra:
            return [f"{paths.child(path, key)}: unknown field" for key in extra]
    message = error.message
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1].rstrip() + "…"
    return [f"{path or ROOT}: {message}"]


def _unexpected(instance: dict[str, Any], schema: Any) -> list[str]:
    if not isinstance(schema, dict):
        return []
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [
        key
        for key in instance
        if isinstance(key, str)
        and key not in known
        and not any(re.search(pattern, key) for pattern in patterns)
    ]
