"""The Helm engine: loading, values, schema checks and `helm template` rendering."""

from __future__ import annotations

import io
import re
import tarfile
import time
from pathlib import Path
from typing import Any

import helm_python
import pytest

from lamina.adapters import helm
from lamina.adapters.helm import HelmChart, HelmEngine
from lamina.domain.errors import InvalidChart, RenderFailed
from tests.fixtures.charts import CHARTS_DIR

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "render"
# Fixed inputs of the golden renders.
GOLDEN_INPUTS = {
    "webapp": {
        "replicaCount": 3,
        "image": {"tag": "1.27.1"},
        "config": {"features": {"beta": True}},
        "env": [{"name": "LOG_LEVEL", "value": "debug"}, {"name": "REGION", "value": "eu"}],
        "extraPorts": [{"name": "metrics", "port": 9090}],
        "podLabels": {"team": "web"},
        "ingress": {"enabled": True, "host": "shop.example.com"},
    },
    "umbrella": {"app": {"name": "store"}, "redis-lite": {"persistence": {"size": "5Gi"}}},
}

engine = HelmEngine()


@pytest.fixture(scope="module")
def charts(chart_archives: dict[str, Path]) -> dict[str, HelmChart]:
    return {key: engine.load(path.read_bytes()) for key, path in chart_archives.items()}


def render(
    chart: HelmChart,
    values: dict[str, Any] | None = None,
    *,
    kube_version: str | None = "1.29.0",
    api_versions: list[str] | None = None,
) -> dict[str, str]:
    return engine.render(
        chart,
        values=values or {},
        release="demo",
        namespace="shop",
        kube_version=kube_version,
        api_versions=api_versions or [],
    )


def helm_template_text(rendered: dict[str, str]) -> str:
    """The rendered files as `helm template` prints them, in path order: each document
    (already framed `---\\n<document>\\n` as Helm frames it) headed by its source."""
    return "".join(
        re.sub(r"(?m)^---\n", f"---\n# Source: {path}\n", text)
        for path, text in sorted(rendered.items())
    )


def test_load_gives_metadata_and_rendering_is_fast(charts: dict[str, HelmChart]) -> None:
    webapp = charts["webapp-1.0.0"]
    assert webapp.metadata["name"] == "webapp"
    assert webapp.metadata["version"] == "1.0.0"
    assert webapp.metadata["appVersion"] == "1.25.0"
    webapp.metadata["name"] = "changed"  # a copy: the chart is unaffected
    assert webapp.metadata["name"] == "webapp"
    assert charts["webapp-2.0.0-rc.1"].metadata["version"] == "2.0.0-rc.1"
    render(webapp)
    started = time.perf_counter()
    for _ in range(20):
        render(webapp)
    assert (time.perf_counter() - started) / 20 < 0.05


def test_render_webapp(charts: dict[str, HelmChart]) -> None:
    rendered = render(charts["webapp-1.0.0"], {"replicaCount": 2})
    assert sorted(rendered) == [
        "webapp/templates/configmap.yaml",
        "webapp/templates/deployment.yaml",
        "webapp/templates/service.yaml",
    ]
    assert "replicas: 2" in rendered["webapp/templates/deployment.yaml"]
    assert "name: demo-webapp" in rendered["webapp/templates/service.yaml"]
    assert "namespace: shop" in rendered["webapp/templates/configmap.yaml"]


def test_notes_and_blank_templates_are_dropped(charts: dict[str, HelmChart]) -> None:
    rendered = render(charts["webapp-1.0.0"])
    assert not any(path.endswith("NOTES.txt") for path in rendered)
    assert "webapp/templates/ingress.yaml" not in rendered  # renders to blank when disabled
    enabled = render(charts["webapp-1.0.0"], {"ingress": {"enabled": True}})
    assert "webapp/templates/ingress.yaml" in enabled


def test_subchart_paths_and_overrides(charts: dict[str, HelmChart]) -> None:
    rendered = render(charts["umbrella-1.0.0"])
    statefulset = rendered["umbrella/charts/redis-lite/templates/statefulset.yaml"]
    assert "replicas: 2" in statefulset  # the parent's override of the subchart default 1
    assert "storage: 2Gi" in statefulset
    assert 'environment: "test"' in statefulset  # globals reach the subchart
    disabled = render(charts["umbrella-1.0.0"], {"redis-lite": {"enabled": False}})
    assert sorted(disabled) == ["umbrella/templates/configmap.yaml"]


def test_disabling_a_subchart_does_not_stick(charts: dict[str, HelmChart]) -> None:
    """Helm's render removes disabled subcharts from the chart it renders; the engine must
    not let that change the loaded chart for later renders."""
    umbrella = charts["umbrella-1.0.0"]
    assert len(render(umbrella, {"redis-lite": {"enabled": False}})) == 1
    assert len(render(umbrella)) == 3
    assert engine.default_values(umbrella)["redis-lite"]["replicas"] == 2
    started = time.perf_counter()
    for _ in range(20):
        render(umbrella)
    assert (time.perf_counter() - started) / 20 < 0.05


def test_default_values_include_subchart_defaults(charts: dict[str, HelmChart]) -> None:
    defaults = engine.default_values(charts["umbrella-1.0.0"])
    assert defaults["redis-lite"] == {
        "enabled": True,
        "replicas": 2,
        "image": "redis:7.2-alpine",
        "port": 6379,
        "persistence": {"enabled": True, "size": "2Gi"},
        "global": {"environment": "test"},
    }
    assert defaults["app"] == {"name": "shop", "port": 8080}
    webapp = engine.default_values(charts["webapp-1.0.0"])
    assert webapp["replicaCount"] == 1
    assert webapp["env"] == [{"name": "LOG_LEVEL", "value": "info"}]


def test_values_schema_and_validation(charts: dict[str, HelmChart]) -> None:
    webapp = charts["webapp-1.0.0"]
    schema = engine.values_schema(webapp)
    assert schema is not None and schema["properties"]["replicaCount"]["minimum"] == 1
    assert engine.values_schema(charts["umbrella-1.0.0"]) is None
    assert render(webapp, {})
    assert render(webapp, {"replicaCount": 4})
    problems = schema_problems(webapp, {"replicaCount": 0, "image": {"repository": ""}})
    assert len(problems) == 2
    assert any("/replicaCount" in problem and "minimum" in problem for problem in problems)
    assert any("/image/repository" in problem for problem in problems)
    [wrong_type] = schema_problems(webapp, {"replicaCount": "three"})
    assert "/replicaCount" in wrong_type and "integer" in wrong_type
    assert render(charts["umbrella-1.0.0"], {"anything": [1]})


def schema_problems(chart: HelmChart, values: dict[str, Any]) -> list[str]:
    """The schema violations a render reports for `values`."""
    with pytest.raises(RenderFailed) as caught:
        render(chart, values)
    assert {issue.code for issue in caught.value.issues} == {"invalid_values"}
    return [issue.message for issue in caught.value.issues]


def test_render_refuses_values_breaking_the_schema(charts: dict[str, HelmChart]) -> None:
    with pytest.raises(RenderFailed) as caught:
        render(charts["webapp-1.0.0"], {"replicaCount": 0})
    [issue] = caught.value.issues
    assert issue.code == "invalid_values" and "/replicaCount" in issue.message


def test_kube_version_constraint_is_honoured(charts: dict[str, HelmChart]) -> None:
    modern = charts["modern-1.0.0"]
    assert modern.metadata["kubeVersion"] == ">=1.28.0-0"
    rendered = render(modern, kube_version="1.29.0")
    assert 'kubeVersion: "v1.29.0"' in rendered["modern/templates/configmap.yaml"]
    assert (
        "v1.30.2" in render(modern, kube_version="v1.30.2-eks-1")["modern/templates/configmap.yaml"]
    )
    for old in ("1.20.0", "1.27.9"):
        with pytest.raises(RenderFailed) as caught:
            render(modern, kube_version=old)
        [issue] = caught.value.issues
        assert issue.code == "kube_version_incompatible"
        assert ">=1.28.0-0" in issue.message and old in issue.message
    with pytest.raises(RenderFailed) as caught:
        render(modern, kube_version="latest")
    assert [issue.code for issue in caught.value.issues] == ["invalid_kube_version"]
    # Without a Kubernetes version Helm's default applies and the constraint is not checked.
    assert render(modern, kube_version=None)


def test_api_versions_reach_capabilities(charts: dict[str, HelmChart]) -> None:
    modern = charts["modern-1.0.0"]
    path = "modern/templates/configmap.yaml"
    assert "widgets" not in render(modern)[path]
    assert 'widgets: "available"' in render(modern, api_versions=["example.com/v1"])[path]


def test_a_failing_template_is_named(charts: dict[str, HelmChart]) -> None:
    with pytest.raises(RenderFailed) as caught:
        render(charts["broken-1.0.0"])
    [issue] = caught.value.issues
    assert issue.path == "" and issue.code == "render_failed"
    assert issue.message.startswith("Template broken/templates/failing.yaml failed:")
    assert "this template always fails" in issue.message


def test_a_template_syntax_error_is_named(tmp_path: Path) -> None:
    chart = tmp_path / "syntax"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: syntax\nversion: 1.0.0\n")
    (chart / "templates" / "bad.yaml").write_text("a: {{ .Values.x \n")
    (chart / "templates" / "nil.yaml").write_text('b: {{ include "missing" . }}\n')
    loaded = engine.load(helm.package_chart(chart))
    with pytest.raises(RenderFailed) as caught:
        render(loaded)
    [issue] = caught.value.issues
    assert issue.message.startswith("Template syntax/templates/bad.yaml failed:")
    (chart / "templates" / "bad.yaml").unlink()
    with pytest.raises(RenderFailed) as caught:
        render(engine.load(helm.package_chart(chart)))
    assert caught.value.issues[0].message.startswith("Template syntax/templates/nil.yaml failed:")


def test_unknown_crd_kind_renders(charts: dict[str, HelmChart]) -> None:
    rendered = render(charts["crd-user-1.0.0"], {"size": 5})
    widget = rendered["crd-user/templates/widget.yaml"]
    assert "apiVersion: example.com/v1" in widget and "kind: Widget" in widget
    assert "size: 5" in widget


def test_load_refuses_what_helm_refuses(tmp_path: Path) -> None:
    chart = tmp_path / "noversion"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: noversion\nversion: 1.0.0\n")
    data = helm.package_chart(chart)
    assert engine.load(data).metadata["name"] == "noversion"
    with pytest.raises(InvalidChart) as caught:
        engine.load(_replace_member(data, "noversion/Chart.yaml", b"name: x\n"))
    [issue] = caught.value.issues
    assert issue.code == "chart_invalid" and "version is required" in issue.message
    with pytest.raises(InvalidChart) as caught:
        engine.load(b"not an archive")
    assert caught.value.issues[0].code == "chart_corrupt"


def test_load_applies_the_configured_limits(chart_archives: dict[str, Path]) -> None:
    small = HelmEngine(max_archive_bytes=100)
    with pytest.raises(InvalidChart) as caught:
        small.load(chart_archives["webapp-1.0.0"].read_bytes())
    assert caught.value.issues[0].code == "chart_too_large"


def test_packaging_is_deterministic(tmp_path: Path) -> None:
    first = helm.package_chart(CHARTS_DIR / "webapp")
    copy = tmp_path / "webapp"
    copy.mkdir()
    for source in (CHARTS_DIR / "webapp").rglob("*"):
        target = copy / source.relative_to(CHARTS_DIR / "webapp")
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())  # new files, new modification times
    assert helm.package_chart(copy) == first
    archive = tmp_path / "webapp-1.0.0.tgz"
    archive.write_bytes(first)
    assert engine.digest(first) == helm_python.digest(archive)  # what index.yaml would state
    versioned = engine.load(helm.package_chart(copy, version="3.0.0"))
    assert versioned.metadata["version"] == "3.0.0"


@pytest.mark.parametrize("name", sorted(GOLDEN_INPUTS))
def test_golden_render(
    name: str, charts: dict[str, HelmChart], request: pytest.FixtureRequest
) -> None:
    text = helm_template_text(render(charts[f"{name}-1.0.0"], GOLDEN_INPUTS[name]))
    golden = GOLDEN / f"{name}.yaml"
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.is_file(), f"{golden} is missing: run pytest with --update-golden"
    assert text == golden.read_text()


def _replace_member(data: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as source,
        tarfile.open(fileobj=out, mode="w:gz") as target,
    ):
        for member in source.getmembers():
            extracted = source.extractfile(member)
            assert extracted is not None
            payload = content if member.name == name else extracted.read()
            member.size = len(payload)
            target.addfile(member, io.BytesIO(payload))
    return out.getvalue()
