"""Reading object identities without parsing must agree with parsing whenever it answers."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.adapters import yamlio


def parsed(text: str) -> list[tuple[str, str, str]]:
    out = []
    for doc in yamlio.load_all(text):
        if isinstance(doc, dict) and doc.get("kind"):
            meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
            out.append(
                (str(doc["kind"]), str(meta.get("namespace") or ""), str(meta.get("name", "")))
            )
    return out


def agrees(text: str) -> bool:
    scanned = yamlio.scan_identities(text)
    return scanned is None or scanned == parsed(text)


words = st.text(alphabet=string.ascii_letters + string.digits + "-._/ :#'\"{}[]&*!|>", max_size=12)
scalars = st.one_of(words, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False))
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(words, inner, max_size=3)),
    max_leaves=8,
)


@st.composite
def manifests(draw: Any) -> str:
    docs = []
    for _ in range(draw(st.integers(1, 3))):
        metadata: dict[str, Any] = {"name": draw(scalars)}
        if draw(st.booleans()):
            metadata["namespace"] = draw(scalars)
        metadata["labels"] = draw(st.dictionaries(words, words, max_size=2))
        doc: dict[str, Any] = {"apiVersion": "v1", "kind": draw(scalars), "metadata": metadata}
        doc["data"] = draw(trees)
        docs.append(doc)
    text = yamlio.dump_all(docs)
    style = draw(st.sampled_from(["as is", "comments", "quotes", "indent4"]))
    if style == "comments":
        text = "# Source: chart/templates/x.yaml\n" + text.replace("\n---\n", "\n---\n# c\n")
    elif style == "indent4":
        text = text.replace("\n  ", "\n    ")
    return text


@settings(max_examples=300, deadline=None)
@given(manifests())
def test_scanner_agrees_with_the_parser(text: str) -> None:
    assert agrees(text)


@pytest.mark.parametrize(
    "text",
    [
        "kind: X\nmetadata: {name: a}\n",
        "kind: X\nmetadata:\n  name: 1e3\n",
        "kind: X\nmetadata:\n    name: a\n  namespace: b\n",
        "- kind: X\n",
        "kind: X\nkind: Y\n",
        "kind: &k X\nmetadata:\n  name: a\n",
        "kind: X\nmetadata:\n  name: 'it''s'\n",
        'kind: X\nmetadata:\n  name: "a\\u0041"\n',
        "kind: X\nmetadata:\n\tname: a\n",
        "%YAML 1.2\n---\nkind: X\n",
        "kind: X\nmetadata: &m\n  name: a\n",
    ],
)
def test_unsure_texts_are_left_to_the_parser(text: str) -> None:
    assert yamlio.scan_identities(text) is None


def test_plain_manifests_are_read() -> None:
    text = (
        "---\n# Source: web/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n"
        '  name: "web"\n  labels:\n    name: other\n  namespace: apps # here\ndata:\n'
        "  x: |\n    kind: Fake\n---\nkind: Namespace\nmetadata:\n  name: apps\n---\n# empty\n"
    )
    assert yamlio.scan_identities(text) == [("ConfigMap", "apps", "web"), ("Namespace", "", "apps")]
    assert agrees(text)
