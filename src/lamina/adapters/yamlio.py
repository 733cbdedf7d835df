"""YAML in and out (PyYAML with the C parser), refusing what JSON cannot hold.

Timestamps stay strings, duplicate keys are errors, aliases are never emitted and
alias bombs are refused on the composed node graph, before any value is built.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import yaml

from lamina.domain import document
from lamina.domain.errors import InvalidInput, Issue, PayloadTooLarge

MAX_BYTES = 4 * 1024 * 1024
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.CSafeLoader):
    """Safe loader without implicit timestamps, refusing duplicate keys."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
        for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _timestamp_as_text(loader: _Loader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


_Loader.add_constructor(_TIMESTAMP, _timestamp_as_text)


class _Dumper(yaml.CSafeDumper):
    """PyYAML's safe dumper (C emitter), never writing aliases, with two shortcuts that give
    the same text: plain values skip the representer's lookup by type, and a scalar's
    implicit tag is remembered by its text (the resolver is a pure function of it; this
    dumper has no path resolvers). `tests/adapters/test_yamlio.py` compares both ways."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_data(self, data: Any) -> yaml.Node:
        kind = type(data)
        if kind is str:
            return yaml.ScalarNode(_STR, data, style=self.default_style)
        if kind is dict:
            return self.represent_mapping(_MAP, data)
        if kind is list:
            return self.represent_sequence(_SEQ, data)
        if kind is bool:
            return yaml.ScalarNode(_BOOL, "true" if data else "false", style=self.default_style)
        if kind is int:
            return yaml.ScalarNode(_INT, str(data), style=self.default_style)
        if data is None:
            return yaml.ScalarNode(_NULL, "null", style=self.default_style)
        return super().represent_data(data)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode or len(value) > _RESOLVED_LENGTH:
            return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        key = (value, implicit[0], implicit[1])
        found = _RESOLVED.get(key)
        if found is None:
            found = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            if len(_RESOLVED) >= _RESOLVED_KEPT:
                _RESOLVED.clear()
            _RESOLVED[key] = found
        return found


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_BOOL, _INT, _NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:null"
_RESOLVED: dict[tuple[str, bool, bool], str] = {}
_RESOLVED_KEPT = 50_000  # scalars; forgotten all at once past this
_RESOLVED_LENGTH = 256  # longer scalars are resolved each time


def load(text: str | bytes, *, max_bytes: int = MAX_BYTES) -> Any:
    """Parse one YAML (or JSON) document into plain values, or InvalidInput saying where."""
    if len(text) > max_bytes:
        raise PayloadTooLarge(
            f"The document is over the limit of {max_bytes} bytes",
            issues=[Issue("", "too_large", f"Documents are limited to {max_bytes} bytes")],
        )
    loader = _Loader(text)
    try:
        with _collector_paused():
            node = loader.get_single_node()
            _check_graph(node)
            tree = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        raise InvalidInput("The document is not valid YAML", issues=[_issue(error)]) from error
    except (yaml.YAMLError, RecursionError, UnicodeDecodeError) as error:
        issue = Issue("", "invalid_yaml", f"Cannot parse the document: {error}")
        raise InvalidInput("The document is not valid YAML", issues=[issue]) from error
    finally:
        loader.dispose()
    document.check_tree(tree)
    return tree


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Parsing allocates hundreds of thousands of objects that all stay alive, and each
    collection rescans them: with the collector running, composing 20,000 parameters took
    five times as long and grew faster than the document. Parsing makes no cycles, so
    collecting can wait; whoever found the collector enabled re-enables it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_graph(root: yaml.Node | None) -> None:
    """Refuse a composed document whose aliases are too many, recursive, or expand past the
    value limit (a "billion laughs"), in time linear in the nodes actually written."""
    expanded: dict[int, int] = {}  # id(node) -> values under it once aliases are expanded
    open_nodes: set[int] = set()
    aliases = 0
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)] if root is not None else []
    while stack:
        node, depth, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            expanded[key] = 1 + sum(expanded[id(child)] for child in _children(node))
            if expanded[key] > document.MAX_NODES:
                limit = document.MAX_NODES
                _refuse("too_large", f"The document expands to more than {limit} values", node)
            continue
        if key in expanded:
            aliases += 1
            if aliases > document.MAX_ALIASES:
                limit = document.MAX_ALIASES
                _refuse("too_many_aliases", f"The document uses more than {limit} aliases", node)
            continue
        if key in open_nodes:
            _refuse("recursive_alias", "An alias refers to a node that contains it", node)
        if depth > document.MAX_DEPTH:
            _refuse("too_deep", f"Values nest deeper than {document.MAX_DEPTH} levels", node)
        open_nodes.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _refuse(code: str, message: str, node: yaml.Node) -> NoReturn:
    where = f"line {node.start_mark.line + 1}, column {node.start_mark.column + 1}"
    issues = [Issue("", code, f"{message} at {where}")]
    raise InvalidInput("The document holds values Lamina cannot store", issues=issues)


def load_all(text: str, *, source: str = "") -> list[Any]:
    """Every document of a YAML stream (empty ones dropped), e.g. one rendered template."""
    try:
        documents = [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    except yaml.MarkedYAMLError as error:
        issue = _issue(error)
        issue = Issue(source, issue.code, f"{source}: {issue.message}" if source else issue.message)
        raise InvalidInput("Rendered output is not valid YAML", issues=[issue]) from error
    for each in documents:
        document.check_tree(each, where=source)
    return documents


def dump_all(documents: list[Any]) -> str:
    """A multi-document YAML stream."""
    return yaml.dump_all(
        documents, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )


def _issue(error: yaml.MarkedYAMLError) -> Issue:
    mark = error.problem_mark or error.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
    problem = error.problem or error.context or "syntax error"
    return Issue("", "invalid_yaml", f"{problem} at {where}")


def dump(value: Any) -> str:
    """YAML text for plain values, keys in their stored order."""
    return yaml.dump(
        value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )


# --- reading object identities without parsing -----------------------------------------
#
# Rendered manifests are almost always block-style YAML with `kind:` and a `metadata:`
# block at the top level. Reading (kind, namespace, name) from such text is ten times
# cheaper than parsing it; anything less plain makes the scanner say "not sure" (None) and
# the caller parses instead, so the answer is always what a parse would give.

_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9._/-]*$")
_NOT_TEXT = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})
_SEPARATOR = re.compile(r"^---[ \t]*$", re.M)
_MARKERS = re.compile(r"^(?:\.\.\.|%|\?|&|\*|!|\{|\[|- |-$)", re.M)
_BLOCK_END = re.compile(r"\n[^ \n#]")


def scan_identities(text: str) -> list[tuple[str, str, str]] | None:
    """(kind, namespace, name) of each object in a YAML stream, or None when unsure."""
    if "\t" in text or _MARKERS.search(text):
        return None  # tabs, directives, complex keys, anchors, flow or list documents
    found: list[tuple[str, str, str]] = []
    for part in _SEPARATOR.split(text):
        part = "\n" + part
        kind = _top_value(part, "kind")
        if kind is None:
            if _has_content(part):
                return None
            continue
        metadata = _metadata(part)
        if not kind or metadata is None:
            return None
        found.append((kind, metadata.get("namespace", ""), metadata.get("name", "")))
    return found


def _has_content(part: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in part.split("\n"))


def _top_value(part: str, key: str) -> str | None:
    """The plain text of a top-level `key:` ("" when it is not plain), None when absent."""
    marker = f"\n{key}:"
    start = part.find(marker)
    if start < 0:
        return None
    if part.find(marker, start + 1) >= 0:
        return ""  # a duplicate key: let the parser say so
    end = part.find("\n", start + 1)
    line = part[start + len(marker) : end if end >= 0 else len(part)]
    if line and line[0] not in " ":
        return ""
    return _plain(line.strip()) or ""


def _metadata(part: str) -> dict[str, str] | None:
    marker = "\nmetadata:"
    start = part.find(marker)
    if start < 0:
        return {}
    if part.find(marker, start + 1) >= 0:
        return None
    line_end = part.find("\n", start + 1)
    if line_end < 0:
        line_end = len(part)
    rest = part[start + len(marker) : line_end].strip()
    if rest and not rest.startswith("#"):
        return None  # flow style or an alias
    block_end = _BLOCK_END.search(part, line_end)
    block = part[line_end + 1 : block_end.start() if block_end else len(part)]
    return _metadata_fields(block.split("\n"))


def _metadata_fields(lines: list[str]) -> dict[str, str] | None:
    found: dict[str, str] = {}
    indent = -1
    for line in lines:
        body = line.lstrip(" ")
        if not body or body.startswith("#"):
            continue
        depth = len(line) - len(body)
        if indent < 0:
            indent = depth
        if depth < indent:
            return None
        if depth == indent and body.startswith(("name:", "namespace:")):
            key, _, value = body.partition(":")
            if value and value[0] != " ":
                return None
            text = _plain(value.strip())
            if text is None:
                return None
            found[key] = text
    return found


def _plain(value: str | None) -> str | None:
    """The text of a scalar that is surely a string, else None."""
    if not value:
        return None
    if value.startswith("#"):
        return None
    if " #" in value:
        value = value.split(" #", 1)[0].rstrip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        return inner if not any(c in inner for c in "\"'\\") else None
    if _PLAIN.match(value) and value.lower() not in _NOT_TEXT:
        return value
    return None


class YamlCodec:
    """ports.ManifestCodec on this module."""

    def load_all(self, text: str, source: str) -> list[Any]:
        return load_all(text, source=source)

    def dump(self, value: Any) -> str:
        return dump(value)

    def scan_identities(self, text: str) -> list[tuple[str, str, str]] | None:
        return scan_identities(text)


# --- where a path is written --------------------------------------------------------------

# One step of a path as lamina.domain.paths writes it: `.key`, `[3]`, `["odd key"]`, `[name]`.
_STEP = re.compile(r'\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|\[([^\]]*)\]|\.?([^.\[]+)')


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for index, quoted, named, key in _STEP.findall(path):
        if index:
            steps.append(int(index))
        elif quoted:
            steps.append(re.sub(r"\\(.)", r"\1", quoted))
        else:
            steps.append(named or key)
    return steps


def _compose(text: str) -> yaml.Node | None:
    """The node tree of `text` (no value is built), or None when it does not parse."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        _check_graph(node)
        return node
    except (yaml.YAMLError, InvalidInput, RecursionError, UnicodeDecodeError):
        return None
    finally:
        loader.dispose()


def _step_into(node: yaml.Node, step: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """(the node where `step` is written, the node it holds) under `node`, if it exists.

    A mapping key is written at its key; a list entry is found by index, or by its `name`
    (layers and parameters are named in paths)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                return key, value
        return None
    if not isinstance(node, yaml.SequenceNode):
        return None
    if isinstance(step, int) or step.isdigit():
        index = int(step)
        return (node.value[index], node.value[index]) if index < len(node.value) else None
    for item in node.value:
        name = _step_into(item, "name")
        if name is not None and isinstance(name[1], yaml.ScalarNode) and name[1].value == step:
            return item, item
    return None


def locate(text: str, path: str) -> int | None:
    """The 1-based line where `path` (e.g. `spec.layers[1].chart.version`) is written in the
    YAML `text`; the deepest existing parent's line when the path goes further than the
    text; None when the text does not parse or holds nothing."""
    return locator(text)(path)


def locator(text: str) -> Callable[[str], int | None]:
    """`locate` for many paths of one text, which is parsed once."""
    root = _compose(text)

    def line_of(path: str) -> int | None:
        if root is None:
            return None
        node, line = root, root.start_mark.line
        for step in _steps(path):
            found = _step_into(node, step)
            if found is None:
                break
            line, node = found[0].start_mark.line, found[1]
        return line + 1

    return line_of


def error_line(text: str) -> int | None:
    """The 1-based line of the problem that keeps `text` from loading (as `load` reports
    it), None when it loads or the problem has no line."""
    loader = _Loader(text)
    try:
        with _collector_paused():
            node = loader.get_single_node()
            _check_graph(node)
            if node is not None:
                loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        return mark.line + 1 if mark else None
    except (yaml.YAMLError, InvalidInput, RecursionError, UnicodeDecodeError):
        return None
    finally:
        loader.dispose()
    return None
