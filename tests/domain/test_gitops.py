"""GitOps layouts: folder and file names, golden trees of both modes, a real kustomize build,
no secret values in lamina.yaml, and the Flux dependsOn chain."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lamina.adapters import yamlio
from lamina.adapters.yamlio import dump
from lamina.domain import scope
from lamina.domain.gitops import (
    AddonRecord,
    ChartRelease,
    LayerOutput,
    flux_tree,
    kustomization_name,
    layer_folder,
    object_file,
    object_files,
    release_name,
    rendered_tree,
    repository_name,
)

GOLDEN = Path(__file__).parent.parent / "golden" / "gitops"
KUBECTL = "/usr/bin/kubectl"
SECRET_VALUES = ("hunter2-admin-pass", "s3cr3t-grafana-token")

# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "name", "folder"),
    [
        (0, "ingress", "01-ingress"),
        (8, "web-platform/ingress", "09-web-platform.ingress"),
        (41, "a/b/c", "42-a.b.c"),
        (98, "x", "99-x"),
        (99, "x", "100-x"),
        (2, "Odd Name_x!", "03-odd-name-x-"),
    ],
)
def test_layer_folder(index: int, name: str, folder: str) -> None:
    assert layer_folder(index, name) == folder


def test_layer_folder_refuses_a_negative_index() -> None:
    with pytest.raises(ValueError):
        layer_folder(-1, "x")


def obj(kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": "v1", "kind": kind, "metadata": metadata}


@pytest.mark.parametrize(
    ("body", "file"),
    [
        (obj("Deployment", "web", "ingress"), "ingress.deployment-web.yaml"),
        (obj("ClusterRole", "viewer"), "clusterrole-viewer.yaml"),
        (obj("ClusterRole", "system:aggregate"), "clusterrole-system-aggregate.yaml"),
        (obj("ConfigMap", "web", ""), "configmap-web.yaml"),
        ({"kind": "ConfigMap"}, "configmap-.yaml"),
    ],
)
def test_object_file(body: dict[str, Any], file: str) -> None:
    assert object_file(body) == file


def test_object_files_are_unique_within_a_folder() -> None:
    objects = [
        obj("Role", "a:b", "ns"),
        obj("Role", "a-b", "ns"),
        obj("Role", "a-b-2", "ns"),
        obj("Role", "a_b", "ns"),
        obj("Role", "a-b", "other"),
    ]
    assert object_files(objects) == [
        "ns.role-a-b.yaml",
        "ns.role-a-b-2.yaml",
        "ns.role-a-b-2-2.yaml",
        "ns.role-a-b-3.yaml",
        "other.role-a-b.yaml",
    ]


def test_object_files_never_take_the_kustomization_name() -> None:
    assert object_files([{"kind": "Kustomization", "metadata": {"name": ""}}]) == [
        "kustomization-.yaml"
    ]
    assert object_files([]) == []


def test_flux_names() -> None:
    assert release_name("web-platform/ingress") == "web-platform-ingress"
    assert release_name("a" * 52 + "/b") == "a" * 52
    assert repository_name("https://charts.example.com/stable/") == "charts-example-com-stable"
    assert repository_name("oci://ghcr.io/acme/charts") == "oci-ghcr-io-acme-charts"
    assert repository_name("http://Charts.Local:8080") == "http-charts-local-8080"
    long_url = "https://charts.example.com/" + "deep/" * 30
    assert len(repository_name(long_url)) <= 63
    assert repository_name(long_url) != repository_name(long_url + "x")
    assert kustomization_name("EU_1", "01-web") == "eu-1-01-web"
    assert len(kustomization_name("c" * 40, "01-" + "x" * 40)) <= 63


# --- the example stack -------------------------------------------------------------------


def addons() -> list[AddonRecord]:
    return [
        AddonRecord(
            profile="web-platform",
            profile_id=7,
            version=3,
            bindings={"replicas": 2, "domain": "shop.example.com"},
            secrets=["admin_password"],
        ),
        AddonRecord(
            profile="observability",
            profile_id=9,
            version=1,
            # A careless caller left a secret value among the bindings: never written.
            bindings={"retention": "15d", "grafana_token": SECRET_VALUES[1]},
            secrets=["grafana_token"],
        ),
    ]


def web_layers() -> list[LayerOutput]:
    chart = ChartRelease(
        repository_url="https://charts.example.com/stable",
        chart="ingress-nginx",
        version="4.15.1",
        values={"controller": {"replicaCount": 2, "host": "shop.example.com"}},
        secret_values=[("controller.admin.password", "admin_password")],
        secret_name="lamina-web-platform",
        release="ingress",
    )
    rendered = [
        obj("ServiceAccount", "web-platform-ingress", "ingress"),
        {
            **obj("Deployment", "web-platform-ingress", "ingress"),
            "apiVersion": "apps/v1",
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c"}]}}},
        },
        obj("ClusterRole", "web-platform-ingress"),
    ]
    manifests = [
        {**obj("ConfigMap", "shop-settings"), "data": {"zone": "shop.example.com"}},
        {**obj("Secret", "admin"), "stringData": {"password": "${lamina_secret_admin_password}"}},
        obj("Role", "reader:all"),
        obj("Role", "reader-all"),
        {**obj("ConfigMap", "shared", "monitoring"), "data": {"a": "1"}},
    ]
    return [
        LayerOutput("web-platform/ingress", "ingress", rendered, chart=chart),
        LayerOutput("web-platform/dashboards", "web", manifests, secret_name="lamina-web-platform"),
        LayerOutput("web-platform/os", "default", []),
    ]


def observability_layers() -> list[LayerOutput]:
    chart = ChartRelease(
        repository_url="oci://ghcr.io/acme/charts",
        chart="grafana",
        version="8.5.0",
        values={},
        secret_values=[],
        secret_name="lamina-observability",
        release="grafana",
    )
    return [
        LayerOutput(
            "observability/grafana",
            "monitoring",
            [obj("Service", "observability-grafana", "monitoring")],
            chart=chart,
        ),
        LayerOutput(
            "observability/alerts",
            "monitoring",
            [{**obj("ConfigMap", "alerts"), "data": {"rule": "up == 0"}}],
        ),
        LayerOutput("observability/k8s", "monitoring", []),
    ]


def layers() -> list[LayerOutput]:
    return web_layers() + observability_layers()


def rendered() -> dict[str, str]:
    return rendered_tree(cluster="eu-1", addons=addons(), layers=layers(), dump=dump)


def flux() -> dict[str, str]:
    return flux_tree(
        cluster="eu-1",
        addons=addons(),
        layers=layers(),
        dump=dump,
        root="clusters/eu-1",
    )


def check_golden(tree: dict[str, str], mode: str, request: pytest.FixtureRequest) -> None:
    folder = GOLDEN / mode
    if request.config.getoption("--update-golden"):
        shutil.rmtree(folder, ignore_errors=True)
        write_tree(folder, tree)
    assert folder.is_dir(), f"{folder} is missing: run pytest with --update-golden"
    on_disk = {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}
    assert sorted(on_disk) == sorted(tree)
    for path, text in tree.items():
        assert text == on_disk[path], f"{path} differs from its golden file"


def write_tree(folder: Path, tree: dict[str, str]) -> None:
    for path, text in tree.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def kustomize(folder: Path) -> list[dict[str, Any]]:
    if not Path(KUBECTL).is_file():
        pytest.skip(f"{KUBECTL} is not installed")
    result = subprocess.run(
        [KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return [o for o in yamlio.load_all(result.stdout) if isinstance(o, dict)]


def identities(objects: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    keys = [(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objects]
    return sorted(keys)


# --- rendered mode -----------------------------------------------------------------------


def test_rendered_tree_matches_golden(request: pytest.FixtureRequest) -> None:
    check_golden(rendered(), "rendered", request)


def test_rendered_tree_is_deterministic() -> None:
    assert list(rendered().items()) == list(rendered().items())


def test_rendered_layout() -> None:
    tree = rendered()
    top = yamlio.load(tree["kustomization.yaml"])
    assert top == {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [
            "00-cluster",
            "01-web-platform.ingress",
            "02-web-platform.dashboards",
            "03-web-platform.os",
            "04-observability.grafana",
            "05-observability.alerts",
            "06-observability.k8s",
        ],
    }
    dashboards = yamlio.load(tree["02-web-platform.dashboards/kustomization.yaml"])
    assert dashboards["resources"] == [
        "web.configmap-shop-settings.yaml",
        "web.secret-admin.yaml",
        "web.role-reader-all.yaml",
        "web.role-reader-all-2.yaml",
        "monitoring.configmap-shared.yaml",
    ]
    for resource in dashboards["resources"]:
        assert f"02-web-platform.dashboards/{resource}" in tree
    assert yamlio.load(tree["03-web-platform.os/kustomization.yaml"])["resources"] == []
    assert "03-web-platform.os/kustomization.yaml" in tree


def test_rendered_objects_get_their_layer_namespace() -> None:
    tree = rendered()
    settings = yamlio.load(tree["02-web-platform.dashboards/web.configmap-shop-settings.yaml"])
    assert settings["metadata"] == {"name": "shop-settings", "namespace": "web"}
    role = yamlio.load(tree["01-web-platform.ingress/clusterrole-web-platform-ingress.yaml"])
    assert "namespace" not in role["metadata"]


def test_inputs_are_not_modified() -> None:
    given = layers()
    before = repr(given)
    rendered_tree(cluster="eu-1", addons=addons(), layers=given, dump=dump)
    flux_tree(cluster="eu-1", addons=addons(), layers=given, dump=dump)
    assert repr(given) == before


def test_kubectl_kustomize_builds_the_rendered_tree(tmp_path: Path) -> None:
    write_tree(tmp_path / "eu-1", rendered())
    built = kustomize(tmp_path / "eu-1")
    expected = []
    for layer in layers():
        for body in layer.objects:
            metadata = body["metadata"]
            namespace = "" if body["kind"] == "ClusterRole" else layer.namespace
            expected.append(
                (body["kind"], metadata.get("namespace") or namespace, metadata["name"])
            )
    expected += [("Namespace", "", name) for name in ("ingress", "monitoring", "web")]
    assert identities(built) == sorted(expected)
    assert len(built) == 13
    assert [o["kind"] for o in built[:3]] == ["Namespace"] * 3


def test_lamina_record_holds_names_never_secret_values() -> None:
    for tree in (rendered(), flux()):
        text = tree["lamina.yaml"]
        for secret in SECRET_VALUES:
            assert secret not in text
        record = yamlio.load(text)
        assert record == {
            "cluster": "eu-1",
            "addons": [
                {
                    "profile": "web-platform",
                    "profile_id": 7,
                    "version": 3,
                    "bindings": {"domain": "shop.example.com", "replicas": 2},
                    "secrets": ["admin_password"],
                },
                {
                    "profile": "observability",
                    "profile_id": 9,
                    "version": 1,
                    "bindings": {"retention": "15d"},
                    "secrets": ["grafana_token"],
                },
            ],
        }


def test_no_tree_holds_a_secret_value() -> None:
    for tree in (rendered(), flux()):
        for path, text in tree.items():
            for secret in SECRET_VALUES:
                assert secret not in text, path


# --- flux mode ---------------------------------------------------------------------------


def test_flux_tree_matches_golden(request: pytest.FixtureRequest) -> None:
    check_golden(flux(), "flux", request)


def test_flux_top_kustomization_lists_the_sources_then_the_flux_units() -> None:
    tree = flux()
    resources = yamlio.load(tree["kustomization.yaml"])["resources"]
    assert resources == [
        "flux/source-charts-example-com-stable.yaml",
        "flux/source-oci-ghcr-io-acme-charts.yaml",
        "flux/00-cluster.yaml",
        "flux/01-web-platform.ingress.yaml",
        "flux/02-web-platform.dashboards.yaml",
        "flux/03-web-platform.os.yaml",
        "flux/04-observability.grafana.yaml",
        "flux/05-observability.alerts.yaml",
        "flux/06-observability.k8s.yaml",
    ]
    assert all(path in tree for path in resources)


def test_flux_units_depend_on_the_previous_layer() -> None:
    tree = flux()
    listed = yamlio.load(tree["kustomization.yaml"])["resources"]
    units = [yamlio.load(tree[p]) for p in listed if not p.startswith("flux/source-")]
    names = [u["metadata"]["name"] for u in units]
    assert names[:2] == ["eu-1-00-cluster", "eu-1-01-web-platform.ingress"]
    assert "dependsOn" not in units[0]["spec"]
    for previous, unit in zip(names, units[1:], strict=False):
        assert unit["spec"]["dependsOn"] == [{"name": previous}]
    for unit in units:
        assert unit["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1"
        assert unit["metadata"]["namespace"] == "flux-system"
        spec = unit["spec"]
        folder = unit["metadata"]["name"].removeprefix("eu-1-")
        assert spec["path"] == f"./clusters/eu-1/{folder}"
        # Namespaces and CRDs are never pruned: deleting a CRD deletes its objects.
        assert spec["prune"] is (folder != "00-cluster")
        assert spec["interval"] == "10m"
        assert spec["sourceRef"] == {"kind": "GitRepository", "name": "flux-system"}


def test_flux_substitutes_placeholders_only_where_a_secret_is_named() -> None:
    tree = flux()
    dashboards = yamlio.load(tree["flux/02-web-platform.dashboards.yaml"])["spec"]
    assert dashboards["postBuild"] == {
        "substituteFrom": [{"kind": "Secret", "name": "lamina-web-platform"}]
    }
    assert "postBuild" not in yamlio.load(tree["flux/05-observability.alerts.yaml"])["spec"]


def test_flux_chart_layer_holds_its_release_and_the_repository_is_shared() -> None:
    tree = flux()
    folder = "01-web-platform.ingress"
    files = yamlio.load(tree[f"{folder}/kustomization.yaml"])["resources"]
    assert files == ["ingress.helmrelease-web-platform-ingress.yaml"]
    first = yamlio.load(tree["00-cluster/kustomization.yaml"])["resources"]
    assert "namespace-ingress.yaml" in first
    repository = yamlio.load(tree["flux/source-charts-example-com-stable.yaml"])
    assert repository["apiVersion"] == "source.toolkit.fluxcd.io/v1"
    assert repository["metadata"] == {
        "name": "charts-example-com-stable",
        "namespace": "flux-system",
    }
    assert repository["spec"] == {"interval": "10m", "url": "https://charts.example.com/stable"}
    release = yamlio.load(tree[f"{folder}/{files[0]}"])
    assert release["apiVersion"] == "helm.toolkit.fluxcd.io/v2"
    assert release["metadata"] == {"name": "web-platform-ingress", "namespace": "ingress"}
    assert release["spec"]["chart"]["spec"] == {
        "chart": "ingress-nginx",
        "version": "4.15.1",
        "sourceRef": {
            "kind": "HelmRepository",
            "name": "charts-example-com-stable",
            "namespace": "flux-system",
        },
    }
    assert release["spec"]["values"] == {
        "controller": {"replicaCount": 2, "host": "shop.example.com"}
    }
    assert release["spec"]["valuesFrom"] == [
        {
            "kind": "Secret",
            "name": "lamina-web-platform",
            "valuesKey": "admin_password",
            "targetPath": "controller.admin.password",
        }
    ]
    assert release["spec"]["install"] == {"createNamespace": True}
    # Helm installs under the release name the preview and rendered mode use.
    assert release["spec"]["releaseName"] == "ingress"
    assert not any(path.startswith(f"{folder}/") and "deployment" in path for path in tree)


def test_a_repository_used_by_several_layers_is_written_once() -> None:
    first = web_layers()[0]
    second = LayerOutput("copy/ingress", "ingress", first.objects, chart=first.chart)
    layers = [first, second]
    tree = flux_tree(
        cluster="eu-1", addons=[], layers=layers, dump=yamlio.dump, root="clusters/eu-1"
    )
    sources = [p for p, text in tree.items() if yamlio.load(text).get("kind") == "HelmRepository"]
    assert sources == ["flux/source-charts-example-com-stable.yaml"]


def test_flux_oci_repository() -> None:
    tree = flux()
    folder = "04-observability.grafana"
    files = yamlio.load(tree[f"{folder}/kustomization.yaml"])["resources"]
    repository = yamlio.load(tree["flux/source-oci-ghcr-io-acme-charts.yaml"])
    assert repository["spec"] == {
        "interval": "10m",
        "url": "oci://ghcr.io/acme/charts",
        "type": "oci",
    }
    release = yamlio.load(tree[f"{folder}/monitoring.helmrelease-observability-grafana.yaml"])
    assert "values" not in release["spec"] and "valuesFrom" not in release["spec"]
    assert len(files) == 1


def test_flux_layers_without_chart_hold_their_objects() -> None:
    flux_files = flux()
    rendered_files = rendered()
    for folder in ("02-web-platform.dashboards", "03-web-platform.os", "05-observability.alerts"):
        mine = {p: t for p, t in flux_files.items() if p.startswith(folder + "/")}
        assert mine == {p: t for p, t in rendered_files.items() if p.startswith(folder + "/")}


@pytest.mark.parametrize(
    ("root", "path"),
    [
        ("", "./01-a"),
        ("/clusters/eu-1/", "./clusters/eu-1/01-a"),
        ("./x", "./x/01-a"),
        (".", "./01-a"),
    ],
)
def test_flux_paths_under_the_root(root: str, path: str) -> None:
    tree = flux_tree(
        cluster="c",
        addons=[],
        layers=[LayerOutput("a", "default", [])],
        dump=dump,
        source="fleet",
        root=root,
    )
    unit = yamlio.load(tree["flux/01-a.yaml"])
    assert unit["spec"]["path"] == path
    assert unit["spec"]["sourceRef"]["name"] == "fleet"
    assert unit["metadata"]["name"] == "c-01-a"


def test_kubectl_kustomize_builds_the_flux_tree_and_each_folder(tmp_path: Path) -> None:
    write_tree(tmp_path, flux())
    units = kustomize(tmp_path)
    assert sorted(u["kind"] for u in units) == ["HelmRepository"] * 2 + ["Kustomization"] * 7
    folders = sorted(p.name for p in tmp_path.iterdir() if p.is_dir() and p.name != "flux")
    kinds = {folder: sorted(o["kind"] for o in kustomize(tmp_path / folder)) for folder in folders}
    assert set(kinds["00-cluster"]) == {"Namespace"}
    assert kinds["01-web-platform.ingress"] == ["HelmRelease"]
    assert kinds["04-observability.grafana"] == ["HelmRelease"]
    assert kinds["03-web-platform.os"] == []
    assert len(kinds["02-web-platform.dashboards"]) == 5


# --- hooks, CRDs, Namespaces, scope (rendered mode) ---------------------------------------


def hook(kind: str, name: str, types: str, **annotations: str) -> dict[str, Any]:
    body = obj(kind, name)
    body["metadata"]["annotations"] = {"helm.sh/hook": types, **annotations}
    return body


def crd(group: str, kind: str, plural: str, scope: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": kind, "plural": plural},
            "scope": scope,
            "versions": [{"name": "v1", "served": True, "storage": True}],
        },
    }


def custom(kind: str, name: str, group: str = "widgets.example.com") -> dict[str, Any]:
    return {"apiVersion": f"{group}/v1", "kind": kind, "metadata": {"name": name}}


def hooked_layers() -> list[LayerOutput]:
    operator = [
        obj("ServiceAccount", "operator"),
        hook("Job", "migrate", "pre-install,pre-upgrade", **{"helm.sh/hook-weight": "5"}),
        hook("Job", "seed", "post-install"),
        hook("Pod", "smoke", "test"),
        hook("Pod", "old-style", "test-success"),
        hook("Job", "cleanup", "pre-delete"),
        hook("Job", "restore", "post-rollback"),
        hook("ConfigMap", "schema", "pre-install", **{"helm.sh/hook-weight": "-1"}),
        crd("widgets.example.com", "Widget", "widgets", "Namespaced"),
        crd("widgets.example.com", "WidgetClass", "widgetclasses", "Cluster"),
    ]
    apps = [
        custom("Widget", "blue"),
        custom("WidgetClass", "fast"),
        {**custom("WidgetClass", "placed"), "metadata": {"name": "placed", "namespace": "x"}},
        obj("ConfigMap", "elsewhere", "shared"),
        obj("Namespace", "apps"),
        obj("ConfigMap", "system", "kube-system"),
    ]
    return [
        LayerOutput("ops/operator", "operators", operator),
        LayerOutput("ops/apps", "apps", apps),
    ]


def hooked() -> dict[str, str]:
    return rendered_tree(
        cluster="eu-1",
        addons=[],
        layers=hooked_layers(),
        dump=dump,
        namespaced=scope.stack_scope([o for layer in hooked_layers() for o in layer.objects], None),
    )


def test_hooked_tree_matches_golden(request: pytest.FixtureRequest) -> None:
    check_golden(hooked(), "rendered-hooks", request)


def test_test_delete_and_rollback_hooks_are_never_committed() -> None:
    bodies = [yamlio.load(text) for path, text in hooked().items() if "kustomization" not in path]
    names = {body["metadata"]["name"] for body in bodies if "metadata" in body}
    assert {"migrate", "seed", "schema"} <= names
    assert not {"smoke", "old-style", "cleanup", "restore"} & names


def test_committed_hooks_keep_helm_annotations_and_are_replaced_by_flux() -> None:
    job = yamlio.load(hooked()["01-ops.operator/operators.job-migrate.yaml"])
    assert job["metadata"]["annotations"] == {
        "helm.sh/hook": "pre-install,pre-upgrade",
        "helm.sh/hook-weight": "5",
        "kustomize.toolkit.fluxcd.io/force": "enabled",
    }
    account = yamlio.load(hooked()["01-ops.operator/operators.serviceaccount-operator.yaml"])
    assert "annotations" not in account["metadata"]


def test_pre_hooks_come_first_by_weight_and_post_hooks_last() -> None:
    listed = yamlio.load(hooked()["01-ops.operator/kustomization.yaml"])["resources"]
    assert listed == [
        "operators.configmap-schema.yaml",
        "operators.job-migrate.yaml",
        "operators.serviceaccount-operator.yaml",
        "operators.job-seed.yaml",
    ]


def test_namespaces_then_crds_go_first() -> None:
    tree = hooked()
    assert yamlio.load(tree["kustomization.yaml"])["resources"][0] == "00-cluster"
    assert yamlio.load(tree["00-cluster/kustomization.yaml"])["resources"] == [
        "namespace-apps.yaml",
        "namespace-operators.yaml",
        "namespace-shared.yaml",
        "customresourcedefinition-widgets.widgets.example.com.yaml",
        "customresourcedefinition-widgetclasses.widgets.example.com.yaml",
    ]
    # The layer's own Namespace is kept as written; the others are never pruned.
    assert yamlio.load(tree["00-cluster/namespace-apps.yaml"]) == obj("Namespace", "apps")
    shared = yamlio.load(tree["00-cluster/namespace-shared.yaml"])
    assert shared["metadata"]["annotations"] == {"kustomize.toolkit.fluxcd.io/prune": "disabled"}
    assert not any(path.startswith("0") and "crd" in path for path in tree if "/" in path[3:])


def test_no_cluster_folder_without_namespaces_or_crds() -> None:
    tree = rendered_tree(
        cluster="eu-1",
        addons=[],
        layers=[LayerOutput("a", "default", [obj("ConfigMap", "c")])],
        dump=dump,
    )
    assert yamlio.load(tree["kustomization.yaml"])["resources"] == ["01-a"]


def test_cluster_scoped_custom_kinds_carry_no_namespace() -> None:
    tree = hooked()
    assert "02-ops.apps/widgetclass-fast.yaml" in tree
    placed = yamlio.load(tree["02-ops.apps/widgetclass-placed.yaml"])
    assert placed["metadata"] == {"name": "placed"}
    widget = yamlio.load(tree["02-ops.apps/apps.widget-blue.yaml"])
    assert widget["metadata"] == {"name": "blue", "namespace": "apps"}


def test_scope_asks_the_stack_crds_then_the_lookup_then_the_fallback() -> None:
    asked: list[tuple[str, str]] = []

    def lookup(api_version: str, kind: str) -> bool | None:
        asked.append((api_version, kind))
        return {"Lease": True, "IngressClass": False}.get(kind)

    namespaced = scope.stack_scope([crd("g.io", "Thing", "things", "Cluster")], lookup)
    assert namespaced(custom("Thing", "t", "g.io")) is False
    assert namespaced({**obj("Lease", "l"), "apiVersion": "coordination.k8s.io/v1"}) is True
    assert namespaced(obj("IngressClass", "i")) is False
    assert namespaced(custom("ClusterIssuer", "ca", "cert-manager.io")) is False
    assert namespaced(custom("Certificate", "c", "cert-manager.io")) is True
    assert ("g.io/v1", "Thing") not in asked


def test_kubectl_kustomize_puts_namespaces_and_crds_first(tmp_path: Path) -> None:
    write_tree(tmp_path / "eu-1", hooked())
    built = kustomize(tmp_path / "eu-1")
    kinds = [o["kind"] for o in built]
    assert kinds[:5] == ["Namespace"] * 3 + ["CustomResourceDefinition"] * 2
    assert ("WidgetClass", "", "fast") in identities(built)
    assert not {"smoke", "cleanup"} & {o["metadata"]["name"] for o in built}


def test_a_layer_may_opt_out_of_namespaces() -> None:
    opted_out = LayerOutput("a", "external", [obj("ConfigMap", "c")], create_namespace=False)
    tree = rendered_tree(cluster="eu-1", addons=[], layers=[opted_out], dump=dump)
    assert "00-cluster/kustomization.yaml" not in tree
    also_used = LayerOutput("b", "external", [obj("ConfigMap", "d")])
    tree = rendered_tree(cluster="eu-1", addons=[], layers=[opted_out, also_used], dump=dump)
    assert "00-cluster/namespace-external.yaml" in tree


def test_flux_applies_crds_and_namespaces_before_every_layer() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"kind": "Widget"}},
    }
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    layers = [
        LayerOutput("app/uses", "apps", [widget]),  # before the layer that defines its kind
        LayerOutput("app/defines", "apps", [crd]),
    ]
    tree = flux_tree(cluster="eu-1", addons=[], layers=layers, dump=dump, root="clusters/eu-1")
    first = yamlio.load(tree["00-cluster/kustomization.yaml"])["resources"]
    assert first == [
        "namespace-apps.yaml",
        "customresourcedefinition-widgets.example.com.yaml",
    ]
    assert yamlio.load(tree["01-app.uses/kustomization.yaml"])["resources"] == [
        "apps.widget-w.yaml"
    ]
    assert yamlio.load(tree["02-app.defines/kustomization.yaml"])["resources"] == []
    unit = yamlio.load(tree["flux/01-app.uses.yaml"])["spec"]
    assert unit["dependsOn"] == [{"name": "eu-1-00-cluster"}]
