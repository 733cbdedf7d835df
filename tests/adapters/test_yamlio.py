"""The YAML adapter: plain values in, clear errors for hostile or malformed input."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.adapters import yamlio
from lamina.domain.errors import InvalidInput, PayloadTooLarge


def codes(text: str) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as caught:
        yamlio.load(text)
    return [(issue.path, issue.code) for issue in caught.value.issues]


def test_plain_values_keep_order_and_dates_stay_text() -> None:
    tree = yamlio.load("z: 1\na: 2024-01-01\nm: {b: [1, 2.5, true, null]}\n")
    assert list(tree) == ["z", "a", "m"]
    assert tree["a"] == "2024-01-01"
    assert tree["m"]["b"] == [1, 2.5, True, None]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [unclosed", [("", "invalid_yaml")]),
        ("a: 1\na: 2\n", [("", "invalid_yaml")]),
        ("---\na: 1\n---\nb: 2\n", [("", "invalid_yaml")]),
        ("a: !!binary aGVsbG8=\n", [("a", "wrong_type")]),
        ("a: !!set {x, y}\n", [("a", "wrong_type")]),
        ("spec:\n  1: one\n", [('spec["1"]', "wrong_type")]),
        ("a: !!python/object:os.system echo\n", [("", "invalid_yaml")]),
    ],
)
def test_malformed_or_unsupported_input(text: str, expected: list[tuple[str, str]]) -> None:
    assert codes(text) == expected


def test_error_names_line_and_column() -> None:
    with pytest.raises(InvalidInput) as caught:
        yamlio.load("metadata:\n  name: x\n  name: y\n")
    assert "line 3" in caught.value.issues[0].message


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    assert codes("\n".join(lines)) == [("", "too_large")]


def test_deep_nesting_is_refused() -> None:
    text = "a: " + "[" * 150 + "]" * 150
    assert codes(text)[0][1] == "too_deep"


def test_size_limit() -> None:
    with pytest.raises(PayloadTooLarge):
        yamlio.load("a: " + "x" * 100, max_bytes=50)


def test_dump_keeps_order_and_never_writes_aliases() -> None:
    shared = {"k": [1, 2]}
    text = yamlio.dump({"b": shared, "a": shared, "v": "1.0", "when": "2024-01-01"})
    assert "&" not in text and "*" not in text
    assert text.index("b:") < text.index("a:")
    assert yamlio.load(text) == {"b": shared, "a": shared, "v": "1.0", "when": "2024-01-01"}


# Scalars whose YAML form depends on what they look like: words YAML 1.1 reads as booleans
# or null, numbers in every notation, dates, indicators, blanks, long and multi-line text.
TRICKY = [
    "",
    " ",
    "~",
    "null",
    "Null",
    "NULL",
    "true",
    "True",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "0",
    "-1",
    "0x1F",
    "0o17",
    "017",
    "1_000",
    "1e3",
    "1.5",
    ".5",
    "-.inf",
    ".NaN",
    "1:30",
    "2026-01-01",
    "2026-01-01T10:00:00Z",
    "- item",
    "key: value",
    "#comment",
    "&anchor",
    "*alias",
    "!tag",
    "%directive",
    "@at",
    "`tick",
    "'quoted'",
    '"double"',
    "a\nb",
    "a\n",
    "  leading",
    "trailing  ",
    "tab\there",
    "ünïcødé",
    "emoji 🙂",
    "x" * 300,
    "=",
    "<<",
    "[1, 2]",
    "{a: b}",
    "|",
    ">",
    "?",
    ":",
    "-",
    "---",
    "...",
]
plain_text = st.one_of(st.sampled_from(TRICKY), st.text(max_size=40))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    plain_text,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(plain_text, inner, max_size=5)
    ),
    max_leaves=40,
)


class ReferenceDumper(yaml.CSafeDumper):
    """PyYAML's safe dumper as yamlio configures it, without its shortcuts."""

    def ignore_aliases(self, data: object) -> bool:
        return True


@settings(max_examples=400, deadline=None)
@given(values)
def test_dump_writes_what_pyyaml_writes(value: object) -> None:
    """The dumper's shortcuts change nothing: the text is PyYAML's safe dumper's own."""
    expected = yaml.dump(
        value,
        Dumper=ReferenceDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )
    assert yamlio.dump(value) == expected
    assert yamlio.dump(value) == expected  # again, with every scalar's tag remembered
