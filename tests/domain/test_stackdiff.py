"""Review diffs of a cluster's stack: added, changed, removed, order, diff text, redaction."""

from __future__ import annotations

from lamina.domain.stackdiff import ObjectChange, diff_objects, unified_diff

CM_OLD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: '1'\n  b: '2'\n"
CM_NEW = CM_OLD.replace("b: '2'", "b: '3'")
NS = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n"
NS_NEW = NS + "  labels:\n    team: core\n"


def test_added_changed_removed_and_identical_left_out() -> None:
    before = {
        ("ConfigMap", "web", "web"): ("app", CM_OLD),
        ("Secret", "web", "gone"): ("app", "kind: Secret\n"),
        ("Service", "web", "same"): ("app", "kind: Service\n"),
    }
    after = {
        ("ConfigMap", "web", "web"): ("app", CM_NEW),
        ("Service", "web", "same"): ("app", "kind: Service\n"),
        ("Deployment", "web", "new"): ("app", "kind: Deployment\n"),
    }
    changes = diff_objects(before, after)
    assert [(c.op, c.kind, c.name) for c in changes] == [
        ("changed", "ConfigMap", "web"),
        ("added", "Deployment", "new"),
        ("removed", "Secret", "gone"),
    ]
    assert changes[1] == ObjectChange("added", "Deployment", "web", "new", "app", "")
    assert changes[2].diff == ""


def test_unified_diff_of_a_change() -> None:
    [change] = diff_objects(
        {("ConfigMap", "web", "web"): ("app", CM_OLD)},
        {("ConfigMap", "web", "web"): ("app", CM_NEW)},
    )
    assert change.diff == (
        "--- a/ConfigMap/web/web\n"
        "+++ b/ConfigMap/web/web\n"
        "@@ -4,4 +4,4 @@\n"
        "   name: web\n"
        " data:\n"
        "   a: '1'\n"
        "-  b: '2'\n"
        "+  b: '3'\n"
    )


def test_diff_keeps_three_lines_of_context() -> None:
    old = "".join(f"line{i}\n" for i in range(20))
    new = old.replace("line10\n", "LINE10\n")
    diff = unified_diff(("ConfigMap", "ns", "big"), old, new)
    body = diff.splitlines()[3:]
    assert body == [
        " line7",
        " line8",
        " line9",
        "-line10",
        "+LINE10",
        " line11",
        " line12",
        " line13",
    ]
    assert diff.splitlines()[2] == "@@ -8,7 +8,7 @@"


def test_cluster_scoped_headers_skip_the_namespace() -> None:
    [change] = diff_objects(
        {("Namespace", "", "web"): ("ns", NS)}, {("Namespace", "", "web"): ("ns", NS_NEW)}
    )
    assert change.diff.startswith("--- a/Namespace/web\n+++ b/Namespace/web\n")
    assert "+  labels:\n+    team: core\n" in change.diff


def test_a_missing_final_newline_is_no_change() -> None:
    assert unified_diff(("ConfigMap", "a", "b"), "x: 1\n", "x: 1") == ""


def test_order_follows_layers_of_after_then_identity_with_removals_last() -> None:
    before = {
        ("ConfigMap", "a", "moved"): ("second", "v: 1\n"),
        ("ConfigMap", "a", "x-gone"): ("second", "v: 1\n"),
        ("ConfigMap", "a", "a-gone"): ("first", "v: 1\n"),
        ("Secret", "a", "b-gone"): ("first", "v: 1\n"),
    }
    after = {
        ("Service", "b", "s"): ("first", "v: 1\n"),
        ("ConfigMap", "z", "c"): ("second", "v: 1\n"),
        ("ConfigMap", "a", "moved"): ("third", "v: 2\n"),
        ("ConfigMap", "b", "c"): ("second", "v: 1\n"),
        ("ConfigMap", "a", "c"): ("first", "v: 1\n"),
    }
    changes = diff_objects(before, after)
    assert [(c.op, c.layer, c.kind, c.namespace, c.name) for c in changes] == [
        ("added", "first", "ConfigMap", "a", "c"),
        ("added", "first", "Service", "b", "s"),
        ("added", "second", "ConfigMap", "b", "c"),
        ("added", "second", "ConfigMap", "z", "c"),
        ("changed", "third", "ConfigMap", "a", "moved"),
        ("removed", "second", "ConfigMap", "a", "x-gone"),
        ("removed", "first", "ConfigMap", "a", "a-gone"),
        ("removed", "first", "Secret", "a", "b-gone"),
    ]


def test_identical_text_in_another_layer_is_not_listed() -> None:
    assert diff_objects({("A", "n", "x"): ("one", "t\n")}, {("A", "n", "x"): ("two", "t\n")}) == []


def test_nothing_to_compare() -> None:
    assert diff_objects({}, {}) == []


def test_changes_name_the_hook_types_of_hook_objects() -> None:
    before = {("Job", "ns", "gone"): ("a", "hook: post-install\n")}
    after = {
        ("Job", "ns", "migrate"): ("a", "hook: pre-install,pre-upgrade\n"),
        ("ConfigMap", "ns", "plain"): ("a", "data: {}\n"),
    }

    def hook_of(text: str) -> list[str]:
        return text.removeprefix("hook: ").strip().split(",") if text.startswith("hook") else []

    changes = {c.name: c.hook for c in diff_objects(before, after, hook_of)}
    assert changes == {
        "migrate": ["pre-install", "pre-upgrade"],
        "plain": None,
        "gone": ["post-install"],
    }
    assert all(c.hook is None for c in diff_objects(before, after))
