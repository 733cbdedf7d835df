"""Reading catalog files (Weaveworks shape and Lamina documents) and comparing versions."""

from __future__ import annotations

from typing import Any

import pytest

from lamina.domain import catalog
from lamina.domain.errors import InvalidInput

PROFILE = {
    "apiVersion": "lamina.dev/v1",
    "kind": "StackProfile",
    "metadata": {"name": "web", "description": "Web", "version": 3},
    "spec": {"type": "add-on", "layers": []},
}


def issues(files: dict[str, Any], *, named: bool = True) -> set[tuple[str, str]]:
    with pytest.raises(InvalidInput) as raised:
        catalog.parse_files(files, named=named)
    return {(i.path, i.code) for i in raised.value.issues}


def test_a_catalog_file_lists_entries_with_every_field() -> None:
    item = {
        "name": "web",
        "description": "Web stack",
        "version": "1.2.0",
        "catalog": "team",
        "url": "profiles/web.yaml",
        "maintainer": "sre@example.org",
        "prerequisites": ["cert-manager"],
        "tag": "ignored: other tools' fields are left alone",
    }
    [entry] = catalog.parse_files({"c/catalog.yaml": {"profiles": [item]}}, named=True)
    assert entry == catalog.CatalogEntry(
        name="web",
        version="1.2.0",
        url="profiles/web.yaml",
        file="c/catalog.yaml",
        description="Web stack",
        catalog="team",
        maintainer="sre@example.org",
        prerequisites=("cert-manager",),
    )
    assert catalog.CatalogEntry.from_dict(entry.as_dict()) == entry


def test_the_profile_catalog_source_object_and_numbers_as_versions() -> None:
    doc = {
        "kind": "ProfileCatalogSource",
        "spec": {"profiles": [{"name": "web", "version": 1.5, "url": "web.yaml"}]},
    }
    [entry] = catalog.parse_files({"": doc}, named=False)
    assert (entry.version, entry.file) == ("1.5", "")


def test_profile_documents_are_entries_unless_a_catalog_file_is_present() -> None:
    [entry] = catalog.parse_files({"a/web.yaml": PROFILE, "a/values.yaml": {"x": 1}}, named=True)
    assert (entry.name, entry.version, entry.url, entry.file) == (
        "web",
        "3",
        "web.yaml",
        "a/web.yaml",
    )
    listed = {"profiles": [{"name": "api", "version": "1.0.0", "url": "web.yaml"}]}
    entries = catalog.parse_files({"a/web.yaml": PROFILE, "c.yaml": listed}, named=True)
    assert [e.name for e in entries] == ["api"]


def test_every_problem_has_a_path_into_its_file() -> None:
    bad = {
        "profiles": [
            {"name": "ok", "version": "1.0.0", "url": "ok.yaml"},
            "text",
            {"name": "Not A Label", "version": True, "url": "", "maintainer": 3},
            {"version": "1", "url": "x", "prerequisites": "one"},
            {"name": "ok", "version": "1.0.0", "url": "again.yaml"},
        ]
    }
    assert issues({"cat.yaml": bad}) == {
        ('["cat.yaml"].profiles[1]', "wrong_type"),
        ('["cat.yaml"].profiles[2].name', "invalid_name"),
        ('["cat.yaml"].profiles[2].version', "wrong_type"),
        ('["cat.yaml"].profiles[2].url', "wrong_type"),
        ('["cat.yaml"].profiles[2].maintainer', "wrong_type"),
        ('["cat.yaml"].profiles[3].name', "missing_field"),
        ('["cat.yaml"].profiles[3].prerequisites', "wrong_type"),
        ('["cat.yaml"]', "duplicate_name"),
    }
    assert issues({"": {"profiles": {"name": "x"}}}, named=False) == {("profiles", "wrong_type")}
    assert issues({"": ["a list"]}, named=False) == {("", "invalid_value")}
    nameless = PROFILE | {"metadata": {"description": "no name"}}
    assert issues({"p.yaml": nameless}) == {('["p.yaml"].metadata.name', "missing_field")}


@pytest.mark.parametrize(
    ("candidate", "installed", "newer"),
    [
        ("1.1.0", "1.0.0", True),
        ("1.0.0", "1.0.0", False),
        ("1.10.0", "1.9.0", True),
        ("v2.0.0", "1.9.9", True),
        ("1.0.0", "1.0.0-rc.1", True),
        ("1.0.0-rc.1", "1.0.0", False),
        ("1.0.0", "", True),
        ("beta", "alpha", True),
        ("nightly", "1.0.0", False),
    ],
)
def test_newer_versions(candidate: str, installed: str, newer: bool) -> None:
    assert catalog.is_newer(candidate, installed) is newer


def test_newest_and_by_version() -> None:
    entries = tuple(
        catalog.CatalogEntry(name="web", version=v, url="w.yaml")
        for v in ("1.0.0", "1.10.0", "1.9.0")
    )
    assert catalog.newest(entries, "web") == entries[1]
    assert catalog.newest(entries, "api") is None
    assert catalog.by_version(entries, "web", "1.9.0") == entries[2]


@pytest.mark.parametrize(
    ("file", "url", "resolved"),
    [
        ("catalog/c.yaml", "web.yaml", "catalog/web.yaml"),
        ("catalog/c.yaml", "../profiles/web.yaml", "profiles/web.yaml"),
        ("catalog/c.yaml", "/profiles/web.yaml", "profiles/web.yaml"),
        ("c.yaml", "../outside.yaml", None),
        ("c.yaml", ".", None),
    ],
)
def test_urls_resolve_inside_the_repository(file: str, url: str, resolved: str | None) -> None:
    assert catalog.resolve_in_repository(file, url) == resolved


def test_source_fields_are_checked() -> None:
    found = catalog.check_source_fields("Bad", "", "a b", "../x")
    assert {(i.path, i.code) for i in found} == {
        ("name", "invalid_name"),
        ("url", "missing_field"),
        ("branch", "invalid_value"),
        ("path", "invalid_value"),
    }
    assert catalog.check_source_fields("team", "https://x.example/c.yaml", None, "") == []
