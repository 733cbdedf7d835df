"""What changed between two specs, path by path, with layers and parameters matched by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lamina.domain.paths import child, named

_NAMED_LISTS = ("layers", "parameters")

KeyOf = Callable[[Any], str | None]
Entry = Callable[[str, str, Any, Any], list["Change"]]  # (path, key, old, new) -> changes


@dataclass(frozen=True)
class Change:
    """One difference: `op` is "added", "removed" or "changed"; absent sides are None."""

    path: str
    op: str
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "op": self.op, "from": self.before, "to": self.after}


def diff_specs(
    old: Mapping[str, Any], new: Mapping[str, Any], *, base: str = "spec"
) -> list[Change]:
    """Every change from `old` to `new`, in the order of `new`'s keys and names, then removals."""
    return _diff_mapping(old, new, base, _spec_entry)


def _spec_entry(path: str, key: str, old: Any, new: Any) -> list[Change]:
    if key in _NAMED_LISTS and isinstance(old, list) and isinstance(new, list):
        entry = _layer_entry if key == "layers" else _plain_entry
        return _diff_list(old, new, path, _name_of, entry)
    return _diff_value(old, new, path)


def _layer_entry(path: str, key: str, old: Any, new: Any) -> list[Change]:
    if key == "manifests" and isinstance(old, list) and isinstance(new, list):
        return _diff_list(old, new, path, _object_key, _plain_entry)
    return _diff_value(old, new, path)


def _plain_entry(path: str, key: str, old: Any, new: Any) -> list[Change]:
    return _diff_value(old, new, path)


def _diff_value(old: Any, new: Any, path: str) -> list[Change]:
    """Mappings recurse key by key; anything else (lists included) compares as a whole."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return _diff_mapping(old, new, path, _plain_entry)
    return [] if same(old, new) else [Change(path, "changed", old, new)]


def _diff_mapping(
    old: Mapping[Any, Any], new: Mapping[Any, Any], path: str, entry: Entry
) -> list[Change]:
    changes: list[Change] = []
    for key, value in new.items():
        where = _key_path(path, key)
        if key in old:
            changes += entry(where, str(key), old[key], value)
        else:
            changes.append(Change(where, "added", None, value))
    for key, value in old.items():
        if key not in new:
            changes.append(Change(_key_path(path, key), "removed", value, None))
    return changes


def _diff_list(
    old: Sequence[Any], new: Sequence[Any], path: str, key_of: KeyOf, entry: Entry
) -> list[Change]:
    """Match items by `key_of`; when some item has no key or keys repeat, match by position."""
    old_keys, new_keys = _keys(old, key_of), _keys(new, key_of)
    if old_keys is None or new_keys is None:
        return _diff_positional(old, new, path, entry)
    old_by, new_by = dict(zip(old_keys, old, strict=True)), dict(zip(new_keys, new, strict=True))
    changes: list[Change] = []
    kept_old = [k for k in old_keys if k in new_by]
    kept_new = [k for k in new_keys if k in old_by]
    if kept_old != kept_new:
        # A pure reorder is a change of its own: install order follows document order.
        changes.append(Change(path, "changed", old_keys, new_keys))
    for key in new_keys:
        where = named(path, key)
        if key in old_by:
            changes += _diff_item(old_by[key], new_by[key], where, entry)
        else:
            changes.append(Change(where, "added", None, new_by[key]))
    changes += [
        Change(named(path, k), "removed", old_by[k], None) for k in old_keys if k not in new_by
    ]
    return changes


def _diff_positional(
    old: Sequence[Any], new: Sequence[Any], path: str, entry: Entry
) -> list[Change]:
    changes: list[Change] = []
    for index, value in enumerate(new):
        where = child(path, index)
        if index < len(old):
            changes += _diff_item(old[index], value, where, entry)
        else:
            changes.append(Change(where, "added", None, value))
    changes += [Change(child(path, i), "removed", old[i], None) for i in range(len(new), len(old))]
    return changes


def _diff_item(old: Any, new: Any, path: str, entry: Entry) -> list[Change]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return _diff_mapping(old, new, path, entry)
    return _diff_value(old, new, path)


def _keys(items: Sequence[Any], key_of: KeyOf) -> list[str] | None:
    keys = [key_of(item) for item in items]
    found = [k for k in keys if k is not None]
    if len(found) != len(keys) or len(set(found)) != len(found):
        return None
    return found


def _name_of(item: Any) -> str | None:
    if isinstance(item, Mapping) and isinstance(item.get("name"), str):
        return str(item["name"])
    return None


def _object_key(item: Any) -> str | None:
    """`Kind/namespace/name` of an inline object, or `Kind/name` when it has no namespace."""
    if not isinstance(item, Mapping) or not isinstance(item.get("metadata"), Mapping):
        return None
    kind, meta = item.get("kind"), item["metadata"]
    name, namespace = meta.get("name"), meta.get("namespace")
    if not isinstance(kind, str) or not isinstance(name, str):
        return None
    if isinstance(namespace, str) and namespace:
        return f"{kind}/{namespace}/{name}"
    return f"{kind}/{name}"


def _key_path(path: str, key: Any) -> str:
    return child(path, key if isinstance(key, str) else str(key))


def same(a: Any, b: Any) -> bool:
    """Deep equality that keeps types apart (`1`, `1.0` and `True` differ), as YAML authors do."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is not type(b):
        return False
    return bool(a == b) or (a != a and b != b)  # NaN equals itself here: no phantom changes
