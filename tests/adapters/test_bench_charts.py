"""The benchmark charts of bench/charts: real-chart-sized, and rendered by the Helm engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from lamina.adapters.helm import HelmChart, HelmEngine, package_chart

BENCH_CHARTS = Path(__file__).resolve().parent.parent.parent / "bench" / "charts"
NAMES = ("edge-ingress", "node-metrics")
RELEASE, NAMESPACE = "edge", "ingress"
HOOK = "helm.sh/hook"

engine = HelmEngine()


@pytest.fixture(scope="module")
def charts() -> dict[str, HelmChart]:
    return {name: engine.load(package_chart(BENCH_CHARTS / name)) for name in NAMES}


def render(chart: HelmChart, values: dict[str, Any] | None = None) -> dict[str, str]:
    return dict(
        engine.render(
            chart,
            values=values or {},
            release=RELEASE,
            namespace=NAMESPACE,
            kube_version=None,
            api_versions=[],
        )
    )


def objects(files: dict[str, str]) -> list[dict[str, Any]]:
    return [body for text in files.values() for body in yaml.safe_load_all(text) if body]


def kinds(files: dict[str, str]) -> list[str]:
    return [str(body["kind"]) for body in objects(files)]


def size(files: dict[str, str]) -> int:
    return sum(len(text.encode()) for text in files.values())


def named(files: dict[str, str], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects(files) if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


@pytest.mark.parametrize("name", NAMES)
def test_lint_passes(name: str) -> None:
    report = helm_python.lint(BENCH_CHARTS / name, strict=True, namespace=NAMESPACE)
    assert report["errors"] == []
    assert report["messages"] == []


@pytest.mark.parametrize(("name", "least"), [("edge-ingress", 25_000), ("node-metrics", 5_000)])
def test_default_render_is_real_chart_sized_and_deterministic(
    name: str, least: int, charts: dict[str, HelmChart]
) -> None:
    first = render(charts[name])
    assert size(first) > least
    assert objects(render(charts[name])) == objects(first)
    assert render(charts[name]) == first
    # No template text in the defaults: the render service need not keep renders.
    assert not engine.may_vary(charts[name], {})


def test_edge_ingress_defaults(charts: dict[str, HelmChart]) -> None:
    files = render(charts["edge-ingress"])
    found = kinds(files)
    assert 20 <= len(found) <= 30
    for kind in (
        "Deployment",
        "ConfigMap",
        "Service",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "IngressClass",
        "ValidatingWebhookConfiguration",
        "ServiceMonitor",
        "PrometheusRule",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ):
        assert kind in found, kind
    assert "DaemonSet" not in found
    assert found.count("Service") == 4  # controller, metrics, admission, default backend
    hooks = {
        o["metadata"]["name"]: o["metadata"]["annotations"][HOOK]
        for o in objects(files)
        if o["kind"] == "Job"
    }
    assert hooks == {
        "edge-edge-ingress-admission-create": "pre-install,pre-upgrade",
        "edge-edge-ingress-admission-patch": "post-install,post-upgrade",
    }
    hooked = [o["kind"] for o in objects(files) if HOOK in (o["metadata"].get("annotations") or {})]
    rbac = ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]
    assert sorted(hooked) == sorted([*rbac, "NetworkPolicy", "Job", "Job"])
    controller = named(files, "Deployment", "edge-edge-ingress-controller")
    assert controller["metadata"]["namespace"] == NAMESPACE
    container = controller["spec"]["template"]["spec"]["containers"][0]
    assert "--publish-service=$(POD_NAMESPACE)/edge-edge-ingress-controller" in container["args"]
    assert "--enable-ssl-passthrough" in container["args"]
    assert container["image"].endswith("@" + controller_digest(charts["edge-ingress"]))
    assert named(files, "IngressClass", "edge")["spec"]["controller"] == "example.com/edge-ingress"


def controller_digest(chart: HelmChart) -> str:
    return str(engine.default_values(chart)["controller"]["image"]["digest"])


def test_edge_ingress_toggles(charts: dict[str, HelmChart]) -> None:
    chart = charts["edge-ingress"]
    daemons = render(chart, {"controller": {"kind": "DaemonSet"}})
    found = kinds(daemons)
    assert "DaemonSet" in found
    deployments = [o["metadata"]["name"] for o in objects(daemons) if o["kind"] == "Deployment"]
    assert deployments == ["edge-edge-ingress-defaultbackend"]  # no controller Deployment
    assert "replicas" not in named(daemons, "DaemonSet", "edge-edge-ingress-controller")["spec"]

    quiet = kinds(render(chart, {"controller": {"metrics": {"enabled": False}}}))
    assert "ServiceMonitor" not in quiet and "PrometheusRule" not in quiet

    ports = render(chart, {"tcp": {"5432": "db/postgres:5432"}, "udp": {"53": "dns/dns:53"}})
    assert named(ports, "ConfigMap", "edge-edge-ingress-tcp")["data"] == {
        "5432": "db/postgres:5432"
    }
    assert named(ports, "ConfigMap", "edge-edge-ingress-udp")["data"] == {"53": "dns/dns:53"}

    bare = kinds(
        render(
            chart,
            {
                "controller": {"admissionWebhooks": {"enabled": False}},
                "defaultBackend": {"enabled": False},
            },
        )
    )
    assert "ValidatingWebhookConfiguration" not in bare and "Job" not in bare
    assert len(bare) < len(kinds(render(chart)))


def test_node_metrics_defaults_and_toggles(charts: dict[str, HelmChart]) -> None:
    chart = charts["node-metrics"]
    files = render(chart)
    found = kinds(files)
    assert 6 <= len(found) <= 10
    for kind in ("DaemonSet", "Service", "ServiceAccount", "ServiceMonitor", "NetworkPolicy"):
        assert kind in found, kind
    assert "VerticalPodAutoscaler" not in found
    pod = named(files, "DaemonSet", "edge-node-metrics")["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True and pod["hostPID"] is True
    assert {v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v} >= {
        "/proc",
        "/sys",
        "/",
    }
    assert pod["containers"][0]["env"][1] == {"name": "NODE_ZONE", "value": "eu-1"}

    other = render(
        chart,
        {
            "zone": "us-7",
            "verticalPodAutoscaler": {"enabled": True},
            "prometheus": {"monitor": {"enabled": False}},
            "extraManifests": [
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                '  name: {{ include "node-metrics.fullname" . }}-extra\n'
                "data:\n  zone: {{ .Values.zone | quote }}\n"
            ],
        },
    )
    assert "VerticalPodAutoscaler" in kinds(other)
    assert "ServiceMonitor" not in kinds(other)
    assert named(other, "ConfigMap", "edge-node-metrics-extra")["data"] == {"zone": "us-7"}
    labels = named(other, "DaemonSet", "edge-node-metrics")["metadata"]["labels"]
    assert labels["topology.example.com/zone"] == "us-7"
