"""Helm hooks in a GitOps tree: which rendered hook objects are committed, and how.

Helm runs a hook object (annotation `helm.sh/hook`) at one moment of a release and applies
it again on the next; a GitOps engine applies every committed object on every sync. So:

- test hooks (`test`, `test-success`, `test-failure`) are never committed: they would run on
  every cluster, on every sync;
- install and upgrade hooks (`pre-install`, `post-install`, `pre-upgrade`, `post-upgrade`)
  are committed with their annotations (Argo CD maps them to its PreSync/PostSync phases,
  `helm.sh/hook-weight` to the order within a phase, and honours
  `helm.sh/hook-delete-policy`), plus `kustomize.toolkit.fluxcd.io/force: enabled`, so that
  Flux's kustomize-controller replaces a changed hook Job (whose spec is immutable) instead
  of failing to patch it: Helm's default `before-hook-creation` policy;
- delete and rollback hooks are not committed: GitOps never uninstalls or rolls back a Helm
  release, and applied as plain objects they would run at install time instead.

An object with several hook types is committed when one of them is an install or upgrade
hook. Within a layer, committed `pre-*` hooks come first and `post-*` hooks last, each
group by weight, so tools that apply in file order see Helm's order.
"""

from __future__ import annotations

from typing import Any

HOOK = "helm.sh/hook"
WEIGHT = "helm.sh/hook-weight"
FORCE = {"kustomize.toolkit.fluxcd.io/force": "enabled"}
TESTS = frozenset({"test", "test-success", "test-failure"})
COMMITTED = frozenset({"pre-install", "post-install", "pre-upgrade", "post-upgrade"})
_PRE, _PLAIN, _POST = 0, 1, 2


def hook_types(obj: dict[str, Any]) -> list[str]:
    """The hook types an object declares (`helm.sh/hook`, comma-separated), [] for none."""
    metadata = obj.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    value = annotations.get(HOOK) if isinstance(annotations, dict) else None
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def is_committed(obj: dict[str, Any]) -> bool:
    """Whether a GitOps tree holds the object: no hook, or an install/upgrade hook."""
    types = hook_types(obj)
    return not types or any(t in COMMITTED for t in types)


def dropped(objects: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[str]]]:
    """The objects a GitOps tree leaves out, each with its hook types."""
    return [(obj, hook_types(obj)) for obj in objects if not is_committed(obj)]


def committed(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The objects as committed: hooks that are not committed left out, committed hooks
    marked for replacement and ordered around the layer's other objects (stable)."""
    kept = [_forced(obj) if hook_types(obj) else obj for obj in objects if is_committed(obj)]
    return sorted(kept, key=_phase)


def _forced(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = dict(obj.get("metadata") or {})
    metadata["annotations"] = {**(metadata.get("annotations") or {}), **FORCE}
    return {**obj, "metadata": metadata}


def _phase(obj: dict[str, Any]) -> tuple[int, int]:
    types = [t for t in hook_types(obj) if t in COMMITTED]
    if not types:
        return _PLAIN, 0
    phase = _PRE if any(t.startswith("pre-") for t in types) else _POST
    return phase, _weight(obj)


def _weight(obj: dict[str, Any]) -> int:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    try:
        return int(str(annotations.get(WEIGHT, "0")).strip())
    except ValueError:
        return 0
