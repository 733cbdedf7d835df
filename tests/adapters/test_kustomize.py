"""The kustomize adapter: real builds with the installed tool, and fake tools for the rest."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from lamina.adapters import kustomize, yamlio
from lamina.adapters.kustomize import KustomizeBuilder
from lamina.domain.errors import RenderFailed, ToolMissing

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - port: 80
"""


def documents(stream: str) -> list[Any]:
    """The documents of a YAML stream, split on `---` lines."""
    chunks: list[list[str]] = [[]]
    for line in stream.splitlines():
        if line == "---":
            chunks.append([])
        else:
            chunks[-1].append(line)
    return [yamlio.load("\n".join(chunk)) for chunk in chunks if any(chunk)]


def by_kind(stream: str) -> dict[str, Any]:
    return {doc["kind"]: doc for doc in documents(stream)}


def build(files: dict[str, str]) -> dict[str, Any]:
    return by_kind(KustomizeBuilder().build(files))


def fake_tool(
    directory: Path, name: str, script: str, *, version: str = kustomize.KUSTOMIZE_VERSION
) -> Path:
    """An executable `name` running `script`, which answers `version` as kubectl or kustomize
    with kustomize `version` does."""
    directory.mkdir(exist_ok=True)
    report = version if name.startswith("kustomize") else f'{{"kustomizeVersion": "{version}"}}'
    tool = directory / name
    tool.write_text(
        f"#!/bin/sh\nif [ \"$1\" = version ]; then echo '{report}'; exit 0; fi\n" + script
    )
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return tool


def builder_of(tool: Path, **options: Any) -> KustomizeBuilder:
    return KustomizeBuilder(tool=str(tool), **options)


def failure(files: dict[str, str], builder: KustomizeBuilder | None = None) -> tuple[str, str]:
    with pytest.raises(RenderFailed) as caught:
        (builder or KustomizeBuilder()).build(files)
    [issue] = caught.value.issues
    assert issue.path == ""
    return issue.code, issue.message


def test_resources_with_patch_files_and_inline_strategic_merge_patches() -> None:
    objects = build(
        {
            "kustomization.yaml": (
                "namespace: shop\n"
                "resources: [base/deployment.yaml, base/service.yaml]\n"
                "patches:\n"
                "  - path: patch.yaml\n"
                "  - patch: |\n"
                "      apiVersion: v1\n"
                "      kind: Service\n"
                "      metadata: {name: web}\n"
                "      spec: {type: NodePort}\n"
            ),
            "base/deployment.yaml": DEPLOYMENT,
            "base/service.yaml": SERVICE,
            "patch.yaml": (
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
                "spec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n"
                "        - name: web\n          image: nginx:1.28\n"
            ),
        }
    )
    assert set(objects) == {"Deployment", "Service"}
    deployment = objects["Deployment"]
    assert deployment["metadata"]["namespace"] == "shop"
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["template"]["spec"]["containers"] == [
        {"name": "web", "image": "nginx:1.28"}
    ]
    assert objects["Service"]["spec"]["type"] == "NodePort"


def test_json_6902_patch_with_a_target() -> None:
    objects = build(
        {
            "kustomization.yaml": (
                "resources: [deployment.yaml]\n"
                "patches:\n"
                "  - target: {kind: Deployment, name: web}\n"
                '    patch: "- op: replace\\n  path: /spec/replicas\\n  value: 5"\n'
            ),
            "deployment.yaml": DEPLOYMENT,
        }
    )
    assert objects["Deployment"]["spec"]["replicas"] == 5


def test_broken_kustomization_reports_the_tool_message_without_temporary_paths() -> None:
    code, message = failure({"kustomization.yaml": "resources: [missing.yaml]\n"})
    assert code == "kustomize_failed"
    assert "missing.yaml" in message
    assert "lamina-kustomize-" not in message
    assert "command failed" not in message


def test_invalid_yaml_in_the_kustomization() -> None:
    code, message = failure({"kustomization.yaml": "resources: [\n"})
    assert code == "kustomize_failed"
    assert "yaml" in message.lower()


def test_remote_bases_fail_fast_without_network() -> None:
    started = time.monotonic()
    code, message = failure(
        {
            "kustomization.yaml": (
                "resources:\n"
                "  - https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v1.0.6\n"
            )
        }
    )
    assert code == "kustomize_failed"
    assert "github.com" in message
    assert time.monotonic() - started < 20


def test_the_pinned_kubectl_is_installed_with_the_expected_kustomize() -> None:
    builder = KustomizeBuilder()
    assert builder.tool == kustomize.default_tool()
    assert builder.check() == kustomize.KUSTOMIZE_VERSION
    assert kustomize.tool_version(builder.tool) == kustomize.KUSTOMIZE_VERSION
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert f'"{kustomize.KUBECTL_PACKAGE}"' in pyproject


def test_a_missing_tool_names_the_expected_version_and_how_to_install_it(tmp_path: Path) -> None:
    builder = builder_of(tmp_path / "kubectl")
    with pytest.raises(ToolMissing) as caught:
        builder.build({"kustomization.yaml": "resources: []\n"})
    assert caught.value.detail.startswith(
        f"kustomize {kustomize.KUSTOMIZE_VERSION} is required but {tmp_path / 'kubectl'} is not"
    )
    assert f"pip install {kustomize.KUBECTL_PACKAGE}" in caught.value.detail
    assert "LAMINA_KUSTOMIZE" in caught.value.detail


@pytest.mark.parametrize("name", ["kubectl", "kustomize"])
def test_a_tool_with_another_kustomize_version_is_refused(tmp_path: Path, name: str) -> None:
    tool = fake_tool(tmp_path / "bin", name, "echo built\n", version="v5.5.0")
    with pytest.raises(ToolMissing) as caught:
        builder_of(tool).build({"kustomization.yaml": ""})
    expected = kustomize.KUSTOMIZE_VERSION
    assert f"kustomize {expected} is required but {tool} has kustomize v5.5.0" in str(
        caught.value.detail
    )
    assert f"pip install {kustomize.KUBECTL_PACKAGE}" in caught.value.detail


def test_a_tool_without_a_version_is_refused(tmp_path: Path) -> None:
    tool = tmp_path / "kubectl"
    tool.write_text("#!/bin/sh\necho 'not json'\n")
    tool.chmod(0o755)
    with pytest.raises(ToolMissing) as caught:
        builder_of(tool).check()
    assert "reports no kustomize version" in caught.value.detail


def test_kustomize_4_version_output_is_understood(tmp_path: Path) -> None:
    report = "{Version:kustomize/v4.5.7 GitCommit:56d82a8 BuildDate:2022-08-02T16:35:54Z}"
    tool = fake_tool(tmp_path / "bin", "kustomize", "", version=report)
    assert kustomize.tool_version(str(tool)) == "v4.5.7"
    assert builder_of(tool, version="v4.5.7").check() == "v4.5.7"


@pytest.mark.parametrize(
    "name",
    ["/etc/passwd", "../outside.yaml", "base/../../outside.yaml", "..", "C:/x.yaml", "a\\b.yaml"],
)
def test_paths_leaving_the_directory_are_refused_before_anything_runs(name: str) -> None:
    code, message = failure({name: "x: 1\n"}, KustomizeBuilder(tool="/nonexistent/kubectl"))
    assert code == "kustomize_path_escape"
    assert repr(name) in message


@pytest.mark.parametrize("name", ["", "dir/", "a\0b"])
def test_invalid_file_names_are_refused(name: str) -> None:
    code, _ = failure({name: "x: 1\n"}, KustomizeBuilder(tool="/nonexistent/kubectl"))
    assert code == "kustomize_path_invalid"


def test_a_kustomize_binary_runs_kustomize_build(tmp_path: Path) -> None:
    tool = fake_tool(tmp_path / "bin", "kustomize", 'echo "kustomize $1 $#"\n')
    assert builder_of(tool).build({"kustomization.yaml": ""}) == "kustomize build 2\n"


def test_kubectl_fallback_runs_in_a_removed_temporary_directory(tmp_path: Path) -> None:
    script = 'echo "$1"; echo "$2"; ls "$2"; cat "$2/base/a.yaml"; echo "$HOME $HTTPS_PROXY"\n'
    builder = builder_of(fake_tool(tmp_path / "bin", "kubectl", script))
    files = {"kustomization.yaml": "resources: [base/a.yaml]\n", "base/a.yaml": "a: 1\n"}
    verb, directory, *listing, content, environment = builder.build(files).splitlines()
    assert verb == "kustomize"
    assert listing == ["base", "kustomization.yaml"]
    assert content == "a: 1"
    home, proxy = environment.split()
    assert home != os.environ.get("HOME") and proxy == "http://127.0.0.1:9"
    assert not os.path.exists(directory)
    assert not os.path.exists(os.path.dirname(directory))


def test_failure_output_is_cleaned_and_trimmed(tmp_path: Path) -> None:
    log_line = 'E0101 00:00:00.000000   42 run.go:72] "command failed" err="bad %s"'
    script = f"printf '{log_line}\\n' \"$2\" >&2\nexit 1\n"
    builder = builder_of(fake_tool(tmp_path / "bin", "kubectl", script))
    assert failure({"kustomization.yaml": ""}, builder) == ("kustomize_failed", "bad .")
    fake_tool(tmp_path / "bin", "kubectl", "yes 'Error: very long' | head -c 20000 >&2\nexit 2\n")
    code, message = failure({"kustomization.yaml": ""}, builder)
    assert code == "kustomize_failed"
    assert message.startswith("very long\nError: very long")
    assert len(message) <= kustomize.MAX_MESSAGE and message.endswith("…")


def test_silent_failure_names_the_exit_status(tmp_path: Path) -> None:
    builder = builder_of(fake_tool(tmp_path / "bin", "kubectl", "exit 3\n"))
    assert failure({"kustomization.yaml": ""}, builder) == (
        "kustomize_failed",
        "kustomize exited with status 3",
    )


def test_a_run_over_the_time_limit_is_stopped(tmp_path: Path) -> None:
    tool = fake_tool(tmp_path / "bin", "kubectl", "sleep 10 &\nsleep 10\n")
    builder = builder_of(tool, timeout=0.5)
    started = time.monotonic()
    code, _ = failure({"kustomization.yaml": ""}, builder)
    assert code == "kustomize_timeout"
    assert time.monotonic() - started < 5


def test_the_version_is_checked_once_and_again_when_the_tool_vanishes(tmp_path: Path) -> None:
    tool = fake_tool(tmp_path / "bin", "kubectl", "echo ok\n")
    builder = builder_of(tool)
    assert builder.build({"kustomization.yaml": ""}) == "ok\n"
    fake_tool(tmp_path / "bin", "kubectl", "echo still\n", version="v1.0.0")
    assert builder.build({"kustomization.yaml": ""}) == "still\n"  # checked already
    tool.unlink()
    with pytest.raises(ToolMissing):
        builder.build({"kustomization.yaml": ""})
    fake_tool(tmp_path / "bin", "kubectl", "echo back\n")
    assert builder.build({"kustomization.yaml": ""}) == "back\n"
