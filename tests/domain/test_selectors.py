"""Label selectors: every operator, whitespace, prefixed keys, and refused syntax."""

from __future__ import annotations

import pytest

from lamina.domain.errors import InvalidInput
from lamina.domain.selectors import Requirement, Selector, parse_selector

LABELS = {"env": "prod", "tier": "web", "example.com/team": "core", "empty": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("   ", True),
        ("env=prod", True),
        ("env==prod", True),
        ("env=dev", False),
        ("env!=dev", True),
        ("env!=prod", False),
        ("missing!=x", True),  # absent keys satisfy != as in Kubernetes
        ("env in (dev,prod)", True),
        ("env in (dev,staging)", False),
        ("missing in (a)", False),
        ("env notin (dev,staging)", True),
        ("env notin (prod)", False),
        ("missing notin (a)", True),
        ("tier", True),
        ("missing", False),
        ("!missing", True),
        ("!tier", False),
        ("example.com/team=core", True),
        ("example.com/team in (ops)", False),
        ("empty=", True),
        ("env=", False),
        ("env=prod,tier=web", True),
        ("env=prod,tier=api", False),
        ("env = prod , tier in ( web , api ) , !missing", True),
        ("env in(prod),tier notin(api)", True),
    ],
)
def test_matches(text: str, expected: bool) -> None:
    assert parse_selector(text).matches(LABELS) is expected


def test_empty_selector_matches_no_labels_too() -> None:
    assert parse_selector("").matches({}) is True
    assert parse_selector("") == Selector(())


@pytest.mark.parametrize(
    ("text", "requirement"),
    [
        ("a=b", Requirement("a", "=", ("b",))),
        ("a==b", Requirement("a", "=", ("b",))),
        ("a!=b", Requirement("a", "!=", ("b",))),
        ("a in (c, b, c)", Requirement("a", "in", ("b", "c"))),
        ("a notin (x)", Requirement("a", "notin", ("x",))),
        ("a", Requirement("a", "exists")),
        ("! a", Requirement("a", "!")),
        ("x.io/a_b.c-d=V_1.2-3", Requirement("x.io/a_b.c-d", "=", ("V_1.2-3",))),
    ],
)
def test_parses_requirements(text: str, requirement: Requirement) -> None:
    assert parse_selector(text).requirements == (requirement,)


def test_canonical_text_parses_back() -> None:
    selector = parse_selector(" b in (z,y) ,a!=1, !c,d, e==f ")
    assert str(selector) == "b in (y,z),a!=1,!c,d,e=f"
    assert parse_selector(str(selector)) == selector


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("env=prod,", "ends with a comma"),
        (",env", "expected a label key"),
        ("env=prod,,tier", "expected a label key"),
        ("env prod", "expected an operator"),
        ("env in prod", "expected '('"),
        ("env in (a,b", "found the end"),
        ("env in ()", "expected a label value"),
        ("env in (a,)", "expected a label value"),
        ("env in (a b)", "expected ','"),
        ("env notin", "found the end"),
        ("env=a=b", "expected ','"),
        ("env=(a)", "expected a label value"),
        ("env > 1", "expected an operator"),
        ("env>1", "not a valid label key"),
        ("!", "expected a label key"),
        ("!env=a", "expected ','"),
        ("-env=a", "not a valid label key"),
        ("Bad_Prefix/env=a", "invalid prefix"),
        ("/env=a", "invalid prefix"),
        ("a/b/c=d", "invalid prefix"),
        ("env=-x", "not a valid label value"),
        ("env=" + "x" * 64, "not a valid label value"),
        ("k" * 64, "not a valid label key"),
        ("env=prod)", "expected ','"),
    ],
)
def test_refuses_bad_syntax(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_selector(text)
    [issue] = raised.value.issues
    assert issue.path == "selector"
    assert issue.code == "invalid_selector"
    assert fragment in issue.message
