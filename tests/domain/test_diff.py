"""Spec diffs: name matching of layers and parameters, manifests, ordering and output order."""

from __future__ import annotations

import copy
from typing import Any

from lamina.domain.diff import Change, diff_specs

SPEC: dict[str, Any] = {
    "type": "add-on",
    "parameters": [
        {"name": "domain", "type": "string", "required": True},
        {"name": "replicas", "type": "number", "default": 2},
    ],
    "layers": [
        {
            "name": "ingress",
            "category": "ingress",
            "chart": {
                "repository": "https://charts.example.com",
                "name": "nginx",
                "version": "4.15.1",
            },
            "values": {"controller": {"replicaCount": "${{ params.replicas }}"}},
        },
        {
            "name": "dashboards",
            "category": "monitoring",
            "dependsOn": ["ingress"],
            "manifests": [
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dash"}},
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "dash", "namespace": "mon"},
                    "data": {"a": "1"},
                },
            ],
        },
        {"name": "patches", "kustomize": {"path": "overlays/prod"}},
    ],
}


def spec() -> dict[str, Any]:
    return copy.deepcopy(SPEC)


def test_identical_specs_have_no_changes() -> None:
    assert diff_specs(spec(), spec()) == []


def test_reordered_layers_and_one_changed_value() -> None:
    new = spec()
    new["layers"].reverse()
    new["layers"][2]["chart"]["version"] = "4.16.0"
    assert diff_specs(spec(), new) == [
        Change(
            "spec.layers",
            "changed",
            ["ingress", "dashboards", "patches"],
            ["patches", "dashboards", "ingress"],
        ),
        Change("spec.layers[ingress].chart.version", "changed", "4.15.1", "4.16.0"),
    ]


def test_added_and_removed_layers_and_parameters() -> None:
    new = spec()
    removed_layer = new["layers"].pop(2)
    added_layer = {"name": "cache", "chart": {"name": "redis", "version": "^18"}}
    new["layers"].insert(1, added_layer)
    removed_param = new["parameters"].pop(0)
    added_param = {"name": "tier", "type": "enum", "enum": ["dev", "prod"]}
    new["parameters"].append(added_param)
    new["parameters"][0]["default"] = 3
    assert diff_specs(spec(), new) == [
        Change("spec.parameters[replicas].default", "changed", 2, 3),
        Change("spec.parameters[tier]", "added", None, added_param),
        Change("spec.parameters[domain]", "removed", removed_param, None),
        Change("spec.layers[cache]", "added", None, added_layer),
        Change("spec.layers[patches]", "removed", removed_layer, None),
    ]


def test_inserting_a_layer_is_not_a_reorder() -> None:
    new = spec()
    new["layers"].insert(0, {"name": "first", "manifests": []})
    assert [c.op for c in diff_specs(spec(), new)] == ["added"]


def test_mapping_keys_added_removed_and_nested_changes() -> None:
    new = spec()
    ingress = new["layers"][0]
    ingress["namespace"] = "ingress"
    del ingress["category"]
    ingress["values"]["controller"]["replicaCount"] = 3
    assert diff_specs(spec(), new) == [
        Change(
            "spec.layers[ingress].values.controller.replicaCount",
            "changed",
            "${{ params.replicas }}",
            3,
        ),
        Change("spec.layers[ingress].namespace", "added", None, "ingress"),
        Change("spec.layers[ingress].category", "removed", "ingress", None),
    ]


def test_manifests_are_matched_by_kind_namespace_and_name() -> None:
    new = spec()
    manifests = new["layers"][1]["manifests"]
    manifests.reverse()
    manifests[0]["data"]["a"] = "2"
    manifests.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "dash"}})
    changes = diff_specs(spec(), new)
    assert changes == [
        Change(
            "spec.layers[dashboards].manifests",
            "changed",
            ["ConfigMap/dash", "Secret/mon/dash"],
            ["Secret/mon/dash", "ConfigMap/dash", "Service/dash"],
        ),
        Change("spec.layers[dashboards].manifests[Secret/mon/dash].data.a", "changed", "1", "2"),
        Change("spec.layers[dashboards].manifests[Service/dash]", "added", None, manifests[2]),
    ]


def test_manifests_with_repeated_keys_are_compared_by_position() -> None:
    old = spec()
    old["layers"][1]["manifests"][1] = {"kind": "ConfigMap", "metadata": {"name": "dash"}}
    new = copy.deepcopy(old)
    new["layers"][1]["manifests"][1]["metadata"]["labels"] = {"a": "b"}
    new["layers"][1]["manifests"].append("not-an-object")
    assert diff_specs(old, new) == [
        Change("spec.layers[dashboards].manifests[1].metadata.labels", "added", None, {"a": "b"}),
        Change("spec.layers[dashboards].manifests[2]", "added", None, "not-an-object"),
    ]


def test_other_lists_compare_as_whole_values() -> None:
    new = spec()
    new["layers"][1]["dependsOn"] = ["ingress", "patches"]
    assert diff_specs(spec(), new) == [
        Change("spec.layers[dashboards].dependsOn", "changed", ["ingress"], ["ingress", "patches"])
    ]


def test_layers_without_unique_names_fall_back_to_positions() -> None:
    old = {"layers": [{"name": "a"}, {"name": "a"}]}
    new = {"layers": [{"name": "a"}, {"name": "b"}]}
    assert diff_specs(old, new) == [Change("spec.layers[1].name", "changed", "a", "b")]


def test_whole_list_replaced_by_other_type() -> None:
    old, new = spec(), spec()
    new["layers"] = {}
    assert diff_specs(old, new) == [Change("spec.layers", "changed", old["layers"], {})]


def test_types_are_told_apart() -> None:
    old = {"a": 1, "b": 1, "c": 0, "d": [1], "e": float("nan")}
    new = {"a": True, "b": 1.0, "c": 0, "d": [True], "e": float("nan")}
    assert [c.path for c in diff_specs(old, new)] == ["spec.a", "spec.b", "spec.d"]


def test_base_path_and_quoted_keys() -> None:
    changes = diff_specs({"x y": 1, 2: "a"}, {"x y": 2, 2: "b"}, base="")
    assert [c.path for c in changes] == ['["x y"]', '["2"]']


def test_change_as_dict() -> None:
    change = Change("spec.type", "changed", "add-on", "full")
    assert change.as_dict() == {
        "path": "spec.type",
        "op": "changed",
        "from": "add-on",
        "to": "full",
    }
