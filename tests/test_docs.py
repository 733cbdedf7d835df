"""Docs that cannot drift: every setting, command, route and error code is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lamina.api.app import create_app
from lamina.settings import SETTINGS

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
CODE_SOURCES = [
    *sorted((ROOT / "src/lamina/domain").rglob("*.py")),
    ROOT / "src/lamina/adapters/yamlio.py",
    *sorted((ROOT / "src/lamina/services").rglob("*.py")),
    ROOT / "src/lamina/adapters/helm.py",
    ROOT / "src/lamina/adapters/archives.py",
    ROOT / "src/lamina/adapters/kustomize.py",
    ROOT / "src/lamina/adapters/kubeschema.py",
]
# Issue codes are passed as the second argument of Issue(...) or returned by helpers as
# snake_case literals; these literals in the same files are not codes.
NOT_CODES = {
    "age_recipient",
    "validate_document",
    "page_size",
    "api_versions",
    "helm_render",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "is_install",
    "kube_version",
    "max_bytes",
    "max_members",
    "max_unpacked_bytes",
    "kubernetes_version",
    "commit_sha",
    "instantiation_id",
    "profile_id",
    "secrets_sealed",
    "token_sealed",
    "would_change",
    "cluster_id",
    "draft_id",
    "missing_parameters",
    "from_default",
    "to_default",
    "current_version",
    "latest_version",
    "has_update_available",
    "outdated_instantiation_count",
    "expires_in_days",
    "batch_size",
    "continue_on_error",
    "dry_run",
    "only_outdated",
    "org_slug",
    "batch_commits",
}


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [name for name in SETTINGS if f"`{name}`" not in text]
    assert missing == []


def test_every_route_is_documented(services) -> None:  # type: ignore[no-untyped-def]
    text = (DOCS / "api.md").read_text()
    schema = create_app(services).openapi()
    missing = [path for path in schema["paths"] if f"`{path}`" not in text]
    assert missing == []


@pytest.mark.parametrize("doc", ["profile-format.md"])
def test_every_issue_code_is_documented(doc: str) -> None:
    text = (DOCS / doc).read_text()
    codes = set()
    for source in CODE_SOURCES:
        codes |= set(re.findall(r'"([a-z]+(?:_[a-z]+)+)"', source.read_text()))
    codes -= NOT_CODES
    assert len(codes) > 30
    assert sorted(code for code in codes if f"`{code}`" not in text) == []


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("make serve")
    assert start < readme.index("make test") < 1200
