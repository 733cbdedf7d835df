"""The import report, and what every importer shares: names, registries, parsed text."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lamina.domain import resolution
from lamina.domain.errors import InvalidInput

LoadYaml = Callable[[str], Any]
"""Parses one YAML (or JSON) document; InvalidInput when the text is not one."""

_NOT_LABEL = re.compile(r"[^a-z0-9-]+")
_DOCUMENT_START = re.compile(r"^---(?:[ \t].*)?$")
_DOCUMENT_END = re.compile(r"^\.\.\.[ \t]*$")


class Status(StrEnum):
    MAPPED = "mapped"
    APPROXIMATED = "approximated"
    UNMAPPED = "unmapped"


@dataclass(frozen=True)
class Note:
    """One entry of an import report: `path` points into the source document."""

    path: str
    status: Status
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {
            "path": self.path,
            "status": self.status.value,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class Report:
    """The notes of one import, in the order the source was read."""

    notes: list[Note] = field(default_factory=list)

    def mapped(self, path: str, code: str, message: str) -> None:
        self.notes.append(Note(path, Status.MAPPED, code, message))

    def approximated(self, path: str, code: str, message: str) -> None:
        self.notes.append(Note(path, Status.APPROXIMATED, code, message))

    def unmapped(self, path: str, code: str, message: str) -> None:
        self.notes.append(Note(path, Status.UNMAPPED, code, message))


@dataclass(frozen=True)
class KnownRegistry:
    """A registry of the importing org, which chart references are matched to."""

    name: str
    url: str


@dataclass(frozen=True)
class Context:
    """What an importer may know of the importing org, gathered before mapping.

    `profiles` maps the names of the org's profiles (and public ones) to their latest
    version number; `name` overrides the source's profile name."""

    load_yaml: LoadYaml
    registries: tuple[KnownRegistry, ...] = ()
    profiles: Mapping[str, int] = field(default_factory=dict)
    name: str | None = None


@dataclass(frozen=True)
class Imported:
    """A Lamina profile document and the report of how it was made."""

    document: dict[str, Any]
    notes: list[Note]


def dns_label(text: str, *, fallback: str) -> str:
    """`text` made a DNS-1123 label: lowercase, other characters as '-', at most 63."""
    label = _NOT_LABEL.sub("-", text.lower()).strip("-")[:63].rstrip("-")
    return label or fallback


def unique(name: str, taken: set[str]) -> str:
    """`name`, or `name-2`, `name-3`… when taken; the result is added to `taken`."""
    chosen, counter = name, 2
    while chosen in taken:
        suffix = f"-{counter}"
        chosen, counter = name[: 63 - len(suffix)] + suffix, counter + 1
    taken.add(chosen)
    return chosen


def same_url(a: str, b: str) -> bool:
    """Whether two registry URLs name the same place, by the rule clone resolution uses."""
    return resolution.same_url_key(a) == resolution.same_url_key(b)


def profile_name(written: str, context: Context, report: Report) -> str:
    """The imported profile's name: the one asked for, else the source's own made a
    DNS-1123 label; reported at `metadata.name`."""
    name = dns_label(context.name or written, fallback="imported")
    if context.name:
        report.mapped("metadata.name", "profile_name", f"Named '{name}' as asked")
    elif name == written:
        report.mapped("metadata.name", "profile_name", f"The profile is named '{name}'")
    else:
        report.approximated(
            "metadata.name", "name_changed", f"The profile is named '{name}' (a DNS-1123 label)"
        )
    return name


def registry_by_url(context: Context, url: str) -> KnownRegistry | None:
    return next((r for r in context.registries if url and same_url(r.url, url)), None)


def registry_by_name(context: Context, name: str) -> KnownRegistry | None:
    return next((r for r in context.registries if name and r.name == name), None)


def split_stream(text: str) -> list[str]:
    """The documents of a YAML stream as texts, cut at `---` and `...` lines (which end a
    document wherever they stand, block scalars included); blank ones dropped."""
    parts: list[list[str]] = [[]]
    for line in text.splitlines():
        if _DOCUMENT_START.match(line) or _DOCUMENT_END.match(line):
            rest = line[3:].strip()
            parts.append([rest] if rest and _DOCUMENT_START.match(line) else [])
        else:
            parts[-1].append(line)
    texts = ["\n".join(lines) + "\n" for lines in parts]
    return [t for t in texts if any(_has_content(line) for line in t.splitlines())]


def _has_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#") and not stripped.startswith("%")


def parse_yaml(
    context: Context, text: Any, path: str, report: Report, *, what: str
) -> tuple[bool, Any]:
    """(True, tree) for YAML text; (False, None) with an `invalid_yaml` note at `path`."""
    if not isinstance(text, str):
        report.unmapped(path, "wrong_type", f"{what} is not text (a YAML string)")
        return False, None
    try:
        return True, context.load_yaml(text)
    except InvalidInput as error:
        reason = error.issues[0].message if error.issues else error.detail
        report.unmapped(path, "invalid_yaml", f"{what} is not valid YAML ({reason}): left out")
        return False, None


def text_of(value: Any) -> str:
    """A scalar as text ('' for None and non-scalars); numbers as written."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def mapping(value: Any) -> dict[str, Any]:
    """`value` when it is a mapping, else an empty one (a missing section reads as empty)."""
    return value if isinstance(value, dict) else {}
