"""References in values: finding, typed substitution, no re-scanning, errors, merging."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lamina.domain.errors import InvalidInput
from lamina.domain.values import (
    Context,
    Reference,
    coalesce,
    find_references,
    parse_reference,
    render,
    substitute,
)

CONTEXT = Context(
    params={
        "replicas": 3,
        "ratio": 2.5,
        "whole": 2.0,
        "debug": True,
        "region": "eu-west-1",
        "nothing": None,
        "extra": {"a": [1, "b"]},
        "sneaky": "x\n  evil: true",
        "other": "${{ params.region }}",
    },
    cluster_name="prod-1",
    cluster_labels={"env": "prod", "app.kubernetes.io/name": "shop"},
)


def issue_codes(tree: Any, context: Context = CONTEXT) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as caught:
        substitute(tree, context)
    assert caught.value.detail == "References cannot be resolved"
    return [(issue.path, issue.code) for issue in caught.value.issues]


# --- parsing and finding ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "scope", "name"),
    [
        ("params.replicas", "params", "replicas"),
        ("  params._x1  ", "params", "_x1"),
        ("cluster.name", "cluster", "name"),
        ("cluster.labels.app.kubernetes.io/name", "cluster", "labels.app.kubernetes.io/name"),
        ("foo.bar", "", ""),
        ("params.1x", "", ""),
        ("params.a-b", "", ""),
        ("params", "", ""),
        ("cluster.region", "", ""),
        ("cluster.labels.", "", ""),
        ("cluster.labels.a b", "", ""),
        ("", "", ""),
    ],
)
def test_parse_reference(expression: str, scope: str, name: str) -> None:
    ref = parse_reference(expression)
    assert (ref.scope, ref.name) == (scope, name)
    assert ref.valid == bool(scope)
    assert ref.expression == expression.strip()


def test_find_references_reports_paths_in_document_order() -> None:
    tree = {
        "image": {"tag": "${{params.tag}}"},
        "args": ["--x", "a ${{ cluster.name }} b ${{ cluster.labels.env }}"],
        "odd key": "${{ nope }}",
        1: "${{ params.k }}",
        "${{ params.in_key }}": "keys are not examined",
        "escaped": "$${{ params.no }}",
        "number": 5,
    }
    found = find_references(tree, "values")
    assert found == [
        ("values.image.tag", Reference("params.tag", "params", "tag")),
        ("values.args[1]", Reference("cluster.name", "cluster", "name")),
        ("values.args[1]", Reference("cluster.labels.env", "cluster", "labels.env")),
        ('values["odd key"]', Reference("nope", "", "")),
        ('values["1"]', Reference("params.k", "params", "k")),
    ]


def test_find_references_unclosed_reference_is_malformed() -> None:
    [(path, ref)] = find_references({"a": "x ${{ params.y"})
    assert path == "a"
    assert not ref.valid
    assert ref.expression == "params.y"


# --- substitution -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${{ params.replicas }}", 3),
        ("${{params.ratio}}", 2.5),
        ("${{ params.debug }}", True),
        ("${{ params.nothing }}", None),
        ("${{ params.extra }}", {"a": [1, "b"]}),
        ("${{ params.region }}", "eu-west-1"),
        ("${{ cluster.name }}", "prod-1"),
        ("${{ cluster.labels.app.kubernetes.io/name }}", "shop"),
    ],
)
def test_exact_reference_keeps_the_type(text: str, expected: Any) -> None:
    result = substitute({"v": text}, CONTEXT)
    assert result == {"v": expected}
    assert type(result["v"]) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n=${{ params.replicas }}", "n=3"),
        ("${{ params.replicas }} ", "3 "),
        (" ${{ params.debug }}", " true"),
        ("r=${{ params.ratio }}", "r=2.5"),
        ("w=${{ params.whole }}", "w=2.0"),
        ("[${{ params.nothing }}]", "[]"),
        ("e=${{ params.extra }}", 'e={"a":[1,"b"]}'),
        ("${{ params.region }}/${{ cluster.name }}", "eu-west-1/prod-1"),
        ("${{ cluster.labels.env }}-${{ cluster.labels.env }}", "prod-prod"),
    ],
)
def test_references_in_longer_strings_interpolate(text: str, expected: str) -> None:
    assert substitute([text], CONTEXT) == [expected]


@pytest.mark.parametrize(
    ("value", "text"),
    [("a", "a"), (True, "true"), (False, "false"), (None, ""), (7, "7"), (1e20, "1e+20")],
)
def test_render(value: Any, text: str) -> None:
    assert render(value) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$${{ params.region }}", "${{ params.region }}"),
        ("cost: $${{ x }} and ${{ params.replicas }}", "cost: ${{ x }} and 3"),
        ("$$${{ params.replicas }}", "$${{ params.replicas }}"),
        ("$${{", "${{"),
        ("plain $ and {{ braces }}", "plain $ and {{ braces }}"),
    ],
)
def test_escape(text: str, expected: str) -> None:
    assert substitute(text, CONTEXT) == expected


def test_escape_is_not_a_reference() -> None:
    assert find_references("$${{ params.missing }}") == []


def test_substituted_text_is_never_rescanned() -> None:
    result = substitute(
        {"a": "${{ params.sneaky }}", "b": "${{ params.other }}", "c": "<${{ params.other }}>"},
        CONTEXT,
    )
    assert result == {
        "a": "x\n  evil: true",
        "b": "${{ params.region }}",
        "c": "<${{ params.region }}>",
    }


def test_cluster_name_may_be_empty() -> None:
    assert substitute("${{ cluster.name }}", Context(params={})) == ""


def test_errors_are_collected_with_their_codes_and_paths() -> None:
    tree = {
        "a": "${{ params.missing }}",
        "b": ["ok", "x ${{ cluster.labels.tier }} ${{ foo.bar }}"],
        "c": "${{ params.1x }}",
        "d": "${{ cluster.region }}",
        "e": "open ${{ params.replicas",
    }
    assert issue_codes(tree) == [
        ("a", "unknown_parameter"),
        ("b[1]", "unknown_label"),
        ("b[1]", "invalid_reference"),
        ("c", "invalid_reference"),
        ("d", "invalid_reference"),
        ("e", "invalid_reference"),
    ]


def test_error_messages_name_the_reference() -> None:
    with pytest.raises(InvalidInput) as caught:
        substitute({"a": "${{ params.missing }}", "b": "${{ cluster.labels.tier }}"}, CONTEXT)
    first, second = caught.value.issues
    assert "'missing'" in first.message
    assert "${{ params.missing }}" in first.message
    assert "'tier'" in second.message


def test_substitute_uses_the_base_path() -> None:
    assert issue_codes({"x": "${{ params.q }}"}) == [("x", "unknown_parameter")]
    with pytest.raises(InvalidInput) as caught:
        substitute({"x": "${{ params.q }}"}, CONTEXT, "spec.layers[web].values")
    assert caught.value.issues[0].path == "spec.layers[web].values.x"


def test_input_and_context_are_not_mutated() -> None:
    tree = {"a": ["${{ params.extra }}", {"b": "${{ params.replicas }}"}], "k": 1}
    before = copy.deepcopy(tree)
    params_before = copy.deepcopy(dict(CONTEXT.params))
    result = substitute(tree, CONTEXT)
    assert tree == before
    result["a"][0]["a"].append("changed")
    assert dict(CONTEXT.params) == params_before


def test_keys_and_non_string_leaves_are_kept() -> None:
    tree = {"${{ params.replicas }}": 1.5, 2: [None, False, 0]}
    assert substitute(tree, CONTEXT) == tree


# --- coalesce -----------------------------------------------------------------------------------


def test_coalesce_merges_maps_deeply() -> None:
    base = {"image": {"repo": "nginx", "tag": "1"}, "replicas": 1}
    overlay = {"image": {"tag": "2"}, "extra": True}
    assert coalesce(base, overlay) == {
        "image": {"repo": "nginx", "tag": "2"},
        "replicas": 1,
        "extra": True,
    }


def test_coalesce_replaces_lists_and_scalars() -> None:
    base = {"args": [1, 2, 3], "name": "a"}
    assert coalesce(base, {"args": [9], "name": "b"}) == {"args": [9], "name": "b"}


def test_coalesce_none_deletes_keys() -> None:
    base = {"a": {"b": 1, "c": 2}, "d": 3}
    assert coalesce(base, {"a": {"b": None}, "d": None, "missing": None}) == {"a": {"c": 2}}


def test_coalesce_none_inside_a_new_map_is_dropped() -> None:
    assert coalesce({}, {"a": {"b": None, "c": 1}}) == {"a": {"c": 1}}


def test_coalesce_type_changes_replace() -> None:
    assert coalesce({"a": {"b": 1}}, {"a": "flat"}) == {"a": "flat"}
    assert coalesce({"a": "flat"}, {"a": {"b": 1}}) == {"a": {"b": 1}}
    assert coalesce({"a": [1]}, {"a": {"b": 1}}) == {"a": {"b": 1}}


def test_coalesce_applies_overlays_in_order() -> None:
    assert coalesce({"a": 1}, {"a": 2, "b": 1}, None, {"a": 3}) == {"a": 3, "b": 1}
    assert coalesce({"a": 1}) == {"a": 1}


def test_coalesce_returns_a_fresh_structure() -> None:
    base = {"a": {"b": [1]}, "c": {"d": 1}}
    overlay = {"c": {"e": [2]}}
    result = coalesce(base, overlay)
    result["a"]["b"].append(9)
    result["c"]["e"].append(9)
    result["c"]["d"] = 5
    assert base == {"a": {"b": [1]}, "c": {"d": 1}}
    assert overlay == {"c": {"e": [2]}}


# --- properties ---------------------------------------------------------------------------------

safe_text = st.text().filter(lambda text: "${{" not in text)
json_trees = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | safe_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.text())
def test_exact_reference_gives_the_text_exactly(text: str) -> None:
    context = Context(params={"p": text})
    assert substitute({"a": "${{ params.p }}"}, context) == {"a": text}
    assert substitute({"a": "pre-${{ params.p }}"}, context) == {"a": "pre-" + text}


@given(json_trees)
def test_trees_without_references_are_unchanged(tree: Any) -> None:
    assert substitute(tree, Context(params={})) == tree
    assert find_references(tree) == []
