"""Lock rows: each chart as its layer requested it, beside what the version's lock pinned."""

from __future__ import annotations

from lamina.domain.locks import LockRow, lock_rows

SPEC = {
    "layers": [
        {"name": "web", "chart": {"repository": "charts", "name": "webapp", "version": "^1.0"}},
        {"name": "extra", "manifests": []},
        {"name": "core", "profile": {"name": "base", "version": 2}},
        {"name": "empty", "profile": {"name": "bare", "version": 1}},
        {"name": "new", "chart": {"repository": "charts", "name": "cache", "version": "2.0.0"}},
    ]
}
PIN = {"repository": "charts", "name": "webapp", "version": "1.1.0", "digest": "sha256:aa"}
NESTED = {"repository": "other", "name": "ingress", "version": "4.0.1", "digest": "sha256:bb"}


def test_rows_follow_the_layers_with_nested_pins_and_unpinned_charts() -> None:
    rows = lock_rows(SPEC, {"charts": {"web": PIN, "core/ingress": NESTED}})
    assert rows == [
        LockRow("web", "charts", "webapp", "^1.0", "1.1.0", "sha256:aa"),
        LockRow("core/ingress", "other", "ingress", None, "4.0.1", "sha256:bb", ("base", 2)),
        LockRow("empty", None, None, None, None, None, ("bare", 1)),
        LockRow("new", "charts", "cache", "2.0.0", None, None),
    ]


def test_a_version_without_a_lock_has_no_rows() -> None:
    assert lock_rows(SPEC, None) is None
    assert lock_rows({"layers": []}, {"charts": {}}) == []
