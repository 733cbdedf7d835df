"""Weaveworks profiles (`profile.yaml`, kind ProfileDefinition, with an optional
ProfileSubscription beside it) as Lamina profile documents. The mapping rules are listed
in docs/api.md.

Paths in the report point into the definition (`spec.artifacts[0].chart.url`); those of
the subscription start with `subscription.`, those of other documents of the stream with
`documents[N]`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lamina.domain import paths, values
from lamina.domain.errors import InvalidInput, Issue
from lamina.domain.importers.report import (
    Context,
    Imported,
    Report,
    dns_label,
    mapping,
    parse_yaml,
    profile_name,
    registry_by_url,
    text_of,
    unique,
)

DEFINITION = "ProfileDefinition"
SUBSCRIPTION = "ProfileSubscription"
_SOURCES = ("chart", "kustomize", "profile")


@dataclass(frozen=True)
class _Subscription:
    """What a ProfileSubscription adds: the profile's Git repository and values."""

    repository: str = ""
    ref: str = ""
    path: str = ""
    values: dict[str, Any] | None = None


def import_profile(documents: list[Any], context: Context) -> Imported:
    """The draft document and import report of a ProfileDefinition (and subscription)."""
    report = Report()
    definition, subscription_doc = _split(documents, report)
    subscription = _subscription(subscription_doc, report)
    spec = mapping(definition.get("spec"))
    artifacts = spec.get("artifacts")
    if not isinstance(artifacts, list):
        raise InvalidInput(
            "The profile definition has no artifacts",
            issues=[Issue("spec.artifacts", "missing_field", "A list of artifacts is needed")],
        )
    layers = _layers(artifacts, subscription, context, report)
    document = {
        "apiVersion": "lamina.dev/v1",
        "kind": "StackProfile",
        "metadata": _metadata(definition, spec, context, report),
        "spec": {"type": "add-on", "parameters": [], "layers": layers},
    }
    return Imported(document, report.notes)


def nested_profile_names(documents: list[Any]) -> list[str]:
    """The Lamina profile names nested-profile artifacts may stand for, to look up before
    mapping (see `_nested_name`)."""
    names = []
    for doc in documents:
        if isinstance(doc, dict) and doc.get("kind") == DEFINITION:
            spec = mapping(doc.get("spec"))
            for artifact in spec.get("artifacts") or []:
                nested = artifact.get("profile") if isinstance(artifact, dict) else None
                if isinstance(nested, dict) and (name := _nested_name(nested)):
                    names.append(name)
    return names


def _split(documents: list[Any], report: Report) -> tuple[dict[str, Any], dict[str, Any] | None]:
    definition: dict[str, Any] | None = None
    subscription: dict[str, Any] | None = None
    for index, doc in enumerate(documents):
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if kind == DEFINITION and definition is None and isinstance(doc, dict):
            definition = doc
        elif kind == SUBSCRIPTION and subscription is None and isinstance(doc, dict):
            subscription = doc
        else:
            report.unmapped(
                f"documents[{index}]",
                "extra_document",
                f"Only a {DEFINITION} and a {SUBSCRIPTION} are read: left out",
            )
    if definition is None:
        raise InvalidInput(
            "The document is not a Weaveworks profile definition",
            issues=[Issue("kind", "invalid_value", f"A document of kind {DEFINITION} is needed")],
        )
    return definition, subscription


def _subscription(doc: dict[str, Any] | None, report: Report) -> _Subscription:
    if doc is None:
        return _Subscription()
    spec = mapping(doc.get("spec"))
    base = "subscription.spec"
    repository = text_of(spec.get("profileURL"))
    ref = text_of(spec.get("branch")) or text_of(spec.get("version"))
    if repository:
        report.mapped(
            paths.child(base, "profileURL"),
            "profile_repository",
            "The profile's Git repository, for kustomize paths",
        )
    for index, _ in enumerate(spec.get("valuesFrom") or []):
        report.unmapped(
            paths.child(paths.child(base, "valuesFrom"), index),
            "values_from",
            "Values from a ConfigMap or Secret of the cluster have no Lamina equivalent: "
            "declare parameters for them",
        )
    found = spec.get("values")
    if found is not None and not isinstance(found, dict):
        report.unmapped(paths.child(base, "values"), "wrong_type", "Values are not a mapping")
        found = None
    return _Subscription(repository, ref, text_of(spec.get("path")).strip("/"), found)


def _layers(
    artifacts: list[Any], subscription: _Subscription, context: Context, report: Report
) -> list[dict[str, Any]]:
    """One layer per artifact that maps; `dependsOn` only between layers that exist."""
    taken: set[str] = set()
    mapped: dict[str, dict[str, Any]] = {}
    pending: list[tuple[str, dict[str, Any], Any]] = []
    for index, artifact in enumerate(artifacts):
        path = paths.child("spec.artifacts", index)
        if not isinstance(artifact, dict):
            report.unmapped(path, "wrong_type", "An artifact is a mapping: left out")
            continue
        layer = _layer(artifact, path, subscription, context, report, taken)
        written = text_of(artifact.get("name"))
        if layer is not None:
            mapped[written] = layer
            pending.append((path, layer, artifact.get("dependsOn")))
    if subscription.values is not None and not any("chart" in m for m in mapped.values()):
        report.unmapped(
            "subscription.spec.values", "subscription_values", "No chart layer takes the values"
        )
    for path, layer, depends in pending:
        _depends_on(layer, depends, paths.child(path, "dependsOn"), mapped, report)
    return [layer for _, layer, _ in pending]


def _layer(
    artifact: dict[str, Any],
    path: str,
    subscription: _Subscription,
    context: Context,
    report: Report,
    taken: set[str],
) -> dict[str, Any] | None:
    sources = [key for key in _SOURCES if key in artifact]
    if not sources:
        report.unmapped(path, "artifact_unknown", "No chart, kustomize or profile: left out")
        return None
    for extra in sources[1:]:
        report.unmapped(
            paths.child(path, extra),
            "artifact_unknown",
            f"A layer has one source: '{extra}' left out",
        )
    name = _name(artifact, path, report, taken)
    kind = sources[0]
    where = paths.child(path, kind)
    if kind == "chart":
        return _chart(name, artifact["chart"], where, subscription, context, report)
    if kind == "kustomize":
        return _kustomize(name, artifact["kustomize"], where, subscription, report)
    return _nested(name, artifact["profile"], where, context, report)


def _name(artifact: dict[str, Any], path: str, report: Report, taken: set[str]) -> str:
    written = text_of(artifact.get("name"))
    name = unique(dns_label(written, fallback="artifact"), taken)
    if name != written:
        report.approximated(
            paths.child(path, "name"),
            "name_changed",
            f"The layer is named '{name}' (a layer name is a unique DNS-1123 label)",
        )
    return name


def _chart(
    name: str,
    chart: Any,
    path: str,
    subscription: _Subscription,
    context: Context,
    report: Report,
) -> dict[str, Any] | None:
    """A chart from a repository URL becomes a chart layer; a chart inside the profile's
    Git repository (`path`) cannot: Lamina takes charts from registries only."""
    if not isinstance(chart, dict):
        report.unmapped(path, "wrong_type", "The chart is not a mapping: left out")
        return None
    if "path" in chart and "url" not in chart:
        report.unmapped(
            paths.child(path, "path"),
            "chart_path",
            "A chart inside the profile's Git repository cannot be fetched by Lamina: package "
            "it into a registry and add a chart layer",
        )
        return None
    url, chart_name = text_of(chart.get("url")), text_of(chart.get("name"))
    if not url or not chart_name:
        report.unmapped(path, "missing_field", "A chart needs a url and a name: left out")
        return None
    version = text_of(chart.get("version"))
    if not version:
        report.approximated(
            paths.child(path, "version"), "chart_version_any", "No version: any version"
        )
    report.mapped(path, "chart_layer", f"The chart became the layer '{name}'")
    reference = {"repository": _repository(url, path, context, report), "name": chart_name}
    layer: dict[str, Any] = {"name": name, "chart": {**reference, "version": version or "*"}}
    layer_values = _default_values(chart, path, context, report)
    if subscription.values is not None:
        report.mapped(
            "subscription.spec.values",
            "subscription_values",
            f"The subscription's values are laid over the values of '{name}'",
        )
        layer_values = values.coalesce(layer_values, subscription.values)
    if layer_values:
        layer["values"] = layer_values
    return layer


def _repository(url: str, path: str, context: Context, report: Report) -> str:
    where = paths.child(path, "url")
    found = registry_by_url(context, url)
    if found is not None:
        report.mapped(where, "registry_matched", f"The org's registry '{found.name}'")
        return found.name
    report.approximated(
        where,
        "registry_unresolved",
        "No registry of the org has this URL: the layer names the URL itself (register it "
        "to browse its packs)",
    )
    return url


def _default_values(chart: dict[str, Any], path: str, context: Context, report: Report) -> Any:
    raw = chart.get("defaultValues")
    if raw is None:
        return {}
    where = paths.child(path, "defaultValues")
    ok, tree = parse_yaml(context, raw, where, report, what="defaultValues")
    if not ok:
        return {}
    if tree is not None and not isinstance(tree, dict):
        report.unmapped(where, "wrong_type", "defaultValues is not a mapping: left out")
        return {}
    report.mapped(where, "default_values", "The chart's values")
    return tree or {}


def _kustomize(
    name: str, kustomize: Any, path: str, subscription: _Subscription, report: Report
) -> dict[str, Any] | None:
    """A kustomize path inside the profile's Git repository becomes a kustomize remote
    target when the subscription names that repository."""
    written = text_of(kustomize.get("path")) if isinstance(kustomize, dict) else ""
    where = paths.child(path, "path")
    if not written:
        report.unmapped(path, "missing_field", "A kustomize artifact needs a path: left out")
        return None
    if not subscription.repository:
        report.unmapped(
            where,
            "kustomize_path",
            "The path is inside the profile's Git repository, which only a ProfileSubscription "
            "(spec.profileURL) names: left out",
        )
        return None
    inside = "/".join(p for p in (subscription.path, written.strip("/")) if p)
    target = f"{subscription.repository.rstrip('/')}//{inside}"
    if subscription.ref:
        target += f"?ref={subscription.ref}"
    report.mapped(where, "kustomize_remote", f"The kustomize remote target {target}")
    return {"name": name, "kustomize": {"path": target}}


def _nested_name(nested: dict[str, Any]) -> str:
    """The profile a nested-profile artifact stands for: the name part of its tag
    (`nginx/v0.1.0`), else the last folder of its path, else its repository's name."""
    source = mapping(nested.get("source")) or nested
    tag = text_of(source.get("tag"))
    if "/" in tag:
        return dns_label(tag.split("/")[0], fallback="")
    folder = text_of(source.get("path")).strip("/")
    if folder:
        return dns_label(folder.split("/")[-1], fallback="")
    url = text_of(source.get("url")).rstrip("/")
    return dns_label(url.split("/")[-1].removesuffix(".git"), fallback="") if url else ""


def _nested(
    name: str, nested: Any, path: str, context: Context, report: Report
) -> dict[str, Any] | None:
    """A nested profile Lamina knows (by name) becomes a nested-profile layer at its latest
    version; Weaveworks versions (Git tags and branches) have no Lamina number."""
    if not isinstance(nested, dict):
        report.unmapped(path, "wrong_type", "The profile is not a mapping: left out")
        return None
    wanted = _nested_name(nested)
    latest = context.profiles.get(wanted) if wanted else None
    if latest is None:
        shown = f"'{wanted}'" if wanted else "it"
        report.unmapped(
            path,
            "nested_profile_unknown",
            f"No profile of the org is named {shown}: import that profile first; left out",
        )
        return None
    report.approximated(
        path,
        "nested_profile",
        f"The profile '{wanted}' at its latest version {latest} (Git tags and branches "
        "have no Lamina version number)",
    )
    return {"name": name, "profile": {"name": wanted, "version": latest}}


def _depends_on(
    layer: dict[str, Any],
    depends: Any,
    path: str,
    mapped: dict[str, dict[str, Any]],
    report: Report,
) -> None:
    """`dependsOn: [{name: artifact}]` as the layer's dependsOn, naming layers that exist."""
    if depends is None:
        return
    entries = depends if isinstance(depends, list) else []
    kept = []
    for index, entry in enumerate(entries):
        written = text_of(entry.get("name")) if isinstance(entry, dict) else text_of(entry)
        where = paths.child(path, index)
        if written in mapped:
            kept.append(mapped[written]["name"])
            report.mapped(where, "depends_on", f"'{layer['name']}' depends on '{written}'")
        else:
            report.unmapped(
                where,
                "dependency_dropped",
                f"'{written}' is no layer of the import: the dependency is left out",
            )
    if kept:
        layer["dependsOn"] = kept


def _metadata(
    definition: dict[str, Any], spec: dict[str, Any], context: Context, report: Report
) -> dict[str, Any]:
    raw = mapping(definition.get("metadata"))
    written = text_of(raw.get("name")) or text_of(spec.get("name"))
    name = profile_name(written, context, report)
    metadata: dict[str, Any] = {"name": name}
    description = text_of(spec.get("description"))
    if description:
        report.mapped("spec.description", "description", "The description")
        metadata["description"] = description
    for key in ("maintainer", "prerequisites"):
        if spec.get(key):
            report.unmapped(paths.child("spec", key), key, f"Lamina profiles have no {key} field")
    metadata["changelog"] = f"Imported from the Weaveworks profile '{written or name}'"
    return metadata
