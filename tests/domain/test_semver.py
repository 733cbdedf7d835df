"""Semantic versions and Helm-style version ranges."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lamina.domain.semver import (
    Version,
    is_exact,
    max_satisfying,
    parse_constraint,
    parse_version,
)

# --- versions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3", Version(1, 2, 3)),
        ("v1.2.3", Version(1, 2, 3)),
        ("1", Version(1, 0, 0)),
        ("1.2", Version(1, 2, 0)),
        ("0.0.0", Version(0, 0, 0)),
        ("2024.01.15", Version(2024, 1, 15)),
        ("1.0.0-rc.1", Version(1, 0, 0, ("rc", 1))),
        ("1.0.0-alpha-2.0", Version(1, 0, 0, ("alpha-2", 0))),
        ("1.0.0-0a.01b", Version(1, 0, 0, ("0a", "01b"))),
        ("1.0.0+build.5", Version(1, 0, 0, (), "build.5")),
        ("1.0.0-beta+exp.sha.5114f85", Version(1, 0, 0, ("beta",), "exp.sha.5114f85")),
    ],
)
def test_parse_version(text: str, expected: Version) -> None:
    version = parse_version(text)
    assert version == expected
    assert (version.prerelease, version.build) == (expected.prerelease, expected.build)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v",
        "V1.2.3",
        "1.2.3.4",
        "1.2.3-",
        "1.2.3-rc..1",
        "1.2.3+",
        "1.2.3-01",
        "1.2-rc.1",
        " 1.2.3",
        "1.x",
        "a.b.c",
        "-1.2.3",
    ],
)
def test_parse_version_rejects_bad_text(text: str) -> None:
    with pytest.raises(ValueError, match="not a version"):
        parse_version(text)


@pytest.mark.parametrize(
    ("version", "text"),
    [
        (Version(1, 2, 3), "1.2.3"),
        (Version(1, 0, 0, ("rc", 1)), "1.0.0-rc.1"),
        (Version(1, 0, 0, ("rc",), "b.7"), "1.0.0-rc+b.7"),
    ],
)
def test_version_str(version: Version, text: str) -> None:
    assert str(version) == text


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        ("1.2.3", True),
        ("v1.2.3-rc.1", True),
        ("1.2.3+meta", True),
        ("1.2", False),
        ("1", False),
        ("^1.2.3", False),
        ("1.2.x", False),
        (">=1.0.0", False),
        ("1.2.3-01", False),
        ("", False),
    ],
)
def test_is_exact(text: str, exact: bool) -> None:
    assert is_exact(text) is exact


SPEC_CHAIN = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.1.0",
    "1.10.0",
    "2.0.0",
]


def test_precedence_follows_the_semver_spec_example() -> None:
    versions = [parse_version(text) for text in SPEC_CHAIN]
    for lower, higher in itertools.pairwise(versions):
        assert lower < higher
        assert higher > lower
        assert lower <= higher
        assert not higher <= lower
    assert sorted(reversed(versions)) == versions


def test_build_metadata_is_ignored_for_precedence() -> None:
    a, b = parse_version("1.0.0+a"), parse_version("1.0.0+b")
    assert a == b
    assert a <= b
    assert b <= a
    assert hash(a) == hash(b)
    assert a != parse_version("1.0.1")


def test_numeric_identifiers_sort_before_alphanumeric() -> None:
    assert parse_version("1.0.0-2") < parse_version("1.0.0-10")
    assert parse_version("1.0.0-99") < parse_version("1.0.0-a")


def test_version_equality_with_other_types() -> None:
    assert Version(1, 0, 0) != "1.0.0"
    with pytest.raises(TypeError):
        _ = Version(1, 0, 0) < "1.0.0"


# --- constraints --------------------------------------------------------------------------------


def allows(constraint: str, version: str, *, include_prerelease: bool = False) -> bool:
    return parse_constraint(constraint).allows(
        parse_version(version), include_prerelease=include_prerelease
    )


CASES = [
    # exact and operators
    ("1.2.3", "1.2.3", True),
    ("1.2.3", "1.2.4", False),
    ("=1.2.3", "1.2.3+build", True),
    ("v1.2.3", "1.2.3", True),
    ("!=1.2.3", "1.2.3", False),
    ("!=1.2.3", "1.2.4", True),
    (">1.2.3", "1.2.4", True),
    (">1.2.3", "1.2.3", False),
    ("<1.2.3", "1.2.2", True),
    ("<1.2.3", "1.2.3", False),
    (">=1.2.3", "1.2.3", True),
    (">=1.2.3", "1.2.2", False),
    ("<=1.2.3", "1.2.3", True),
    ("<=1.2.3", "1.2.4", False),
    ("=>1.2.3", "1.2.3", True),
    ("=<1.2.3", "1.2.3", True),
    ("> 1.2.3", "1.3.0", True),
    # partial versions stand for the range they cover
    ("1.2", "1.2.9", True),
    ("1.2", "1.3.0", False),
    ("1", "1.9.9", True),
    ("1", "2.0.0", False),
    (">1.2", "1.2.9", False),
    (">1.2", "1.3.0", True),
    (">1", "1.9.0", False),
    (">1", "2.0.0", True),
    ("<=1.2", "1.2.9", True),
    ("<=1.2", "1.3.0", False),
    ("<1.2", "1.1.9", True),
    ("<1.2", "1.2.0", False),
    (">=1.2", "1.2.0", True),
    ("!=1.2", "1.2.5", False),
    ("!=1.2", "1.3.0", True),
    # tilde
    ("~1.2.3", "1.2.3", True),
    ("~1.2.3", "1.2.9", True),
    ("~1.2.3", "1.3.0", False),
    ("~1.2.3", "1.2.2", False),
    ("~1.2", "1.2.0", True),
    ("~1.2", "1.3.0", False),
    ("~1", "1.0.0", True),
    ("~1", "1.9.9", True),
    ("~1", "2.0.0", False),
    ("~>1.2.3", "1.2.5", True),
    # caret
    ("^1.2.3", "1.2.3", True),
    ("^1.2.3", "1.9.9", True),
    ("^1.2.3", "2.0.0", False),
    ("^1.2.3", "1.2.2", False),
    ("^0.2.3", "0.2.9", True),
    ("^0.2.3", "0.3.0", False),
    ("^0.2.3", "0.2.2", False),
    ("^0.0.3", "0.0.3", True),
    ("^0.0.3", "0.0.4", False),
    ("^1.2", "1.9.0", True),
    ("^1.2", "2.0.0", False),
    ("^1.2", "1.1.0", False),
    ("^0.2", "0.2.5", True),
    ("^0.2", "0.3.0", False),
    ("^0", "0.9.9", True),
    ("^0", "1.0.0", False),
    ("^1.x", "1.5.0", True),
    # wildcards
    ("*", "0.0.0", True),
    ("*", "123.4.5", True),
    ("x", "1.0.0", True),
    ("1.2.x", "1.2.7", True),
    ("1.2.X", "1.3.0", False),
    ("1.x", "1.9.0", True),
    ("1.*", "2.0.0", False),
    ("1.x.x", "1.4.4", True),
    (">=1.x", "1.0.0", True),
    ("<1.x", "0.9.9", True),
    ("<1.x", "1.0.0", False),
    # hyphen ranges
    ("1.2 - 1.4.5", "1.2.0", True),
    ("1.2 - 1.4.5", "1.4.5", True),
    ("1.2 - 1.4.5", "1.4.6", False),
    ("1.2 - 1.4.5", "1.1.9", False),
    ("1.2.3 - 2", "2.9.9", True),
    ("1.2.3 - 2", "3.0.0", False),
    # AND and OR
    (">=1.2, <2.0.0", "1.9.0", True),
    (">=1.2, <2.0.0", "2.0.0", False),
    (">=1.2 <2.0.0", "1.1.0", False),
    (">= 1.2 , < 2", "1.5.0", True),
    ("<1.0.0 || >=3.0.0", "0.5.0", True),
    ("<1.0.0 || >=3.0.0", "2.0.0", False),
    ("<1.0.0 || >=3.0.0", "3.1.0", True),
    ("1.2 - 1.3 || ^3", "3.3.0", True),
    ("1.2 - 1.3 || ^3", "1.3.5", True),
    ("1.2 - 1.3 || ^3", "2.0.0", False),
]


@pytest.mark.parametrize(("constraint", "version", "expected"), CASES)
def test_constraint(constraint: str, version: str, expected: bool) -> None:
    assert allows(constraint, version) is expected


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        (">=1.0.0", "1.5.0-rc.1", False),
        ("*", "1.0.0-rc.1", False),
        ("^1.2.3", "1.3.0-beta", False),
        (">=1.0.0-0", "1.5.0-rc.1", True),
        (">=1.0.0-0 <2.0.0", "1.5.0-rc.1", True),
        ("1.0.0-rc.1", "1.0.0-rc.1", True),
        ("^1.0.0-beta", "1.0.0-rc.1", True),
        ("^1.0.0-beta", "1.0.0-alpha", False),
        ("<1.0.0 || >=2.0.0-0", "0.5.0-rc.1", False),
        ("<1.0.0 || >=2.0.0-0", "2.1.0-rc.1", True),
    ],
)
def test_prereleases_need_a_constraint_that_names_one(
    constraint: str, version: str, expected: bool
) -> None:
    assert allows(constraint, version) is expected


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        (">=1.0.0", "1.5.0-rc.1", True),
        ("*", "1.0.0-rc.1", True),
        ("1.2.x", "1.2.0-rc.1", True),
        ("^1.2.3", "2.0.0-rc.1", False),
        ("~1.2.3", "1.3.0-rc.1", False),
        ("<1.2", "1.2.0-rc.1", False),
    ],
)
def test_include_prerelease(constraint: str, version: str, expected: bool) -> None:
    assert allows(constraint, version, include_prerelease=True) is expected


def test_constraint_str_is_the_original_text() -> None:
    text = ">= 1.2, < 2 || ~3.1"
    assert str(parse_constraint(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "||",
        "1.2.3 ||",
        ">>1",
        "abc",
        "1.2 -1.3",
        "1.2 - ",
        ">=1.2.3 <",
        "1.2.3-",
        "1.2-rc.1",
        "1.2.3-01",
        "=",
        "1.2.3.4",
        "~^1",
        "1.2.3 | 2.0.0",
    ],
)
def test_parse_constraint_rejects_bad_syntax(text: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        parse_constraint(text)


# --- max_satisfying -----------------------------------------------------------------------------

AVAILABLE = ["1.0.0", "1.2.0", "1.10.1", "2.0.0-rc.1", "2.0.0", "2.1.0-beta", "not-a-version"]


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("^1", "1.10.1"),
        ("*", "2.0.0"),
        ("~1.2", "1.2.0"),
        (">=3", None),
        (">=2.0.0-0", "2.1.0-beta"),
        ("1.0.0", "1.0.0"),
    ],
)
def test_max_satisfying(constraint: str, expected: str | None) -> None:
    assert max_satisfying(AVAILABLE, constraint) == expected


def test_max_satisfying_with_prereleases() -> None:
    assert max_satisfying(AVAILABLE, "*", include_prerelease=True) == "2.1.0-beta"
    assert max_satisfying(AVAILABLE, "^1", include_prerelease=True) == "1.10.1"


def test_max_satisfying_returns_the_text_as_written() -> None:
    assert max_satisfying(["v1.0.0", "1.1"], ">=1") == "1.1"
    assert max_satisfying(["v1.0.0"], "1") == "v1.0.0"


def test_max_satisfying_rejects_a_bad_constraint() -> None:
    with pytest.raises(ValueError):
        max_satisfying(AVAILABLE, ">>1")


# --- properties ---------------------------------------------------------------------------------

numbers = st.integers(min_value=0, max_value=50)
identifiers = st.integers(min_value=0, max_value=20) | st.sampled_from(["alpha", "beta", "rc"])
versions = st.builds(
    Version,
    numbers,
    numbers,
    numbers,
    st.tuples(identifiers) | st.just(()) | st.tuples(identifiers, identifiers),
)


@given(versions)
def test_str_and_parse_round_trip(version: Version) -> None:
    assert parse_version(str(version)) == version
    assert is_exact(str(version))


@given(versions, versions)
def test_exact_operators_agree_with_ordering(a: Version, b: Version) -> None:
    text = str(b)
    assert allows(f">={text}", str(a), include_prerelease=True) is (a >= b)
    assert allows(f"<{text}", str(a), include_prerelease=True) is (a < b)
    assert allows(f"!={text}", str(a), include_prerelease=True) is (a != b)
