"""Palette cluster profiles (the JSON of `GET /v1/clusterprofiles/{uid}`, or an export)
as Lamina profile documents. The mapping rules are listed in docs/api.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lamina.domain import paths
from lamina.domain.errors import InvalidInput, Issue
from lamina.domain.importers import macros, palette_params
from lamina.domain.importers.report import (
    Context,
    Imported,
    Report,
    dns_label,
    mapping,
    parse_yaml,
    profile_name,
    registry_by_name,
    registry_by_url,
    split_stream,
    text_of,
    unique,
)
from lamina.domain.validation_common import DNS_LABEL

SECTIONS = ("published", "template", "draft")
INFRA = ("os", "k8s", "cni", "csi")
_CHART_TYPES = ("spectro", "helm", "oci")
_PRIORITY_KEY = "spectrocloud.com/install-priority"
_TYPES = {"cluster": "full", "infra": "infra", "add-on": "add-on"}


@dataclass
class _Pack:
    """One pack on its way to a layer: where it is in the source and how it sorts."""

    raw: dict[str, Any]
    path: str
    layer: str
    priority: int
    index: int
    variables: set[str] = field(default_factory=set)


def import_profile(source: Any, context: Context) -> Imported:
    """The draft document and import report of a Palette cluster profile."""
    if not isinstance(source, dict):
        raise InvalidInput(
            "The document is not a Palette cluster profile",
            issues=[Issue("", "wrong_type", "A Palette cluster profile is a JSON object")],
        )
    report = Report()
    section, template = _template(source, report)
    packs = _packs(template, f"spec.{section}", report)
    referenced: set[str] = set()
    layers = _layers(packs, context, report, referenced)
    parameters = palette_params.parameters(source, referenced, report)
    metadata = _metadata(source, context, report)
    spec = {"type": _profile_type(template, f"spec.{section}", layers, report)}
    document = {
        "apiVersion": "lamina.dev/v1",
        "kind": "StackProfile",
        "metadata": metadata,
        "spec": {**spec, "parameters": parameters, "layers": layers},
    }
    return Imported(document, report.notes)


def _template(source: dict[str, Any], report: Report) -> tuple[str, dict[str, Any]]:
    """The section whose packs are imported: published, else template, else draft."""
    spec = source.get("spec")
    if isinstance(spec, dict):
        for section in SECTIONS:
            found = spec.get(section)
            if isinstance(found, dict) and isinstance(found.get("packs"), list):
                report.mapped(f"spec.{section}", "packs_section", f"packs read from spec.{section}")
                return section, found
    raise InvalidInput(
        "The document is not a Palette cluster profile",
        issues=[
            Issue(
                "spec",
                "missing_field",
                "A Palette cluster profile has packs in spec.published, spec.template or "
                "spec.draft",
            )
        ],
    )


def _packs(template: dict[str, Any], base: str, report: Report) -> list[_Pack]:
    """The packs in Palette's layer order: os, k8s, cni, csi, then add-ons by install
    priority (lowest first), ties in the order written."""
    found: list[_Pack] = []
    for index, raw in enumerate(template["packs"]):
        path = paths.child(paths.child(base, "packs"), index)
        if not isinstance(raw, dict):
            report.unmapped(path, "wrong_type", "A pack is an object: left out")
            continue
        layer = text_of(raw.get("layer")) or "addon"
        if layer not in (*INFRA, "addon"):
            report.approximated(
                paths.child(path, "layer"),
                "layer_kind",
                f"Lamina has no '{layer}' layer: imported as an add-on",
            )
            layer = "addon"
        found.append(_Pack(raw, path, layer, _priority(raw), index))
    return sorted(found, key=_order)


def _order(pack: _Pack) -> tuple[int, int, int]:
    if pack.layer in INFRA:
        return INFRA.index(pack.layer), 0, pack.index
    return len(INFRA), pack.priority, pack.index


def _priority(raw: dict[str, Any]) -> int:
    """The pack's install priority: its `priority` field, else the `pack:` section of its
    values (read from the text: the values are parsed later, with their report)."""
    if isinstance(raw.get("priority"), int) and not isinstance(raw.get("priority"), bool):
        return int(raw["priority"])
    values = raw.get("values")
    if isinstance(values, str):
        for line in values.splitlines():
            key, _, value = line.strip().partition(":")
            if key.strip("'\"") == _PRIORITY_KEY:
                number = value.strip().strip("'\"")
                if number.lstrip("-").isdigit():
                    return int(number)
    return 0


def _layers(
    packs: list[_Pack], context: Context, report: Report, referenced: set[str]
) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = []
    taken: set[str] = set()
    for pack in packs:
        layers += _pack_layers(pack, context, report, taken)
        referenced |= pack.variables
    return layers


def _pack_layers(
    pack: _Pack, context: Context, report: Report, taken: set[str]
) -> list[dict[str, Any]]:
    """The layers of one pack: a chart, OS or Kubernetes layer, or a manifests layer (a
    chart pack's own manifests follow it as a second layer)."""
    raw, path = pack.raw, pack.path
    name = _layer_name(raw, path, report, taken)
    kind = text_of(raw.get("type")) or "spectro"
    values = _values(pack, context, report)
    manifests = _manifests(pack, context, report)
    if kind == "manifest":
        return _manifest_layer(name, pack, values, manifests, report)
    if kind not in _CHART_TYPES:
        report.unmapped(
            paths.child(path, "type"), "pack_type", f"Unknown pack type '{kind}': left out"
        )
        return []
    if pack.layer in ("os", "k8s"):
        layers = [_infra_layer(name, pack, values, report)]
    else:
        layers = [_chart_layer(name, pack, kind, values, context, report)]
    if manifests:
        extra = unique(f"{name[:53]}-manifests", taken)
        report.approximated(
            paths.child(path, "manifests"),
            "pack_manifests",
            f"The pack's manifests became the layer '{extra}', after '{name}'",
        )
        layers.append(
            _with_namespace({"name": extra}, values)
            | {
                "manifests": manifests,
                "dependsOn": [name],
            }
        )
    return layers


def _layer_name(raw: dict[str, Any], path: str, report: Report, taken: set[str]) -> str:
    written = text_of(raw.get("name"))
    name = unique(dns_label(written, fallback="pack"), taken)
    if name != written:
        report.approximated(
            paths.child(path, "name"),
            "name_changed",
            f"The layer is named '{name}' (a layer name is a unique DNS-1123 label)",
        )
    return name


@dataclass
class _Values:
    """A pack's values split into what Lamina keeps: the chart's values and the namespace."""

    chart: dict[str, Any] = field(default_factory=dict)
    namespace: str | None = None


def _values(pack: _Pack, context: Context, report: Report) -> _Values:
    raw = pack.raw.get("values")
    path = paths.child(pack.path, "values")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return _Values()
    if not isinstance(raw, str):
        report.unmapped(path, "wrong_type", "The pack's values are not text (a YAML string)")
        return _Values()
    ok, tree = macros.translate(
        raw,
        lambda text: parse_yaml(context, text, path, report, what="The pack's values"),
        path=path,
        report=report,
        variables=pack.variables,
    )
    if not ok or tree is None:
        return _Values()
    if not isinstance(tree, dict):
        report.unmapped(path, "wrong_type", "The pack's values are not a mapping: left out")
        return _Values()
    report.mapped(path, "values_parsed", "The values text was parsed")
    found = _Values()
    settings = tree.pop("pack", None)
    if settings is not None:
        found.namespace = _pack_settings(settings, paths.child(path, "pack"), report)
    found.chart = _chart_values(tree, pack, path, report)
    return found


def _pack_settings(settings: Any, path: str, report: Report) -> str | None:
    """The namespace of a values `pack:` section; its other settings are reported."""
    if not isinstance(settings, dict):
        report.unmapped(path, "pack_setting", "The pack section is not a mapping: left out")
        return None
    namespace = None
    for key, value in settings.items():
        where = paths.child(path, str(key))
        if key == "namespace" and isinstance(value, str) and DNS_LABEL.fullmatch(value):
            report.mapped(where, "pack_namespace", f"The layer's namespace is '{value}'")
            namespace = value
        elif key == _PRIORITY_KEY:
            report.mapped(where, "install_priority", "Orders the layer among the add-ons")
        else:
            report.unmapped(
                where, "pack_setting", f"The Palette pack setting '{key}' has no Lamina equivalent"
            )
    return namespace


def _chart_values(tree: dict[str, Any], pack: _Pack, path: str, report: Report) -> dict[str, Any]:
    """The chart's values. Palette packs of several charts keep each chart's values under
    `charts.<chart>`: the one named like the pack (or the only one) is taken."""
    charts = tree.get("charts")
    if not isinstance(charts, dict) or not charts or set(tree) != {"charts"}:
        return tree
    wanted = text_of(pack.raw.get("name"))
    key = wanted if wanted in charts else (next(iter(charts)) if len(charts) == 1 else None)
    base = paths.child(path, "charts")
    for other in charts:
        if other != key:
            report.unmapped(
                paths.child(base, str(other)),
                "subchart_values",
                f"Values of the pack's chart '{other}': a Lamina layer holds one chart",
            )
    if key is None or not isinstance(charts[key], dict):
        return {}
    report.approximated(
        paths.child(base, str(key)), "chart_values", f"charts.{key} became the layer's values"
    )
    return dict(charts[key])


def _manifests(pack: _Pack, context: Context, report: Report) -> list[Any]:
    raw = pack.raw.get("manifests")
    if raw is None:
        return []
    base = paths.child(pack.path, "manifests")
    if not isinstance(raw, list):
        report.unmapped(base, "wrong_type", "The pack's manifests are not a list: left out")
        return []
    objects: list[Any] = []
    for index, entry in enumerate(raw):
        path = paths.child(base, index)
        content = entry.get("content") if isinstance(entry, dict) else None
        objects += _manifest_objects(content, pack, context, paths.child(path, "content"), report)
    return objects


def _manifest_objects(
    content: Any, pack: _Pack, context: Context, path: str, report: Report
) -> list[Any]:
    """The objects of one manifest's YAML stream (several documents)."""
    if not isinstance(content, str):
        report.unmapped(path, "missing_field", "A manifest without content: left out")
        return []
    objects: list[Any] = []
    for index, text in enumerate(split_stream(content)):
        where = paths.child(path, index)

        def parse(part: str, where: str = where) -> tuple[bool, Any]:
            return parse_yaml(context, part, where, report, what="A manifest")

        ok, obj = macros.translate(text, parse, path=where, report=report, variables=pack.variables)
        if not ok:
            continue
        if _is_object(obj):
            report.mapped(where, "manifest_object", f"{obj['kind']} {obj['metadata']['name']}")
            objects.append(obj)
        else:
            report.unmapped(
                where,
                "invalid_manifest",
                "Not a Kubernetes object (apiVersion, kind, metadata.name): left out",
            )
    return objects


def _is_object(obj: Any) -> bool:
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("apiVersion"), str)
        and isinstance(obj.get("kind"), str)
        and isinstance(metadata, dict)
        and isinstance(metadata.get("name"), str)
    )


def _with_namespace(layer: dict[str, Any], values: _Values) -> dict[str, Any]:
    return {**layer, "namespace": values.namespace} if values.namespace else layer


def _manifest_layer(
    name: str, pack: _Pack, values: _Values, manifests: list[Any], report: Report
) -> list[dict[str, Any]]:
    if not manifests:
        report.unmapped(pack.path, "empty_manifest_pack", "A manifest pack without objects")
        return []
    report.mapped(pack.path, "manifest_layer", f"The manifest pack became the layer '{name}'")
    if values.chart:
        report.unmapped(
            paths.child(pack.path, "values"),
            "manifest_values",
            "A manifest pack's values have no Lamina equivalent (manifests take no values)",
        )
    layer = _with_namespace({"name": name, **_category(pack)}, values)
    return [{**layer, "manifests": manifests}]


def _category(pack: _Pack) -> dict[str, Any]:
    if pack.layer in INFRA:
        return {"category": pack.layer}
    addon = text_of(pack.raw.get("addonType"))
    return {"category": addon} if addon else {}


def _infra_layer(name: str, pack: _Pack, values: _Values, report: Report) -> dict[str, Any]:
    """An OS or Kubernetes pack as Lamina's descriptor of that layer: Palette provisions
    them, Lamina only records which ones a cluster runs."""
    raw = pack.raw
    pack_name, version = text_of(raw.get("name")), text_of(raw.get("tag"))
    if pack.layer == "os":
        descriptor = {"os": {"name": pack_name, "version": version}}
    else:
        descriptor = {"kubernetes": {"distribution": pack_name, "version": version}}
    report.approximated(
        pack.path,
        "infra_pack",
        f"The {pack.layer} pack is no chart in Lamina: the layer '{name}' records "
        f"{pack_name} {version} as the cluster's {'OS' if pack.layer == 'os' else 'Kubernetes'}",
    )
    if values.chart:
        report.unmapped(
            paths.child(pack.path, "values"),
            "infra_pack_values",
            f"The {pack.layer} pack's settings have no Lamina equivalent: left out",
        )
    return {"name": name, "category": pack.layer, **descriptor}


def _chart_layer(
    name: str, pack: _Pack, kind: str, values: _Values, context: Context, report: Report
) -> dict[str, Any]:
    raw, path = pack.raw, pack.path
    chart = {
        "repository": _repository(raw, path, context, report),
        "name": text_of(raw.get("name")),
        "version": text_of(raw.get("tag")) or "*",
    }
    if not text_of(raw.get("tag")):
        report.approximated(
            paths.child(path, "tag"), "chart_version_any", "No tag: any version of the chart"
        )
    if kind == "spectro":
        report.approximated(
            path,
            "spectro_pack",
            f"A Palette pack became the chart layer '{name}': the registry must serve "
            f"'{chart['name']}' as a Helm chart",
        )
    else:
        report.mapped(path, "chart_layer", f"The {kind} pack became the chart layer '{name}'")
    layer = _with_namespace({"name": name, **_category(pack)}, values)
    layer["chart"] = chart
    if values.chart:
        layer["values"] = values.chart
    return layer


def _repository(raw: dict[str, Any], path: str, context: Context, report: Report) -> str:
    """The org registry of the pack, by the registry's name, then its URL; else the URL
    itself, else a placeholder name that fails validation at this layer."""
    name, url = text_of(raw.get("registryName")), text_of(raw.get("registryUrl"))
    found = registry_by_name(context, name) or registry_by_url(context, url)
    where = paths.child(path, "registryName" if name else "registryUrl" if url else "registryUid")
    if found is not None:
        report.mapped(where, "registry_matched", f"The org's registry '{found.name}'")
        return found.name
    if url.startswith(("https://", "http://", "oci://")):
        report.approximated(
            where,
            "registry_unresolved",
            f"No registry of the org has this URL: the layer names {url} itself",
        )
        return url
    placeholder = name if DNS_LABEL.fullmatch(name) else "unresolved"
    uid = text_of(raw.get("registryUid"))
    shown = f"'{name}'" if name else f"uid {uid or '(none)'}"
    report.unmapped(
        where,
        "registry_unresolved",
        f"The registry {shown} matches no registry of the org: the layer names "
        f"'{placeholder}', which fails validation until such a registry exists",
    )
    return placeholder


def _profile_type(
    template: dict[str, Any], base: str, layers: list[dict[str, Any]], report: Report
) -> str:
    """`full` with infra and add-on layers, `infra` with infra layers only, else `add-on`."""
    infra = any(layer.get("category") in INFRA for layer in layers)
    addons = any(layer.get("category") not in INFRA for layer in layers)
    chosen = ("full" if addons else "infra") if infra else "add-on"
    written = text_of(template.get("type"))
    if written and _TYPES.get(written) == chosen:
        report.mapped(paths.child(base, "type"), "profile_type", f"The profile type is {chosen}")
    elif written:
        report.approximated(
            paths.child(base, "type"),
            "profile_type",
            f"The Palette type '{written}' became {chosen}, from the layers imported",
        )
    return chosen


def _metadata(source: dict[str, Any], context: Context, report: Report) -> dict[str, Any]:
    raw = mapping(source.get("metadata"))
    written = text_of(raw.get("name"))
    name = profile_name(written, context, report)
    metadata: dict[str, Any] = {"name": name}
    annotations = mapping(raw.get("annotations"))
    description = text_of(annotations.get("description"))
    if description:
        report.mapped("metadata.annotations.description", "description", "The description")
        metadata["description"] = description
    spec = mapping(source.get("spec"))
    version = text_of(spec.get("version"))
    origin = f"Imported from the Palette cluster profile '{written or name}'"
    if version:
        report.approximated(
            "spec.version",
            "version_in_changelog",
            f"Lamina numbers versions itself: Palette's version {version} is named in the "
            "changelog",
        )
        origin += f" version {version}"
    metadata["changelog"] = origin
    return metadata
