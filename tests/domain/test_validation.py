"""Profile document validation: every issue code, paths, document order and robustness."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamina.domain.errors import Issue
from lamina.domain.validation import Report, validate_document

Doc = dict[str, Any]
Edit = Callable[[Doc], None]

BASE_DOC: Doc = {
    "apiVersion": "lamina.dev/v1",
    "kind": "StackProfile",
    "metadata": {
        "name": "web-platform",
        "description": "Ingress and monitoring for web workloads",
        "category": "platform",
        "tags": ["web", "prod"],
        "visibility": "organisation",
        "version": 3,
        "channel": "stable",
        "changelog": "Bump ingress chart",
    },
    "spec": {
        "type": "add-on",
        "parameters": [
            {
                "name": "domain",
                "type": "string",
                "required": True,
                "pattern": "^[a-z0-9.-]+$",
                "description": "Public DNS zone",
            },
            {"name": "replicas", "type": "number", "default": 2},
            {"name": "tier", "type": "enum", "enum": ["dev", "prod"], "default": "dev"},
            {"name": "admin_password", "type": "secret", "required": True},
        ],
        "layers": [
            {
                "name": "ingress",
                "category": "ingress",
                "namespace": "ingress",
                "chart": {
                    "repository": "https://charts.example.com",
                    "name": "ingress-nginx",
                    "version": "4.15.1",
                },
                "values": {
                    "controller": {"replicaCount": "${{ params.replicas }}"},
                    "tier": "${{ params.tier }}",
                },
            },
            {
                "name": "dashboards",
                "category": "monitoring",
                "namespace": "monitoring",
                "dependsOn": ["ingress"],
                "manifests": [
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": "dash"},
                        "data": {"zone": "${{ params.domain }}"},
                    },
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": {"name": "admin"},
                        "stringData": {"password": "${{ params.admin_password }}"},
                    },
                ],
            },
            {"name": "base-platform", "profile": {"name": "base", "version": 2}},
            {"name": "patches", "kustomize": {"path": "overlays/prod"}},
        ],
    },
}

INFRA_LAYERS: list[dict[str, Any]] = [
    {"name": "node-os", "category": "os", "os": {"name": "flatcar", "version": "3975.2"}},
    {
        "name": "kube",
        "category": "k8s",
        "kubernetes": {"distribution": "k3s", "version": "1.30.2"},
    },
    {
        "name": "net",
        "category": "cni",
        "chart": {"repository": "cilium", "name": "cilium", "version": "^1.15"},
    },
    {
        "name": "storage",
        "category": "csi",
        "chart": {"repository": "oci://ghcr.io/csi", "name": "csi", "version": "2.x"},
    },
]


def valid_doc() -> Doc:
    return copy.deepcopy(BASE_DOC)


def full_doc() -> Doc:
    """A valid `full` profile: the four infra layers, then the add-on layers."""
    doc = valid_doc()
    doc["spec"]["type"] = "full"
    doc["spec"]["layers"] = copy.deepcopy(INFRA_LAYERS) + doc["spec"]["layers"]
    return doc


def at(doc: Any, keys: tuple[Any, ...]) -> Any:
    for key in keys:
        doc = doc[key]
    return doc


def put(*keys: Any, value: Any) -> Edit:
    def edit(doc: Doc) -> None:
        at(doc, keys[:-1])[keys[-1]] = value

    return edit


def drop(*keys: Any) -> Edit:
    def edit(doc: Doc) -> None:
        del at(doc, keys[:-1])[keys[-1]]

    return edit


def pairs(issues: list[Issue]) -> list[tuple[str, str]]:
    return [(issue.code, issue.path) for issue in issues]


L0, L1, L2, L3 = (("spec", "layers", i) for i in range(4))
P0, P1, P2, P3 = (("spec", "parameters", i) for i in range(4))

# (code, path, edit of the valid add-on document); each edit causes exactly that one error.
ERROR_CASES: list[tuple[str, str, Edit]] = [
    ("wrong_type", "metadata.tags[1]", put("metadata", "tags", 1, value=7)),
    ("wrong_type", "metadata.version", put("metadata", "version", value="3")),
    ("wrong_type", "spec.layers[0].values", put(*L0, "values", value=["x"])),
    ("wrong_type", "spec.layers[0].chart.version", put(*L0, "chart", "version", value=1.0)),
    ("wrong_type", "spec.parameters[0].required", put(*P0, "required", value="yes")),
    ("wrong_type", "spec.layers[1].dependsOn", put(*L1, "dependsOn", value="ingress")),
    ("wrong_type", "spec.layers[1].createNamespace", put(*L1, "createNamespace", value="no")),
    ("wrong_type", "spec.layers[3].kustomize", put(*L3, "kustomize", value="overlays/prod")),
    ("unknown_field", "metadata.owner", put("metadata", "owner", value="me")),
    ("unknown_field", "spec.layers[0].chart.url", put(*L0, "chart", "url", value="x")),
    ("unknown_field", "status", put("status", value={})),
    ("missing_field", "metadata.name", drop("metadata", "name")),
    ("missing_field", "spec.type", drop("spec", "type")),
    ("missing_field", "spec.layers", drop("spec", "layers")),
    ("missing_field", "spec.layers[0].chart.name", drop(*L0, "chart", "name")),
    ("missing_field", "spec.layers[2].profile.version", drop(*L2, "profile", "version")),
    ("missing_field", "spec.layers[3].kustomize", drop(*L3, "kustomize", "path")),
    ("invalid_value", "apiVersion", put("apiVersion", value="lamina.dev/v2")),
    ("invalid_value", "kind", put("kind", value="Profile")),
    ("invalid_value", "metadata.visibility", put("metadata", "visibility", value="private")),
    ("invalid_value", "metadata.version", put("metadata", "version", value=0)),
    ("invalid_value", "metadata.channel", put("metadata", "channel", value="Stable!")),
    ("invalid_value", "spec.type", put("spec", "type", value="addon")),
    ("invalid_value", "spec.parameters[1].type", put(*P1, "type", value="integer")),
    ("invalid_value", "spec.layers[2].profile.version", put(*L2, "profile", "version", value=0)),
    ("wrong_type", "spec.layers[3].kustomize.bases", put(*L3, "kustomize", "bases", value="x")),
    (
        "unknown_dependency",
        "spec.layers[3].kustomize.bases[0]",
        put(*L3, "kustomize", "bases", value=["nowhere"]),
    ),
    ("invalid_name", "metadata.name", put("metadata", "name", value="Web_Platform")),
    ("invalid_name", "spec.layers[3].name", put(*L3, "name", value="-patches")),
    (
        "invalid_name",
        "spec.parameters[4].name",
        lambda doc: doc["spec"]["parameters"].append({"name": "bad-name", "type": "string"}),
    ),
    ("invalid_name", "spec.layers[2].profile.name", put(*L2, "profile", "name", value="Base")),
    ("duplicate_name", "spec.layers[3].name", put(*L3, "name", value="base-platform")),
    (
        "duplicate_name",
        "spec.parameters[4].name",
        lambda doc: doc["spec"]["parameters"].append({"name": "tier", "type": "string"}),
    ),
    ("layer_source_missing", "spec.layers[3]", drop(*L3, "kustomize")),
    ("layer_source_conflict", "spec.layers[2]", put(*L2, "kustomize", value={"path": "x"})),
    ("invalid_manifest", "spec.layers[1].manifests[0]", drop(*L1, "manifests", 0, "kind")),
    (
        "invalid_manifest",
        "spec.layers[1].manifests[1]",
        put(*L1, "manifests", 1, "metadata", value={"labels": {}}),
    ),
    (
        "invalid_manifest",
        "spec.layers[3].kustomize.resources[0]",
        put(*L3, "kustomize", value={"resources": [{"kind": "Namespace"}], "patches": []}),
    ),
    (
        "invalid_chart_version",
        "spec.layers[0].chart.version",
        put(*L0, "chart", "version", value="latest"),
    ),
    (
        "invalid_repository",
        "spec.layers[0].chart.repository",
        put(*L0, "chart", "repository", value="ftp://charts.io"),
    ),
    ("invalid_namespace", "spec.layers[0].namespace", put(*L0, "namespace", value="Ingress")),
    (
        "descriptor_not_allowed",
        "spec.layers[3].os",
        lambda doc: doc["spec"]["layers"][3].update(
            kustomize=None, os={"name": "flatcar", "version": "1"}
        ),
    ),
    ("enum_without_values", "spec.parameters[2].enum", put(*P2, "enum", value=[])),
    ("enum_without_values", "spec.parameters[2].enum", drop(*P2, "enum")),
    ("default_not_in_enum", "spec.parameters[2].default", put(*P2, "default", value="qa")),
    ("default_wrong_type", "spec.parameters[1].default", put(*P1, "default", value="2")),
    ("default_wrong_type", "spec.parameters[1].default", put(*P1, "default", value=True)),
    (
        "default_pattern_mismatch",
        "spec.parameters[0].default",
        put(*P0, "default", value="Example.COM"),
    ),
    ("invalid_pattern", "spec.parameters[0].pattern", put(*P0, "pattern", value="([a-z")),
    ("secret_with_default", "spec.parameters[3].default", put(*P3, "default", value="hunter2")),
    (
        "unknown_parameter",
        "spec.layers[0].values.controller.replicaCount",
        put(*L0, "values", "controller", "replicaCount", value="${{ params.replica }}"),
    ),
    (
        "invalid_reference",
        "spec.layers[1].manifests[0].data.zone",
        put(*L1, "manifests", 0, "data", "zone", value="${{ params.domain }}.${{ env.HOME }}"),
    ),
    (
        "unknown_dependency",
        "spec.layers[1].dependsOn[1]",
        put(*L1, "dependsOn", value=["ingress", "ingres"]),
    ),
    ("dependency_cycle", "spec.layers[0].dependsOn", put(*L0, "dependsOn", value=["dashboards"])),
    ("dependency_cycle", "spec.layers[3].dependsOn", put(*L3, "dependsOn", value=["patches"])),
    ("infra_layer_not_allowed", "spec.layers[0].category", put(*L0, "category", value="cni")),
]


def test_valid_full_example_has_no_errors_nor_warnings() -> None:
    result = validate_document(valid_doc())
    assert result.errors == []
    assert result.warnings == []
    assert result.valid


def test_valid_full_profile_with_infra_stack() -> None:
    assert validate_document(full_doc()).errors == []


@pytest.mark.parametrize(
    ("code", "path", "edit"), ERROR_CASES, ids=[f"{c}:{p}" for c, p, _ in ERROR_CASES]
)
def test_each_error_code(code: str, path: str, edit: Edit) -> None:
    doc = valid_doc()
    edit(doc)
    result = validate_document(doc)
    assert pairs(result.errors) == [(code, path)]
    assert not result.valid
    assert all(issue.message for issue in result.errors)


@pytest.mark.parametrize("doc", [None, [], "apiVersion: x", 3, True])
def test_non_mapping_document_is_wrong_type(doc: Any) -> None:
    assert pairs(validate_document(doc).errors) == [("wrong_type", "")]


def test_chart_version_number_suggests_quoting() -> None:
    doc = valid_doc()
    doc["spec"]["layers"][0]["chart"]["version"] = 1.0
    (issue,) = validate_document(doc).errors
    assert "quote" in issue.message


def test_dependency_cycle_message_lists_the_cycle() -> None:
    doc = valid_doc()
    doc["spec"]["layers"][0]["dependsOn"] = ["dashboards"]
    (issue,) = validate_document(doc).errors
    assert "ingress -> dashboards -> ingress" in issue.message


def test_self_dependency_is_a_cycle() -> None:
    doc = valid_doc()
    doc["spec"]["layers"][3]["dependsOn"] = ["patches"]
    (issue,) = validate_document(doc).errors
    assert "patches -> patches" in issue.message


def test_disjoint_cycles_are_each_reported() -> None:
    doc = valid_doc()
    layers = doc["spec"]["layers"]
    layers[0]["dependsOn"], layers[1]["dependsOn"] = ["dashboards"], ["ingress"]
    layers[2]["dependsOn"], layers[3]["dependsOn"] = ["patches"], ["base-platform"]
    assert [i.code for i in validate_document(doc).errors] == ["dependency_cycle"] * 2


# (code, path, edit of the valid full document)
INFRA_CASES: list[tuple[str, str, Edit]] = [
    ("missing_infra_layer", "spec.layers", drop("spec", "layers", 2)),
    ("duplicate_infra_layer", "spec.layers[5].category", put(*L0[:2], 5, "category", value="cni")),
    (
        "infra_layer_order",
        "spec.layers[1]",
        lambda doc: doc["spec"]["layers"].insert(0, doc["spec"]["layers"].pop(1)),
    ),
]


def test_every_infra_layer_after_an_add_on_is_out_of_order() -> None:
    doc = full_doc()
    doc["spec"]["layers"].insert(0, doc["spec"]["layers"].pop(4))
    result = validate_document(doc)
    assert pairs(result.errors) == [
        ("infra_layer_order", f"spec.layers[{i}]") for i in (1, 2, 3, 4)
    ]
    assert "before every add-on layer, but follows 'ingress'" in result.errors[0].message


@pytest.mark.parametrize(
    ("code", "path", "edit"), INFRA_CASES, ids=[f"{c}:{p}" for c, p, _ in INFRA_CASES]
)
def test_infra_stack_rules(code: str, path: str, edit: Edit) -> None:
    doc = full_doc()
    edit(doc)
    assert pairs(validate_document(doc).errors) == [(code, path)]


def test_infra_profile_without_layers_misses_all_four() -> None:
    doc = valid_doc()
    doc["spec"].update(type="infra", layers=[], parameters=[])
    result = validate_document(doc)
    assert pairs(result.errors) == [("missing_infra_layer", "spec.layers")] * 4
    assert pairs(result.warnings) == [("empty_profile", "spec.layers")]


def test_descriptors_are_allowed_on_their_own_category_only() -> None:
    doc = full_doc()
    doc["spec"]["layers"][1]["category"] = "os"
    codes = pairs(validate_document(doc).errors)
    assert ("descriptor_not_allowed", "spec.layers[1].kubernetes") in codes


NESTED_BASE = {("base", 2): [("shared", 1)], ("shared", 1): []}


@pytest.mark.parametrize(
    ("nested", "code"),
    [
        ({}, "nested_profile_not_found"),
        ({("base", 2): None}, "nested_profile_not_found"),
        ({("base", 2): [("web-platform", 1)], ("web-platform", 1): []}, "nested_profile_cycle"),
        (
            {("base", 2): [("shared", 1)], ("shared", 1): [("web-platform", 2)]},
            "nested_profile_cycle",
        ),
    ],
)
def test_nested_profile_checks(nested: Any, code: str) -> None:
    result = validate_document(valid_doc(), nested=nested)
    assert pairs(result.errors) == [(code, "spec.layers[2].profile")]


def test_nested_cycle_message_shows_the_chain() -> None:
    nested = {("base", 2): [("shared", 1)], ("shared", 1): [("web-platform", 2)]}
    (issue,) = validate_document(valid_doc(), nested=nested).errors
    assert "web-platform -> base@2 -> shared@1 -> web-platform@2" in issue.message


def test_nested_checks_pass_with_a_sound_graph_and_are_skipped_without_one() -> None:
    assert validate_document(valid_doc(), nested=NESTED_BASE).errors == []
    assert validate_document(valid_doc(), nested=None).errors == []


def test_direct_self_inclusion_needs_no_store() -> None:
    doc = valid_doc()
    doc["spec"]["layers"][2]["profile"]["name"] = "web-platform"
    assert pairs(validate_document(doc).errors) == [
        ("nested_profile_cycle", "spec.layers[2].profile")
    ]


def test_unused_parameter_is_a_warning_at_the_parameter() -> None:
    doc = valid_doc()
    doc["spec"]["layers"][0]["values"].pop("tier")
    result = validate_document(doc)
    assert result.valid
    assert pairs(result.warnings) == [("unused_parameter", "spec.parameters[2]")]


def test_empty_layers_is_valid_with_a_warning() -> None:
    doc = valid_doc()
    doc["spec"].update(layers=[], parameters=[])
    result = validate_document(doc)
    assert result.valid
    assert pairs(result.warnings) == [("empty_profile", "spec.layers")]


def test_cluster_references_and_escapes_are_fine() -> None:
    doc = valid_doc()
    doc["spec"]["layers"][0]["values"]["cluster"] = "${{ cluster.name }}-$${{ literal }}"
    assert validate_document(doc).errors == []


def test_accepted_repositories_and_versions() -> None:
    doc = valid_doc()
    chart = doc["spec"]["layers"][0]["chart"]
    for repository in ("http://charts.local:8080/x", "oci://ghcr.io/org/charts", "bitnami"):
        for version in ("^4.15", ">=1.0 <2.0", "4.x", "1.2.3-rc.1", "~1.2 || 2.x"):
            chart.update(repository=repository, version=version)
            assert validate_document(doc).errors == [], (repository, version)


def test_several_problems_are_all_reported_in_document_order() -> None:
    doc = valid_doc()
    doc["kind"] = "Nope"
    doc["metadata"]["name"] = "Bad Name"
    doc["spec"]["parameters"][1]["default"] = "two"
    doc["spec"]["layers"][0]["chart"]["version"] = "latest"
    doc["spec"]["layers"][0]["values"]["controller"]["replicaCount"] = "${{ params.nope }}"
    doc["spec"]["layers"][1]["dependsOn"] = ["ghost"]
    doc["spec"]["layers"][1]["manifests"][0] = {"kind": "ConfigMap"}
    doc["spec"]["layers"][3]["chart"] = {"name": "x", "version": "1.0.0"}
    result = validate_document(doc)
    assert pairs(result.errors) == [
        ("invalid_value", "kind"),
        ("invalid_name", "metadata.name"),
        ("default_wrong_type", "spec.parameters[1].default"),
        ("invalid_chart_version", "spec.layers[0].chart.version"),
        ("unknown_parameter", "spec.layers[0].values.controller.replicaCount"),
        ("unknown_dependency", "spec.layers[1].dependsOn[0]"),
        ("invalid_manifest", "spec.layers[1].manifests[0]"),
        ("layer_source_conflict", "spec.layers[3]"),
    ]
    # The replaced manifest and value held the only uses of `domain` and `replicas`.
    assert pairs(result.warnings) == [
        ("unused_parameter", "spec.parameters[0]"),
        ("unused_parameter", "spec.parameters[1]"),
    ]


def test_a_bad_layer_does_not_hide_the_next_one() -> None:
    doc = valid_doc()
    doc["spec"]["layers"][0] = "ingress"
    doc["spec"]["layers"][1]["namespace"] = "Mon"
    assert pairs(validate_document(doc).errors) == [
        ("wrong_type", "spec.layers[0]"),
        ("invalid_namespace", "spec.layers[1].namespace"),
        ("unknown_dependency", "spec.layers[1].dependsOn[0]"),
    ]


def test_null_optional_fields_count_as_absent() -> None:
    doc = valid_doc()
    doc["metadata"]["description"] = None
    doc["spec"]["parameters"][1]["default"] = None
    assert validate_document(doc).errors == []


def test_report_as_dict() -> None:
    doc = valid_doc()
    doc["apiVersion"] = "v1"
    doc["spec"]["layers"][0]["values"].pop("tier")
    data = validate_document(doc).as_dict()
    assert data["valid"] is False
    assert [e["code"] for e in data["errors"]] == ["invalid_value"]
    assert data["warnings"][0] == {
        "path": "spec.parameters[2]",
        "code": "unused_parameter",
        "message": "parameter 'tier' is declared but no layer refers to it",
    }


# ---- robustness -------------------------------------------------------------------------

FIELD_NAMES = [
    "apiVersion",
    "kind",
    "metadata",
    "spec",
    "name",
    "type",
    "layers",
    "parameters",
    "chart",
    "manifests",
    "kustomize",
    "profile",
    "os",
    "kubernetes",
    "category",
    "dependsOn",
    "values",
    "version",
    "enum",
    "default",
    "pattern",
    "resources",
    "path",
    "repository",
    "namespace",
    "required",
]
SPECIAL_TEXT = st.sampled_from(
    [
        "os",
        "k8s",
        "cni",
        "csi",
        "enum",
        "secret",
        "full",
        "infra",
        "add-on",
        "${{ params.x }}",
        "${{ bad",
        "([",
        "^1.2",
        "lamina.dev/v1",
        "StackProfile",
        "web-platform",
        "base",
        "",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=8)
    | SPECIAL_TEXT
)
KEYS = st.sampled_from(FIELD_NAMES) | st.text(max_size=5) | st.integers(-2, 2)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)
NESTED = st.none() | st.dictionaries(
    st.tuples(st.sampled_from(["base", "web-platform", "x"]), st.integers(1, 3)),
    st.none() | st.lists(st.tuples(st.sampled_from(["base", "web-platform"]), st.integers(1, 3))),
)


def _subtree_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            paths += _subtree_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            paths += _subtree_paths(value, (*prefix, index))
    return paths


SUBTREES = [p for p in _subtree_paths(full_doc()) if p]


def _check_report(result: Report) -> None:
    assert isinstance(result, Report)
    for issue in [*result.errors, *result.warnings]:
        assert isinstance(issue.path, str) and issue.code and issue.message
    result.as_dict()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(doc=JSON, nested=NESTED)
def test_arbitrary_values_never_raise(doc: Any, nested: Any) -> None:
    _check_report(validate_document(doc, nested=nested))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(where=st.sampled_from(SUBTREES), value=JSON, nested=NESTED)
def test_valid_doc_with_a_random_subtree_never_raises(
    where: tuple[Any, ...], value: Any, nested: Any
) -> None:
    doc = full_doc()
    at(doc, where[:-1])[where[-1]] = value
    _check_report(validate_document(doc, nested=nested))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=st.fixed_dictionaries({"apiVersion": JSON, "kind": JSON, "metadata": JSON, "spec": JSON})
)
def test_arbitrary_sections_never_raise(doc: Any) -> None:
    _check_report(validate_document(doc))


def test_deeply_nested_values_do_not_overflow() -> None:
    doc = valid_doc()
    deep: Any = "${{ params.replicas }}"
    for _ in range(5000):
        deep = {"a": [deep]}
    doc["spec"]["layers"][0]["values"]["deep"] = deep
    assert validate_document(doc).errors == []
