"""Catalog sources: what a source lists, read from its files, and which version is newer.

A source's files are either catalog files in the shape of Weaveworks' `ProfileCatalogSource`
(`profiles: [{name, description, version, catalog, url, maintainer, prerequisites}]`, at the
top or under `spec`), or Lamina profile documents, each an entry of its own. Pure: the files
arrive parsed, and every problem is an Issue with a path into the file that holds it.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from lamina.domain import paths, semver, targets
from lamina.domain.errors import InvalidInput, Issue, RegistryUnavailable

MAX_ENTRIES = 10_000
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_TEXT_FIELDS = ("description", "catalog", "maintainer")
LAMINA_API_VERSION = "lamina.dev/v1"


class SourceKind(StrEnum):
    GIT = "git"
    HTTP = "http"


class Access(StrEnum):
    """Who may install from a source: every editor, or admins only."""

    ALL = "all"
    ADMINS = "admins"


class CatalogUnavailable(RegistryUnavailable):
    """A catalog source could not be read, or what it holds is not a catalog (502)."""

    title = "Catalog source unavailable"


@dataclass(frozen=True)
class CatalogEntry:
    """One profile version a source lists. `url` locates its document (relative to `file`,
    the source file that listed it, or absolute); a profile document found in the source
    itself has `url` equal to its own file."""

    name: str
    version: str
    url: str
    file: str = ""
    description: str = ""
    catalog: str = ""
    maintainer: str = ""
    prerequisites: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "url": self.url,
            "file": self.file,
            "description": self.description,
            "catalog": self.catalog,
            "maintainer": self.maintainer,
            "prerequisites": list(self.prerequisites),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CatalogEntry:
        return cls(
            name=data["name"],
            version=data["version"],
            url=data["url"],
            file=data.get("file", ""),
            description=data.get("description", ""),
            catalog=data.get("catalog", ""),
            maintainer=data.get("maintainer", ""),
            prerequisites=tuple(data.get("prerequisites", ())),
        )


@dataclass(frozen=True)
class CatalogSource:
    id: int
    org_id: int
    name: str
    kind: SourceKind
    url: str
    branch: str
    path: str
    access: Access
    created_at: datetime
    synced_at: datetime | None = None
    last_error: str | None = None
    entries: tuple[CatalogEntry, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Origin:
    """Where an installed profile came from: a source's entry, or a direct URL (no source)."""

    profile_id: int
    source_id: int | None
    source_name: str
    entry: str
    version: str
    url: str
    installed_at: datetime


def parse_files(files: dict[str, Any], *, named: bool) -> list[CatalogEntry]:
    """The entries of a source's parsed files ({file: document}), by file name. With `named`
    (a Git source of many files) issue paths start with the file's name; files that are
    neither a catalog nor a profile document are skipped there, refused otherwise. When
    catalog files are present, they alone list entries (the profile documents beside them
    are what their entries point at); otherwise each profile document is an entry."""
    entries: list[CatalogEntry] = []
    issues: list[Issue] = []
    has_catalog = any(_catalog_list(doc) is not None for doc in files.values())
    for name in sorted(files):
        if has_catalog and is_profile_document(files[name]):
            continue
        where = paths.child("", name) if named else ""
        found, problems = _parse_file(name, files[name], where=where, strict=not named)
        entries += found
        issues += problems
    issues += _duplicates(entries, files, named=named)
    if len(entries) > MAX_ENTRIES:
        issues.append(Issue("", "too_many", f"A source may list at most {MAX_ENTRIES} entries"))
    if issues:
        count = len(issues)
        raise InvalidInput(
            f"The catalog has {count} error{'s' if count != 1 else ''}", issues=issues
        )
    return entries


def _parse_file(
    name: str, doc: Any, *, where: str, strict: bool
) -> tuple[list[CatalogEntry], list[Issue]]:
    if is_profile_document(doc):
        return _document_entry(name, doc, where)
    listed = _catalog_list(doc)
    if listed is not None:
        key, items = listed
        return _catalog_entries(name, items, paths.join(where, key))
    if not strict:
        return [], []
    message = (
        "Not a catalog file (a 'profiles' list, or a ProfileCatalogSource with "
        "'spec.profiles') nor a Lamina profile document"
    )
    return [], [Issue(where, "invalid_value", message)]


def is_profile_document(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and doc.get("apiVersion") == LAMINA_API_VERSION
        and doc.get("kind") == "StackProfile"
    )


def _catalog_list(doc: Any) -> tuple[str, Any] | None:
    """('profiles' or 'spec.profiles', the list found there) of a catalog file."""
    if not isinstance(doc, dict):
        return None
    if "profiles" in doc:
        return "profiles", doc["profiles"]
    spec = doc.get("spec")
    if doc.get("kind") == "ProfileCatalogSource" and isinstance(spec, dict):
        return "spec.profiles", spec.get("profiles")
    return None


def _catalog_entries(file: str, items: Any, where: str) -> tuple[list[CatalogEntry], list[Issue]]:
    if not isinstance(items, list):
        return [], [Issue(where, "wrong_type", "The profiles of a catalog are a list")]
    entries: list[CatalogEntry] = []
    issues: list[Issue] = []
    for index, item in enumerate(items):
        entry, problems = _entry(file, item, paths.child(where, index))
        issues += problems
        if entry is not None:
            entries.append(entry)
    return entries, issues


def _entry(file: str, item: Any, where: str) -> tuple[CatalogEntry | None, list[Issue]]:
    if not isinstance(item, dict):
        return None, [Issue(where, "wrong_type", "A catalog entry is a mapping")]
    issues = _name_issues(item.get("name"), paths.child(where, "name"))
    version = version_text(item.get("version"))
    if version is None:
        issues.append(_required(item, "version", where, "a version such as 1.2.0"))
    url = item.get("url")
    if not isinstance(url, str) or not url.strip():
        issues.append(_required(item, "url", where, "the URL or path of the profile document"))
    texts = {key: item.get(key) for key in _TEXT_FIELDS}
    for key, value in texts.items():
        if value is not None and not isinstance(value, str):
            issues.append(Issue(paths.child(where, key), "wrong_type", f"'{key}' is text"))
    prerequisites = item.get("prerequisites") or []
    if not isinstance(prerequisites, list) or not all(isinstance(p, str) for p in prerequisites):
        at = paths.child(where, "prerequisites")
        issues.append(Issue(at, "wrong_type", "'prerequisites' is a list of text"))
        prerequisites = []
    if issues:
        return None, issues
    assert isinstance(url, str) and version is not None
    entry = CatalogEntry(
        name=item["name"],
        version=version,
        url=url.strip(),
        file=file,
        description=texts["description"] or "",
        catalog=texts["catalog"] or "",
        maintainer=texts["maintainer"] or "",
        prerequisites=tuple(prerequisites),
    )
    return entry, []


def _document_entry(
    file: str, doc: dict[str, Any], where: str
) -> tuple[list[CatalogEntry], list[Issue]]:
    metadata = doc.get("metadata")
    at = paths.join(where, "metadata")
    if not isinstance(metadata, dict):
        return [], [Issue(at, "missing_field", "A profile document needs its metadata")]
    issues = _name_issues(metadata.get("name"), paths.child(at, "name"))
    description = metadata.get("description")
    if issues:
        return [], issues
    entry = CatalogEntry(
        name=metadata["name"],
        version=version_text(metadata.get("version")) or "",
        url=posixpath.basename(file) or file,
        file=file,
        description=description if isinstance(description, str) else "",
    )
    return [entry], []


def _name_issues(name: Any, where: str) -> list[Issue]:
    if name is None:
        return [Issue(where, "missing_field", "An entry needs the name of its profile")]
    if not isinstance(name, str) or not _NAME.match(name):
        message = "A profile name is a DNS-1123 label (lowercase letters, digits and '-')"
        return [Issue(where, "invalid_name", message)]
    return []


def _required(item: dict[str, Any], key: str, where: str, what: str) -> Issue:
    code = "missing_field" if item.get(key) is None else "wrong_type"
    return Issue(paths.child(where, key), code, f"An entry needs '{key}': {what}")


def version_text(value: Any) -> str | None:
    """A version as text; YAML may read `1.2` as a number, which is taken as written."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _duplicates(entries: list[CatalogEntry], files: dict[str, Any], *, named: bool) -> list[Issue]:
    seen: set[tuple[str, str]] = set()
    issues: list[Issue] = []
    for entry in entries:
        key = (entry.name, entry.version)
        if key in seen:
            where = paths.child("", entry.file) if named else ""
            message = f"'{entry.name}' version {entry.version or '(none)'} is listed twice"
            issues.append(Issue(where, "duplicate_name", message))
        seen.add(key)
    return issues


def version_key(version: str) -> tuple[int, Any]:
    """Orders versions: semantic versions by precedence, above any other text."""
    try:
        return (1, semver.parse_version(version.removeprefix("v")))
    except ValueError:
        return (0, version)


def is_newer(candidate: str, installed: str) -> bool:
    """Whether `candidate` is a newer version than `installed`."""
    first, second = version_key(candidate), version_key(installed)
    if first[0] != second[0]:
        return first[0] > second[0]
    return bool(first[1] > second[1])


def newest(entries: tuple[CatalogEntry, ...], name: str) -> CatalogEntry | None:
    """The entry of the newest version of profile `name`, None when the source has none."""
    found = [entry for entry in entries if entry.name == name]
    return max(found, key=lambda e: version_key(e.version)) if found else None


def by_version(entries: tuple[CatalogEntry, ...], name: str, version: str) -> CatalogEntry | None:
    return next((e for e in entries if e.name == name and e.version == version), None)


def resolve_in_repository(file: str, url: str) -> str | None:
    """The repository path of `url` written in the source file `file` (relative to that
    file's folder, or to the root when it starts with '/'); None when it leaves the
    repository."""
    base = "" if url.startswith("/") else posixpath.dirname(file)
    joined = posixpath.normpath(posixpath.join(base, url.lstrip("/")))
    if joined in (".", "") or joined.startswith("../") or joined == "..":
        return None
    return joined


def is_absolute_url(url: str) -> bool:
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", url) is not None


def check_source_fields(name: str, url: str, branch: str | None, path: str) -> list[Issue]:
    """Problems of a new source's name, URL, branch (Git only) and path."""
    issues = _name_issues(name, "name")
    if not url.strip():
        issues.append(Issue("url", "missing_field", "A source needs a URL"))
    if branch is not None and (problem := targets.branch_problem(branch)):
        issues.append(Issue("branch", "invalid_value", f"The branch {problem}"))
    if path and (problem := targets.folder_problem(path)):
        issues.append(Issue("path", "invalid_value", f"The path {problem}"))
    return issues
