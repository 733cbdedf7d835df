"""yamlio.locate: the line where a path is written; error_line: where the text breaks."""

from __future__ import annotations

import pytest

from lamina.adapters import yamlio

TEXT = """\
apiVersion: lamina.dev/v1
metadata:
  name: shop
  tags: [a, b]
spec:
  layers:
    - name: ingress
      chart:
        name: gateway
        version: ^1.4.0
    - name: issuer
      values:
        "odd.key": 1
        nested:
          deep: true
"""


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("", 1),
        ("apiVersion", 1),
        ("metadata", 2),
        ("metadata.name", 3),
        ("metadata.tags[1]", 4),
        ("spec.layers", 6),
        ("spec.layers[0]", 7),
        ("spec.layers[0].chart.version", 10),
        ("spec.layers[1].values.nested.deep", 15),
        ('spec.layers[1].values["odd.key"]', 13),
        ("spec.layers[issuer].values.nested", 14),  # a list entry named in the path
    ],
)
def test_locate_walks_maps_and_lists(path: str, line: int) -> None:
    assert yamlio.locate(TEXT, path) == line


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("metadata.description", 2),  # missing key: its mapping's line
        ("spec.layers[1].chart.version", 11),  # missing under an existing entry
        ("spec.layers[7].chart", 6),  # index past the end: the list's key
        ("spec.layers[0].chart.version.deeper", 10),  # past a scalar
        ("nowhere.at.all", 1),  # nothing matches: the document's first line
    ],
)
def test_locate_falls_back_to_the_deepest_existing_parent(path: str, line: int) -> None:
    assert yamlio.locate(TEXT, path) == line


@pytest.mark.parametrize("text", ["spec: [\n", "a: 1\n  b: 2\n", "", "# only a comment\n"])
def test_locate_is_none_when_the_text_holds_no_document(text: str) -> None:
    assert yamlio.locate(text, "spec") is None


def test_error_line_names_the_syntax_error_and_the_duplicate_key() -> None:
    assert yamlio.error_line("a: 1\nb: [1,\nc: 2\n") is not None
    assert yamlio.error_line("a: 1\nb:\n  c: 1\n  c: 2\n") == 4
    assert yamlio.error_line("a: 1\n") is None


def test_a_locator_answers_as_locate_for_every_path_of_one_text() -> None:
    paths = ["spec.layers[1].chart.version", "metadata.description", "nowhere.at.all", "spec"]
    line_of = yamlio.locator(TEXT)
    assert [line_of(p) for p in paths] == [yamlio.locate(TEXT, p) for p in paths]
    assert yamlio.locator("spec: [\n")("spec") is None
