"""Resolving a profile's charts to another org's registries (clone, import with resolve).

Each chart a version uses is looked for, by name and at the exact version the source pinned,
among the destination's registries: first the registry the caller's map names for the chart's
source registry, then a registry with the same URL, then any registry offering that chart at
that version (a registry of the same name first). What no registry offers at that version is
`version_missing` (with the nearest versions offered, by semver distance) or `not_found`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from lamina.domain import paths, semver

NEAREST_SHOWN = 3


class Status(StrEnum):
    RESOLVED = "resolved"
    VERSION_MISSING = "version_missing"
    NOT_FOUND = "not_found"


class Via(StrEnum):
    """How a destination registry was chosen."""

    MAP = "map"
    URL = "url"
    SEARCH = "search"


@dataclass(frozen=True)
class ChartRef:
    """One chart to resolve: where it sits, what it is, and where the source took it from.

    `version` is the exact version the source pinned, or the layer's range when the source
    holds no pin (then the newest offered version inside the range is taken). `registry` is
    the source registry's name (None for a chart named by URL without a registry of that
    URL); `url` the source registry's URL or the layer's own. `nested` marks a chart of a
    nested profile, which the clone cannot rewrite.
    """

    path: str
    layer: str
    name: str
    version: str
    registry: str | None
    url: str | None
    nested: bool = False


@dataclass(frozen=True)
class Offer:
    """A destination registry and the versions it offers of each chart."""

    registry: str
    url: str
    charts: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Resolution:
    """The outcome for one chart. `registry` is where it resolved, or for an unresolved
    chart the destination registry it would come from (None when there is none)."""

    ref: ChartRef
    status: Status
    registry: str | None
    version: str | None = None
    via: Via | None = None
    nearest: tuple[str, ...] = ()


def resolve(
    refs: Iterable[ChartRef], offers: Sequence[Offer], registry_map: Mapping[str, str]
) -> list[Resolution]:
    """The resolution of each chart, in the order given."""
    return [_resolve_one(ref, offers, registry_map) for ref in refs]


def _resolve_one(
    ref: ChartRef, offers: Sequence[Offer], registry_map: Mapping[str, str]
) -> Resolution:
    chosen = _candidates(ref, offers, registry_map)
    for offer, via in chosen:
        version = _matching(ref.version, offer.charts.get(ref.name, ()))
        if version is not None:
            return Resolution(ref, Status.RESOLVED, offer.registry, version, via)
    offering = [(offer, via) for offer, via in chosen if offer.charts.get(ref.name)]
    if offering:
        versions = [v for offer, _ in offering for v in offer.charts[ref.name]]
        first, via = offering[0]
        return Resolution(
            ref,
            Status.VERSION_MISSING,
            first.registry,
            via=via,
            nearest=nearest(ref.version, versions),
        )
    named = [(offer, via) for offer, via in chosen if via is not Via.SEARCH]
    if not named:
        return Resolution(ref, Status.NOT_FOUND, None)
    return Resolution(ref, Status.NOT_FOUND, named[0][0].registry, via=named[0][1])


def _candidates(
    ref: ChartRef, offers: Sequence[Offer], registry_map: Mapping[str, str]
) -> list[tuple[Offer, Via]]:
    """The destination registries to look in, in order, each once."""
    by_name = {offer.registry: offer for offer in offers}
    ordered: list[tuple[Offer, Via]] = []
    mapped = registry_map.get(ref.registry) if ref.registry else None
    if mapped in by_name:
        ordered.append((by_name[mapped], Via.MAP))
    if ref.url:
        wanted = same_url_key(ref.url)
        ordered += [(o, Via.URL) for o in offers if same_url_key(o.url) == wanted]
    # A registry of the same name is the likeliest stand-in; then the others, as given.
    ordered += [(o, Via.SEARCH) for o in offers if o.registry == ref.registry]
    ordered += [(o, Via.SEARCH) for o in offers]
    seen: set[str] = set()
    unique = []
    for offer, via in ordered:
        if offer.registry not in seen:
            seen.add(offer.registry)
            unique.append((offer, via))
    return unique


def same_url_key(url: str) -> str:
    """A registry URL as compared for sameness: without a trailing slash, scheme and host
    in lower case."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return url.strip().rstrip("/")
    rest = url.strip()[len(parts.scheme) + 3 + len(parts.netloc) :]
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{rest.rstrip('/')}"


def _matching(wanted: str, offered: Sequence[str]) -> str | None:
    """The offered version equal to `wanted`, or for a range the newest inside it."""
    if semver.is_exact(wanted):
        exact = semver.parse_version(wanted)
        for version in offered:
            if version == wanted or (_parsed(version) == exact and _build(version) == exact.build):
                return version
        return None
    try:
        return semver.max_satisfying(offered, wanted)
    except ValueError:
        return None


def nearest(wanted: str, offered: Iterable[str]) -> tuple[str, ...]:
    """Up to three distinct offered versions closest to `wanted`: the smallest difference in
    major, then (within the same major) minor, then (within the same minor) patch; releases
    before pre-releases; on a tie the one below before the one above, each the closest in
    order. For a range (or a version that does not parse), the newest ones."""
    versions = [(v, p) for v in dict.fromkeys(offered) if (p := _parsed(v)) is not None]
    target = _parsed(wanted) if semver.is_exact(wanted) else None

    def distance(item: tuple[str, semver.Version]) -> tuple[Any, ...]:
        v = item[1]
        if target is None:
            return (bool(v.prerelease), _Reversed(v))
        major = abs(v.major - target.major)
        minor = abs(v.minor - target.minor) if not major else 0
        patch = abs(v.patch - target.patch) if not major and not minor else 0
        side = (0, _Reversed(v)) if v < target else (1, _Ascending(v))
        return (major, minor, patch, bool(v.prerelease), side)

    return tuple(text for text, _ in sorted(versions, key=distance)[:NEAREST_SHOWN])


@dataclass(frozen=True)
class _Ascending:
    version: semver.Version

    def __lt__(self, other: _Ascending) -> bool:
        return self.version < other.version


@dataclass(frozen=True)
class _Reversed:
    """Sorts versions highest first inside an otherwise ascending key."""

    version: semver.Version

    def __lt__(self, other: _Reversed) -> bool:
        return other.version < self.version


def _parsed(text: str) -> semver.Version | None:
    try:
        return semver.parse_version(text)
    except ValueError:
        return None


def _build(text: str) -> str:
    parsed = _parsed(text)
    return parsed.build if parsed else ""


def rewrite_chart(chart: Mapping[str, Any], resolution: Resolution) -> dict[str, Any]:
    """The layer's `chart` pointing at the destination: the resolved registry and version.

    A range is replaced by the version the source pinned. An unresolved chart keeps that
    version and takes the destination registry it would come from (so validating it there
    fails at `chart.version`); with none, it keeps its own repository (a source registry
    name the destination lacks fails at `chart.repository`).
    """
    rewritten = dict(chart)
    if resolution.registry is not None:
        rewritten["repository"] = resolution.registry
    if not semver.is_exact(resolution.ref.version):
        return rewritten  # a range the source never pinned stays a range
    if resolution.status is Status.RESOLVED and resolution.version is not None:
        rewritten["version"] = resolution.version
    else:
        rewritten["version"] = resolution.ref.version
    return rewritten


# --- values that name a source registry's host --------------------------------------------


def host_of(url: str) -> str | None:
    """The `host[:port]` of a registry URL in lower case (None for a path or a bad URL)."""
    try:
        netloc = urlsplit(url.strip()).netloc
    except ValueError:
        return None
    netloc = netloc.rpartition("@")[2].lower()
    return netloc or None


def mentions(tree: Any, base: str, hosts: Iterable[str]) -> list[tuple[str, str]]:
    """(path, host) of each string in `tree` naming one of `hosts` as a whole host name (an
    image `registry.example/app:1`, a URL `https://registry.example/…`), in document order."""
    patterns = [(host, _host_pattern(host)) for host in sorted(set(hosts))]
    found: list[tuple[str, str]] = []
    _walk(tree, base, patterns, found)
    return found


def _host_pattern(host: str) -> re.Pattern[str]:
    # A host inside a longer name (`a.registry.example`, `registry.example.org`) or a
    # longer port (`:50001` for `:5000`) is another host.
    return re.compile(rf"(?<![\w.-]){re.escape(host)}(?![\w.-]|:\d)", re.IGNORECASE)


def _walk(
    tree: Any, path: str, patterns: list[tuple[str, re.Pattern[str]]], out: list[tuple[str, str]]
) -> None:
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            _walk(value, paths.child(path, str(key)), patterns, out)
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            _walk(value, paths.child(path, index), patterns, out)
    elif isinstance(tree, str):
        out += [(path, host) for host, pattern in patterns if pattern.search(tree)]
