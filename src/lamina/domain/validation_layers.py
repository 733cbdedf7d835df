"""Structure of `spec.layers`: fields, names, the one source of each layer and its contents."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from lamina.domain.errors import Issue
from lamina.domain.paths import child
from lamina.domain.semver import parse_constraint
from lamina.domain.validation_common import (
    DNS_LABEL,
    QUOTE_HINT,
    check_fields,
    check_label,
    check_nonempty,
    check_string,
    check_string_list,
    is_int,
    is_list,
    type_name,
    wrong_type,
)

SOURCES = ("chart", "manifests", "kustomize", "profile")
# Descriptors stand in for a source, but only on the one category each describes.
DESCRIPTORS = {"os": "os", "kubernetes": "k8s"}
LAYER_FIELDS = (
    "name",
    "category",
    "namespace",
    "createNamespace",
    "dependsOn",
    "values",
    *SOURCES,
    *DESCRIPTORS,
)

_REPOSITORY_SCHEMES = ("https", "http", "oci")
# Nobody writes a longer version range; the bound keeps parsing of hostile input cheap.
_MAX_VERSION_LENGTH = 256


def check_layers(raw: Any, path: str) -> list[Issue]:
    """Every structural problem of the layer list; an empty list is only an `empty_profile`."""
    if raw is None:
        return []
    if not is_list(raw):
        return [wrong_type(path, raw, "a list of layers")]
    if not raw:
        return [Issue(path, "empty_profile", "the profile has no layers")]
    issues: list[Issue] = []
    seen: set[str] = set()
    for index, layer in enumerate(raw):
        issues += _check_layer(layer, child(path, index))
        name = layer.get("name") if isinstance(layer, Mapping) else None
        if isinstance(name, str):
            if name in seen:
                where = child(child(path, index), "name")
                issues.append(Issue(where, "duplicate_name", f"layer name {name!r} is used twice"))
            seen.add(name)
    return issues


def _check_layer(layer: Any, path: str) -> list[Issue]:
    if not isinstance(layer, Mapping):
        return [wrong_type(path, layer, "a mapping (a layer)")]
    issues = check_fields(layer, path, LAYER_FIELDS, ("name",))
    issues += check_label(layer.get("name"), child(path, "name"), "invalid_name", "layer name")
    issues += check_string(layer, "category", path)
    ns = layer.get("namespace")
    issues += check_label(ns, child(path, "namespace"), "invalid_namespace", "namespace")
    create = layer.get("createNamespace")
    if create is not None and not isinstance(create, bool):
        issues.append(wrong_type(child(path, "createNamespace"), create, "a boolean"))
    issues += check_string_list(layer.get("dependsOn"), child(path, "dependsOn"))
    values = layer.get("values")
    if values is not None and not isinstance(values, Mapping):
        issues.append(wrong_type(child(path, "values"), values, "a mapping"))
    return issues + _check_sources(layer, path)


def _check_sources(layer: Mapping[str, Any], path: str) -> list[Issue]:
    """Exactly one source per layer, then the contents of each source present."""
    present = [key for key in (*SOURCES, *DESCRIPTORS) if layer.get(key) is not None]
    issues = _check_descriptors(layer, path, present)
    if not present:
        expected = ", ".join(SOURCES)
        issues.append(Issue(path, "layer_source_missing", f"a layer needs one of: {expected}"))
    elif len(present) > 1:
        message = f"a layer has exactly one source, found {', '.join(present)}"
        issues.append(Issue(path, "layer_source_conflict", message))
    for key in present:
        issues += _SOURCE_CHECKS[key](layer[key], child(path, key))
    return issues


def _check_descriptors(layer: Mapping[str, Any], path: str, present: list[str]) -> list[Issue]:
    category = layer.get("category")
    issues: list[Issue] = []
    for key, allowed in DESCRIPTORS.items():
        if key in present and category != allowed:
            message = f"{key!r} describes a layer of category {allowed!r}, not {category!r}"
            issues.append(Issue(child(path, key), "descriptor_not_allowed", message))
    return issues


def _check_chart(chart: Any, path: str) -> list[Issue]:
    if not isinstance(chart, Mapping):
        return [wrong_type(path, chart, "a mapping with repository, name and version")]
    issues = check_fields(chart, path, ("repository", "name", "version"), ("name", "version"))
    issues += _check_repository(chart.get("repository"), child(path, "repository"))
    issues += check_nonempty(chart, "name", path)
    return issues + _check_chart_version(chart.get("version"), child(path, "version"))


def _check_repository(value: Any, path: str) -> list[Issue]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [wrong_type(path, value, "a string")]
    if DNS_LABEL.fullmatch(value) or _is_repository_url(value):
        return []
    message = f"{value!r} is not an https://, http:// or oci:// URL nor a registry name"
    return [Issue(path, "invalid_repository", message)]


def _is_repository_url(text: str) -> bool:
    if any(char.isspace() for char in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:  # urlsplit rejects malformed IPv6 hosts
        return False
    return parts.scheme in _REPOSITORY_SCHEMES and bool(parts.netloc)


def _check_chart_version(value: Any, path: str) -> list[Issue]:
    if value is None:
        return []
    if not isinstance(value, str):
        hint = QUOTE_HINT if type_name(value) == "number" else ""
        return [wrong_type(path, value, "a version string", hint)]
    if is_chart_version(value):
        return []
    message = f"{value!r} is neither an exact semver version (1.2.3) nor a range (^1.2, >=1 <2)"
    return [Issue(path, "invalid_chart_version", message)]


def is_chart_version(text: str) -> bool:
    """True for an exact version or a range Helm accepts: `4.15.1`, `^4.15`, `>=1.0 <2.0`, `4.x`."""
    if len(text) > _MAX_VERSION_LENGTH:
        return False
    try:
        parse_constraint(text)
    except ValueError:
        return False
    return True


def _check_manifests(raw: Any, path: str) -> list[Issue]:
    if not is_list(raw):
        return [wrong_type(path, raw, "a list of Kubernetes objects")]
    issues: list[Issue] = []
    for index, item in enumerate(raw):
        issues += check_object(item, child(path, index))
    return issues


def check_object(obj: Any, path: str) -> list[Issue]:
    """invalid_manifest unless `obj` has string apiVersion, kind and metadata.name."""
    if not isinstance(obj, Mapping):
        return [wrong_type(path, obj, "a mapping (a Kubernetes object)")]
    lacking = [key for key in ("apiVersion", "kind") if not _filled(obj.get(key))]
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping) or not _filled(meta.get("name")):
        lacking.append("metadata.name")
    if not lacking:
        return []
    message = f"an inline Kubernetes object needs string {', '.join(lacking)}"
    return [Issue(path, "invalid_manifest", message)]


def _filled(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _check_kustomize(raw: Any, path: str) -> list[Issue]:
    if not isinstance(raw, Mapping):
        return [wrong_type(path, raw, "a mapping with resources, bases or path, and patches")]
    issues = check_fields(raw, path, ("path", "resources", "bases", "patches"), ())
    if all(raw.get(key) is None for key in ("path", "resources", "bases")):
        message = "kustomize needs 'resources', 'bases' (layers to patch) or a 'path'"
        issues.append(Issue(path, "missing_field", message))
    issues += check_nonempty(raw, "path", path)
    issues += _check_resources(raw.get("resources"), child(path, "resources"))
    for key, expected in (("patches", "a list"), ("bases", "a list of layer names")):
        value = raw.get(key)
        if value is not None and not is_list(value):
            issues.append(wrong_type(child(path, key), value, expected))
    return issues


def _check_resources(raw: Any, path: str) -> list[Issue]:
    if raw is None:
        return []
    if not is_list(raw):
        return [wrong_type(path, raw, "a list of objects or file names")]
    issues: list[Issue] = []
    for index, item in enumerate(raw):
        if isinstance(item, Mapping):
            issues += check_object(item, child(path, index))
        elif not isinstance(item, str):
            issues.append(wrong_type(child(path, index), item, "an object or a file name"))
    return issues


def _check_profile(raw: Any, path: str) -> list[Issue]:
    if not isinstance(raw, Mapping):
        return [wrong_type(path, raw, "a mapping with name and version")]
    issues = check_fields(raw, path, ("name", "version"), ("name", "version"))
    name = raw.get("name")
    issues += check_label(name, child(path, "name"), "invalid_name", "profile name")
    version = raw.get("version")
    if version is None or (is_int(version) and version >= 1):
        return issues
    if is_int(version):
        message = f"profile version must be 1 or more, got {version}"
        return [*issues, Issue(child(path, "version"), "invalid_value", message)]
    return [*issues, wrong_type(child(path, "version"), version, "an integer")]


def _descriptor_check(fields: tuple[str, str]) -> Callable[[Any, str], list[Issue]]:
    """A checker for a descriptor mapping whose two fields are required strings."""

    def check(raw: Any, path: str) -> list[Issue]:
        if not isinstance(raw, Mapping):
            return [wrong_type(path, raw, f"a mapping with {fields[0]} and {fields[1]}")]
        issues = check_fields(raw, path, fields, fields)
        for key in fields:
            issues += check_nonempty(raw, key, path)
        return issues

    return check


_SOURCE_CHECKS: dict[str, Callable[[Any, str], list[Issue]]] = {
    "chart": _check_chart,
    "manifests": _check_manifests,
    "kustomize": _check_kustomize,
    "profile": _check_profile,
    "os": _descriptor_check(("name", "version")),
    "kubernetes": _descriptor_check(("distribution", "version")),
}
