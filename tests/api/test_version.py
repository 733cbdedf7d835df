"""`GET /api/v1/version`: Lamina's version and the versions of the tools it runs."""

from __future__ import annotations

import httpx

import lamina
from lamina.adapters import kustomize


def test_version_reports_lamina_and_the_pinned_tools(client: httpx.Client) -> None:
    response = client.get("/api/v1/version")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["version"] == lamina.__version__
    assert report["tools"]["kustomize"] == {
        "version": kustomize.KUSTOMIZE_VERSION,
        "path": kustomize.default_tool(),
        "problem": None,
    }
    assert report["tools"]["helm"]["version"].startswith("v4.")
    assert report["tools"]["git"]["version"]
    assert set(report["tools"]) == {"kustomize", "helm", "git", "sops"}


def test_version_needs_a_token(server_url: str) -> None:
    assert httpx.get(f"{server_url}/api/v1/version").status_code == 401
