"""Semantic versions and version ranges, read the way Helm reads them (Masterminds semver v3).

Choices where Helm's library is loose or surprising:
- Leading zeros are accepted in major, minor and patch (some charts use dates: 2024.01.15) but
  not in numeric pre-release identifiers, which SemVer 2.0 forbids.
- A pre-release or build suffix needs a full three-part version ("1.2-rc.1" is rejected).
- A pre-release version satisfies an AND group of a constraint only if some comparison in that
  group names a pre-release (or the caller passes include_prerelease=True); Helm applies the rule
  per comparison, which makes `>=1.0.0-0 <2.0.0` reject every pre-release.
- Upper bounds derived from partial versions, `~` and `^` exclude the next version's
  pre-releases (`^1.2.3` is `>=1.2.3 <2.0.0-0`), so 2.0.0-rc.1 never satisfies `^1.2.3`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias

_IDENT = r"[0-9A-Za-z-]+"
_SUFFIX = rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?(?:\+(?P<build>{_IDENT}(?:\.{_IDENT})*))?"
_VERSION = re.compile(
    rf"v?(?P<major>[0-9]+)(?:\.(?P<minor>[0-9]+)(?:\.(?P<patch>[0-9]+){_SUFFIX})?)?"
)

# Constraint parts: a version whose parts may be wildcards, optionally after an operator.
_PART = r"(?:[0-9]+|[xX*])"
_LOOSE = (
    rf"v?{_PART}(?:\.{_PART}){{0,2}}(?:-{_IDENT}(?:\.{_IDENT})*)?(?:\+{_IDENT}(?:\.{_IDENT})*)?"
)
_OPERATORS = r"!=|>=|=>|<=|=<|~>|>|<|=|~|\^"
_END = r"(?=[\s,]|\Z)"
_HYPHEN = re.compile(rf"(?P<low>{_LOOSE})\s+-\s+(?P<high>{_LOOSE}){_END}")
_COMPARISON = re.compile(rf"(?P<op>{_OPERATORS})?\s*(?P<version>{_LOOSE}){_END}")
_ALIASES = {"=>": ">=", "=<": "<=", "~>": "~"}


@functools.total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    """A version; equality, hashing and ordering follow SemVer 2.0 precedence (build ignored)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str | int, ...] = ()
    build: str = ""

    def _key(self) -> tuple[Any, ...]:
        # Numeric identifiers sort before alphanumeric ones; a release sorts after its
        # pre-releases, and a shorter identifier list before a longer one it prefixes.
        identifiers = tuple(
            (0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.prerelease
        )
        release = (1,) if not self.prerelease else (0, identifiers)
        return (self.major, self.minor, self.patch, release)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return bool(self._key() < other._key())

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(p) for p in self.prerelease)
        return text + ("+" + self.build if self.build else "")


def parse_version(text: str) -> Version:
    """The Version written in `text`: `1.2.3`, `v1.2.3-rc.1+build.5`, or the short `1` and `1.2`
    (missing parts are 0). Raises ValueError saying what is wrong otherwise."""
    match = _VERSION.fullmatch(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a version; expected MAJOR[.MINOR[.PATCH]] with an optional "
            "-prerelease and +build after a full MAJOR.MINOR.PATCH, such as 1.2.3 or 1.2.3-rc.1"
        )
    return Version(
        int(match["major"]),
        int(match["minor"] or 0),
        int(match["patch"] or 0),
        _prerelease(match["pre"], text),
        match["build"] or "",
    )


def _prerelease(text: str | None, version: str) -> tuple[str | int, ...]:
    if not text:
        return ()
    identifiers: list[str | int] = []
    for identifier in text.split("."):
        if not identifier.isdigit():
            identifiers.append(identifier)
        elif len(identifier) > 1 and identifier.startswith("0"):
            raise ValueError(
                f"{version!r} is not a version: numeric pre-release identifier {identifier!r} "
                "has a leading zero"
            )
        else:
            identifiers.append(int(identifier))
    return tuple(identifiers)


def is_exact(text: str) -> bool:
    """True when `text` is one full version such as `1.2.3` or `v1.2.3-rc.1`, not a range."""
    match = _VERSION.fullmatch(text)
    if match is None or match["patch"] is None:
        return False
    try:
        _prerelease(match["pre"], text)
    except ValueError:
        return False
    return True


_Test: TypeAlias = Callable[[Version], bool]


@dataclass(frozen=True)
class _Comparison:
    test: _Test
    names_prerelease: bool


class Constraint:
    """A parsed version range: OR (`||`) of AND groups of comparisons."""

    def __init__(self, text: str, groups: tuple[tuple[_Comparison, ...], ...]) -> None:
        self._text = text
        self._groups = groups

    def allows(self, version: Version, *, include_prerelease: bool = False) -> bool:
        """Whether `version` satisfies the range; see the module notes for pre-releases."""
        return any(_group_allows(group, version, include_prerelease) for group in self._groups)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Constraint({self._text!r})"


def _group_allows(group: tuple[_Comparison, ...], version: Version, include: bool) -> bool:
    if version.prerelease and not include and not any(c.names_prerelease for c in group):
        return False
    return all(comparison.test(version) for comparison in group)


def parse_constraint(text: str) -> Constraint:
    """The Constraint written in `text`, e.g. `^1.2`, `>=1.0.0 <2.0.0 || 3.x`, `1.2 - 1.4.5`.
    Raises ValueError saying what is wrong on bad syntax."""
    groups = tuple(_parse_group(group, text) for group in text.split("||"))
    return Constraint(text, groups)


def _parse_group(group: str, whole: str) -> tuple[_Comparison, ...]:
    comparisons: list[_Comparison] = []
    position = _skip_separators(group, 0)
    while position < len(group):
        hyphen = _HYPHEN.match(group, position)
        if hyphen:
            comparisons.append(_comparison(">=", hyphen["low"]))
            comparisons.append(_comparison("<=", hyphen["high"]))
            position = hyphen.end()
        else:
            match = _COMPARISON.match(group, position)
            if match is None:
                raise ValueError(
                    f"{whole!r} is not a version constraint: cannot read {group[position:]!r}"
                )
            comparisons.append(_comparison(match["op"] or "=", match["version"]))
            position = match.end()
        position = _skip_separators(group, position)
    if not comparisons:
        raise ValueError(f"{whole!r} is not a version constraint: an alternative is empty")
    return tuple(comparisons)


def _skip_separators(text: str, position: int) -> int:
    while position < len(text) and (text[position].isspace() or text[position] == ","):
        position += 1
    return position


def _comparison(operator: str, text: str) -> _Comparison:
    """One comparison; a version with wildcards or missing parts stands for the range it covers."""
    operator = _ALIASES.get(operator, operator)
    core, _, prerelease = text.removeprefix("v").partition("+")[0].partition("-")
    numbers = _known_parts(core)
    if len(numbers) == 3:
        version = parse_version(text)
        return _Comparison(_exact_test(operator, version), bool(version.prerelease))
    if prerelease:
        raise ValueError(f"{text!r} cannot carry a pre-release: it needs a full MAJOR.MINOR.PATCH")
    return _Comparison(_range_test(operator, *_span(numbers)), False)


def _known_parts(parts: str) -> list[int]:
    """The leading numeric parts of a loose version; everything after a wildcard is wild."""
    numbers: list[int] = []
    for part in parts.split("."):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return numbers


def _floor(major: int, minor: int = 0, patch: int = 0) -> Version:
    """The lowest version with these numbers: its `-0` pre-release."""
    return Version(major, minor, patch, (0,))


def _span(numbers: list[int]) -> tuple[Version, Version | None]:
    """The versions a partial version covers, as [low, high); high None means unbounded."""
    if not numbers:
        return _floor(0), None
    if len(numbers) == 1:
        return _floor(numbers[0]), _floor(numbers[0] + 1)
    return _floor(numbers[0], numbers[1]), _floor(numbers[0], numbers[1] + 1)


def _range_test(operator: str, low: Version, high: Version | None) -> _Test:
    """Comparison against a partial version covering [low, high): `>1.2` is `>=1.3.0`, etc."""

    def inside(v: Version) -> bool:
        return low <= v and (high is None or v < high)

    tests: dict[str, _Test] = {
        "=": inside,
        "~": inside,
        "^": _caret_partial(low, high),
        "!=": lambda v: not inside(v),
        ">": lambda v: high is not None and v >= high,
        ">=": lambda v: v >= low,
        "<": lambda v: v < low,
        "<=": lambda v: high is None or v < high,
    }
    return tests[operator]


def _caret_partial(low: Version, high: Version | None) -> _Test:
    # `^1` and `^1.x` allow the whole major; `^1.2` allows up to 2.0.0; `^0.2` stays in 0.2.
    if high is None:
        return lambda v: True
    upper = _floor(low.major + 1) if low.major > 0 else high
    return lambda v: low <= v < upper


def _exact_test(operator: str, version: Version) -> _Test:
    tests: dict[str, _Test] = {
        "=": lambda v: v == version,
        "!=": lambda v: v != version,
        ">": lambda v: v > version,
        ">=": lambda v: v >= version,
        "<": lambda v: v < version,
        "<=": lambda v: v <= version,
    }
    if operator in tests:
        return tests[operator]
    upper = _tilde_upper(version) if operator == "~" else _caret_upper(version)
    return lambda v: version <= v < upper


def _tilde_upper(version: Version) -> Version:
    return _floor(version.major, version.minor + 1)


def _caret_upper(version: Version) -> Version:
    if version.major > 0:
        return _floor(version.major + 1)
    if version.minor > 0:
        return _floor(0, version.minor + 1)
    return _floor(0, 0, version.patch + 1)


def max_satisfying(
    versions: Iterable[str], constraint: str, *, include_prerelease: bool = False
) -> str | None:
    """The highest of `versions` (as written) that satisfies `constraint`, or None; versions that
    do not parse are skipped. Raises ValueError when the constraint itself is malformed."""
    allowed = parse_constraint(constraint)
    best: tuple[Version, str] | None = None
    for text in versions:
        try:
            version = parse_version(text)
        except ValueError:
            continue
        if allowed.allows(version, include_prerelease=include_prerelease) and (
            best is None or version > best[0]
        ):
            best = (version, text)
    return best[1] if best else None
