"""What a new render of a cluster's stack changes, object by object, for review.

Objects are keyed by (kind, namespace, name), namespace "" for cluster-scoped ones, and
compared by their YAML text. Secret values never reach that text: stacks render secret
parameters as placeholders, so no diff can show one.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

Key = tuple[str, str, str]  # (kind, namespace, name)
Entry = tuple[str, str]  # (layer name, YAML text of the object)
HookOf = Callable[[str], list[str]]  # the Helm hook types of an object, from its YAML text

ADDED = "added"
CHANGED = "changed"
REMOVED = "removed"
CONTEXT_LINES = 3


@dataclass(frozen=True)
class ObjectChange:
    """One object that differs: `op` is "added", "changed" or "removed"; `layer` is the layer
    that renders it after the change (before it, for a removal); `diff` is the unified diff
    of its YAML for "changed", "" otherwise; `hook` the Helm hook types of a hook object
    (after the change; before it, for a removal), None for any other object."""

    op: str
    kind: str
    namespace: str
    name: str
    layer: str
    diff: str
    hook: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "layer": self.layer,
            "diff": self.diff,
            "hook": self.hook,
        }


def diff_objects(
    before: Mapping[Key, Entry], after: Mapping[Key, Entry], hook_of: HookOf | None = None
) -> list[ObjectChange]:
    """Every object added, changed or removed from `before` to `after`; with `hook_of`, each
    change names the hook types of its object.

    Objects with identical text are left out, even when they moved to another layer.
    Order: added and changed objects by the position of their layer in `after` (the order in
    which layers first appear in its iteration), then by kind, namespace and name; after them
    the removed objects, by the position of their layer in `before`, then kind, namespace, name.
    """
    present = [_present(key, before.get(key), entry) for key, entry in after.items()]
    found = [change for change in present if change is not None]
    gone = [_removed(key, entry) for key, entry in before.items() if key not in after]
    changes = _ordered(found, after) + _ordered(gone, before)
    if hook_of is None:
        return changes
    return [_hooked(change, before, after, hook_of) for change in changes]


def _hooked(
    change: ObjectChange, before: Mapping[Key, Entry], after: Mapping[Key, Entry], hook_of: HookOf
) -> ObjectChange:
    key = (change.kind, change.namespace, change.name)
    entry = before[key] if change.op == REMOVED else after[key]
    return replace(change, hook=hook_of(entry[1]) or None)


def unified_diff(key: Key, old: str, new: str) -> str:
    """The unified diff from `old` to `new` with headers `a/<kind>/<namespace>/<name>` and
    `b/…` (`a/<kind>/<name>` for cluster-scoped objects) and 3 lines of context; "" when the
    texts are equal. A missing final newline is not shown as a difference."""
    label = "/".join(part for part in key if part)
    lines = difflib.unified_diff(
        old.splitlines(),
        new.splitlines(),
        fromfile=f"a/{label}",
        tofile=f"b/{label}",
        n=CONTEXT_LINES,
        lineterm="",
    )
    text = "\n".join(lines)
    return text + "\n" if text else ""


def _present(key: Key, old: Entry | None, new: Entry) -> ObjectChange | None:
    layer, text = new
    if old is None:
        return ObjectChange(ADDED, *key, layer=layer, diff="")
    if old[1] == text:
        return None
    return ObjectChange(CHANGED, *key, layer=layer, diff=unified_diff(key, old[1], text))


def _removed(key: Key, entry: Entry) -> ObjectChange:
    return ObjectChange(REMOVED, *key, layer=entry[0], diff="")


def _ordered(changes: list[ObjectChange], side: Mapping[Key, Entry]) -> list[ObjectChange]:
    """`changes` sorted by the position of their layer in `side`, then kind, namespace, name."""
    position: dict[str, int] = {}
    for layer, _ in side.values():
        position.setdefault(layer, len(position))
    return sorted(changes, key=lambda c: (position[c.layer], c.kind, c.namespace, c.name))
