"""The profile document (IaC format): assembling, splitting and exporting it.

Documents are plain dicts that keep the author's key order, so an import followed by
an export gives back the same keys in the same order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lamina.domain import paths, text
from lamina.domain.errors import InvalidInput, Issue, PayloadTooLarge

if TYPE_CHECKING:
    from lamina.domain.models import Profile, ProfileVersion

API_VERSION = "lamina.dev/v1"
KIND = "StackProfile"

METADATA_FIELDS = (
    "name",
    "description",
    "category",
    "tags",
    "visibility",
    "version",
    "channel",
    "changelog",
)
SPEC_FIELDS = ("type", "parameters", "layers")

# Profile-level metadata and the value that means "not set"; unset keys are not exported
# unless the author wrote them.
_PROFILE_DEFAULTS: dict[str, Any] = {
    "description": "",
    "category": "",
    "tags": [],
    "visibility": "organisation",
}


def assemble(metadata: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """The full document for a metadata block and a spec."""
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}


def profile_fields(metadata: dict[str, Any]) -> dict[str, Any]:
    """Profile-level fields (name, description, category, tags, visibility) with defaults."""
    fields: dict[str, Any] = {"name": metadata.get("name", "")}
    for key, default in _PROFILE_DEFAULTS.items():
        value = metadata.get(key)
        fields[key] = default if value is None else value
    return fields


def parameters_of(spec: dict[str, Any]) -> list[Any]:
    params = spec.get("parameters")
    return params if isinstance(params, list) else []


def without_parameters(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k != "parameters"}


def compose_spec(spec: dict[str, Any], parameters: list[Any] | None) -> dict[str, Any]:
    """Put `parameters` into `spec`: in place when spec already has them, else after `type`."""
    if parameters is None:
        return dict(spec)
    if "parameters" in spec:
        return {k: (parameters if k == "parameters" else v) for k, v in spec.items()}
    if not parameters:
        return dict(spec)
    out: dict[str, Any] = {}
    placed = False
    for key, value in spec.items():
        if not placed and key != "type":
            out["parameters"] = parameters
            placed = True
        out[key] = value
    if not placed:
        out["parameters"] = parameters
    return out


def export_document(profile: Profile, version: ProfileVersion) -> dict[str, Any]:
    """The IaC document of one version, with the profile's current metadata."""
    current: dict[str, Any] = {
        "name": profile.name,
        "description": profile.description,
        "category": profile.category,
        "tags": list(profile.tags),
        "visibility": profile.visibility.value,
        "version": version.version,
        "channel": version.channel,
        "changelog": version.changelog,
    }
    keys = [key for key in version.metadata if key in current]
    for key in METADATA_FIELDS:
        if key not in keys and _exported(key, current[key]):
            keys.insert(_slot(keys, key), key)
    metadata = {key: current[key] for key in keys}
    return assemble(metadata, dict(version.spec))


def same_content(doc: Any, exported: dict[str, Any], *, channel: str | None = None) -> bool:
    """Whether publishing `doc` (on `channel`, else its own) would repeat the version
    `exported` (as export_document gives it).

    Compared: the spec, the profile fields and the channel the publish would use. The
    version number is not, and the changelog only when the document states one: a
    changelog given apart from the document describes a change, it is not one.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict):
        return False
    metadata, published = doc["metadata"], exported["metadata"]
    changelog = metadata.get("changelog")
    return (
        doc.get("spec") == exported["spec"]
        and profile_fields(metadata) == profile_fields(published)
        and (channel or metadata.get("channel") or "stable") == published["channel"]
        and (not changelog or changelog == published.get("changelog"))
    )


def _exported(key: str, value: Any) -> bool:
    """Whether a key the author did not write still belongs in the export."""
    if key in ("name", "version", "channel"):
        return True
    if key == "changelog":
        return bool(value)
    return bool(value != _PROFILE_DEFAULTS[key])


def _slot(keys: list[str], key: str) -> int:
    """Where `key` goes: right after the nearest key that precedes it in METADATA_FIELDS."""
    before = METADATA_FIELDS[: METADATA_FIELDS.index(key)]
    positions = [i for i, existing in enumerate(keys) if existing in before]
    return max(positions) + 1 if positions else 0


MAX_DEPTH = 100
MAX_NODES = 500_000
MAX_ALIASES = 1_000
MAX_LAYERS = 500
MAX_PARAMETERS = 1_000


def check_limits(doc: Any) -> None:
    """PayloadTooLarge when a document has more layers or parameters than Lamina handles,
    before any work proportional to them is done."""
    spec = doc.get("spec") if isinstance(doc, dict) else None
    if not isinstance(spec, dict):
        return
    for field, limit in (("layers", MAX_LAYERS), ("parameters", MAX_PARAMETERS)):
        entries = spec.get(field)
        if isinstance(entries, list) and len(entries) > limit:
            message = f"{len(entries)} {field}; a profile may have at most {limit} {field}"
            raise PayloadTooLarge(
                f"The document has too many {field}",
                issues=[Issue(f"spec.{field}", "too_many", message)],
            )


def check_tree(tree: Any, *, where: str = "") -> None:
    """Refuse a tree that is not plain JSON-like data within the depth and size limits."""
    issues = tree_issues(tree, max_depth=MAX_DEPTH, max_nodes=MAX_NODES)
    if issues:
        fixed = [Issue(paths.join(where, i.path), i.code, i.message) for i in issues]
        raise InvalidInput("The document holds values Lamina cannot store", issues=fixed)


def tree_issues(tree: Any, *, max_depth: int, max_nodes: int) -> list[Issue]:
    """Problems that make a parsed tree unusable as a document: non-JSON values, control
    characters (tab, newline and carriage return are fine in strings), too deep or big.

    Shared sub-trees (YAML aliases) count once per use, so an alias bomb is refused here.
    """
    issues: list[Issue] = []
    budget = [max_nodes]
    _walk(tree, "", 0, max_depth, budget, issues)
    if budget[0] < 0:
        issues.append(Issue("", "too_large", f"The document has more than {max_nodes} values"))
    return issues[:50]


def _walk(
    node: Any, path: str, depth: int, max_depth: int, budget: list[int], out: list[Issue]
) -> None:
    budget[0] -= 1
    if budget[0] < 0 or len(out) >= 50:
        return
    if depth > max_depth:
        out.append(Issue(path, "too_deep", f"Values nest deeper than {max_depth} levels"))
        return
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                out.append(
                    Issue(
                        paths.child(path, str(key)),
                        "wrong_type",
                        "Mapping keys must be strings; quote the key",
                    )
                )
                continue
            bad = text.forbidden_character(key)
            if bad is not None:
                out.append(Issue(path, "control_character", f"A key: {text.message(bad)}"))
                continue
            _walk(value, paths.child(path, key), depth + 1, max_depth, budget, out)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _walk(value, paths.child(path, index), depth + 1, max_depth, budget, out)
    elif isinstance(node, str):
        bad = text.forbidden_character(node, multiline=True)
        if bad is not None:
            out.append(Issue(path, "control_character", text.message(bad)))
    elif node is not None and not isinstance(node, int | float | bool):
        out.append(
            Issue(
                path,
                "wrong_type",
                f"Values of type {type(node).__name__} are not supported; quote the value",
            )
        )
