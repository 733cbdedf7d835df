"""Offline Kubernetes schema validation against the schemas kubernetes-validate ships."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest

from lamina.adapters import kubeschema
from lamina.adapters.kubeschema import KubeSchemaValidator
from lamina.domain.errors import InvalidInput

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "web"}},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "nginx:1.27",
                        "ports": [{"containerPort": 80}],
                        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                    }
                ]
            },
        },
    },
}
SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]},
}
CONFIG_MAP: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings"},
    "data": {"LOG_LEVEL": "debug"},
}
WIDGET: dict[str, Any] = {"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"size": 3}}


@pytest.fixture(scope="module")
def validator() -> KubeSchemaValidator:
    return KubeSchemaValidator()


@pytest.mark.parametrize("obj", [DEPLOYMENT, SERVICE, CONFIG_MAP], ids=lambda o: o["kind"])
@pytest.mark.parametrize("version", ["1.25.0", "v1.30.2", "1.37.1"])
def test_valid_objects_pass(
    validator: KubeSchemaValidator, obj: dict[str, Any], version: str
) -> None:
    assert validator.validate(obj, kube_version=version) == ([], True)


def test_wrong_types_and_unknown_fields_are_named_by_path(validator: KubeSchemaValidator) -> None:
    broken = copy.deepcopy(DEPLOYMENT)
    broken["spec"]["replicas"] = "three"
    broken["spec"]["replicaz"] = 2
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["imagePullPolice"] = "Always"
    container["ports"][0]["containerPort"] = "http"
    broken["metadata"]["labels"]["app.kubernetes.io/name"] = 5
    assert validator.validate(broken, kube_version="1.29.0") == (
        [
            "metadata.labels[\"app.kubernetes.io/name\"]: 5 is not of type 'string', 'null'",
            "spec.replicas: 'three' is not of type 'integer', 'null'",
            "spec.replicaz: unknown field",
            "spec.template.spec.containers[0].imagePullPolice: unknown field",
            "spec.template.spec.containers[0].ports[0].containerPort: "
            "'http' is not of type 'integer'",
        ],
        True,
    )


def test_problems_at_the_top_and_in_kind(validator: KubeSchemaValidator) -> None:
    config_map = {**CONFIG_MAP, "kind": "configmap", "extra": True}
    problems, known = validator.validate(config_map, kube_version="1.30")
    assert known
    assert problems == ["extra: unknown field", "kind: 'configmap' is not one of ['ConfigMap']"]


def test_many_problems_are_capped(validator: KubeSchemaValidator) -> None:
    noisy = {**CONFIG_MAP, **{f"field{n:02}": n for n in range(60)}}
    problems, _ = validator.validate(noisy, kube_version="1.30")
    assert len(problems) == kubeschema.MAX_PROBLEMS + 1
    assert problems[0] == "field00: unknown field"
    assert problems[-1] == "(object): 10 more problems not shown"


@pytest.mark.parametrize(
    "obj",
    [
        WIDGET,
        {**DEPLOYMENT, "apiVersion": "apps.example.com/v1"},
        {"apiVersion": "v1", "kind": "Affinity"},
        {"apiVersion": "v1", "kind": "../../etc/passwd"},
    ],
    ids=["crd", "same-kind-other-group", "not-a-top-level-kind", "path-like-kind"],
)
def test_unknown_kinds_are_unknown_not_failing(
    validator: KubeSchemaValidator, obj: dict[str, Any]
) -> None:
    assert validator.validate(obj, kube_version="1.30.0") == ([], False)


@pytest.mark.parametrize("obj", [{"kind": "ConfigMap"}, {"apiVersion": "v1", "kind": 3}, {}])
def test_objects_without_api_version_and_kind_are_problems(
    validator: KubeSchemaValidator, obj: dict[str, Any]
) -> None:
    problems, known = validator.validate(obj, kube_version="1.30.0")
    assert known
    assert problems == ["(object): a Kubernetes object needs string fields apiVersion and kind"]


def test_shipped_versions_are_sorted_minors() -> None:
    shipped = kubeschema.shipped_versions()
    assert {"1.29", "1.30"} <= set(shipped)
    assert list(shipped) == sorted(shipped, key=lambda v: tuple(map(int, v.split("."))))


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("1.29.0", "1.29"),
        ("v1.30.2", "1.30"),
        ("v1.29.3-eks-adc7111", "1.29"),
        ("1.30", "1.30"),
        ("1.99.0", "highest"),
        ("2.0.0", "highest"),
        ("1.10.0", "lowest"),
        ("0.9", "lowest"),
    ],
)
def test_version_mapping(requested: str, expected: str) -> None:
    shipped = kubeschema.shipped_versions()
    wanted = {"highest": shipped[-1], "lowest": shipped[0]}.get(expected, expected)
    assert kubeschema.schema_version(requested) == wanted


def test_a_missing_minor_maps_to_the_nearest_older_one(monkeypatch: pytest.MonkeyPatch) -> None:
    kubeschema.schema_version.cache_clear()
    monkeypatch.setattr(kubeschema, "_shipped", lambda: ((1, 25), (1, 27), (1, 30)))
    try:
        assert kubeschema.schema_version("1.26.4") == "1.25"
        assert kubeschema.schema_version("1.29.0") == "1.27"
        assert kubeschema.schema_version("1.24.0") == "1.25"
    finally:
        kubeschema.schema_version.cache_clear()


@pytest.mark.parametrize("requested", ["", "latest", "1", "v1.x", "1.30.0.0"])
def test_malformed_versions_are_invalid_input(requested: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        kubeschema.schema_version(requested)
    assert [issue.code for issue in caught.value.issues] == ["invalid_kube_version"]


def test_concurrent_first_use_gives_the_same_answers() -> None:
    broken = copy.deepcopy(DEPLOYMENT)
    broken["spec"]["replicas"] = "three"
    cases = [
        (obj, version)
        for obj in (DEPLOYMENT, SERVICE, broken, WIDGET)
        for version in (
            "1.28.0",
            "1.30.1",
        )
    ]
    expected = [KubeSchemaValidator().validate(obj, kube_version=v) for obj, v in cases]
    shared = KubeSchemaValidator()
    start = threading.Barrier(8)
    results: list[list[tuple[list[str], bool]]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            answers = [shared.validate(obj, kube_version=v) for _ in range(5) for obj, v in cases]
            results.append(answers)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 8
    assert all(answers == expected * 5 for answers in results)


# --- scope ---------------------------------------------------------------------------------

# Every resource kind of every shipped version that is namespaced (checked against the
# Kubernetes API reference): a new kind in the schemas fails the test until it is classified
# here or in kubeschema.CLUSTER_SCOPED.
NAMESPACED = {
    ("", "Binding"),
    ("", "ConfigMap"),
    ("", "Endpoints"),
    ("", "Event"),
    ("", "LimitRange"),
    ("", "PersistentVolumeClaim"),
    ("", "Pod"),
    ("", "PodTemplate"),
    ("", "ReplicationController"),
    ("", "ResourceQuota"),
    ("", "Secret"),
    ("", "Service"),
    ("", "ServiceAccount"),
    ("", "Status"),
    ("apps", "ControllerRevision"),
    ("apps", "DaemonSet"),
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"),
    ("authentication.k8s.io", "TokenRequest"),
    ("authorization.k8s.io", "LocalSubjectAccessReview"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("autoscaling", "Scale"),
    ("batch", "CronJob"),
    ("batch", "Job"),
    ("certificates.k8s.io", "PodCertificateRequest"),
    ("coordination.k8s.io", "Lease"),
    ("coordination.k8s.io", "LeaseCandidate"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("events.k8s.io", "Event"),
    ("lifecycle.k8s.io", "Eviction"),
    ("lifecycle.k8s.io", "EvictionRequest"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("policy", "Eviction"),
    ("policy", "PodDisruptionBudget"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("resource.k8s.io", "PodScheduling"),
    ("resource.k8s.io", "PodSchedulingContext"),
    ("resource.k8s.io", "ResourceClaim"),
    ("resource.k8s.io", "ResourceClaimParameters"),
    ("resource.k8s.io", "ResourceClaimTemplate"),
    ("resource.k8s.io", "ResourceClassParameters"),
    ("resource.k8s.io", "ResourcePoolStatusRequest"),
    ("resource.k8s.io", "Status"),
    ("scheduling.k8s.io", "CompositePodGroup"),
    ("scheduling.k8s.io", "PodGroup"),
    ("scheduling.k8s.io", "Workload"),
    ("storage.k8s.io", "CSIStorageCapacity"),
}


def shipped_resource_kinds() -> set[tuple[str, str]]:
    """(group, kind) of every definition with a group-version-kind and metadata, Lists aside."""
    found: set[tuple[str, str]] = set()
    root = kubeschema._schema_root()
    for folder in root.iterdir():
        if not folder.name.endswith("-local-strict"):
            continue
        definitions = kubeschema._read_json(folder / "_definitions.json")["$defs"]
        for name, schema in definitions.items():
            if "metadata" in schema.get("properties", {}) and not name.endswith("List"):
                gvks = schema.get("x-kubernetes-group-version-kind") or []
                found |= {(gvk["group"], gvk["kind"]) for gvk in gvks}
    return found


def test_every_shipped_kind_is_classified() -> None:
    shipped = shipped_resource_kinds()
    assert shipped >= kubeschema.CLUSTER_SCOPED
    assert shipped - kubeschema.CLUSTER_SCOPED == NAMESPACED


@pytest.mark.parametrize(
    ("api_version", "kind", "version", "namespaced"),
    [
        ("apps/v1", "Deployment", "1.31.0", True),
        ("v1", "Namespace", "1.31.0", False),
        ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "1.30.0", False),
        ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "1.29.0", None),
        ("gateway.networking.k8s.io/v1", "GatewayClass", "1.31.0", None),
        ("networking.example.com/v1", "Ingress", "1.31.0", None),
    ],
)
def test_namespaced_from_the_schemas(
    validator: KubeSchemaValidator,
    api_version: str,
    kind: str,
    version: str,
    namespaced: bool | None,
) -> None:
    assert validator.namespaced(api_version, kind, kube_version=version) is namespaced


WIDGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer", "minimum": 1},
                "colour": {"type": "string", "nullable": True},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        }
    },
}


def test_custom_resources_validate_against_their_crd_schema(
    validator: KubeSchemaValidator,
) -> None:
    good = {
        **WIDGET,
        "metadata": {"name": "w"},
        "spec": {"size": 3, "colour": None, "extra": {"anything": [1]}},
    }
    assert validator.validate_custom(good, WIDGET_SCHEMA) == []
    bad = {**WIDGET, "spec": {"size": 0, "shape": "round"}, "status": {}}
    assert validator.validate_custom(bad, WIDGET_SCHEMA) == [
        "spec.shape: unknown field",
        "spec.size: 0 is less than the minimum of 1",
        "status: unknown field",
    ]
