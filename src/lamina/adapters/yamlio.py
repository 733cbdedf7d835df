"""YAML in and out (PyYAML with the C parser), refusing what JSON cannot hold.

Timestamps stay strings, duplicate keys are errors, aliases are never emitted and
alias bombs are refused by the size check.
"""

from __future__ import annotations

from typing import Any

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
    def ignore_aliases(self, data: Any) -> bool:
        return True


def load(text: str | bytes, *, max_bytes: int = MAX_BYTES) -> Any:
    """Parse one YAML (or JSON) document into plain values, or InvalidInput saying where."""
    if len(text) > max_bytes:
        raise PayloadTooLarge(
            f"The document is over the limit of {max_bytes} bytes",
            issues=[Issue("", "too_large", f"Documents are limited to {max_bytes} bytes")],
        )
    try:
        tree = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        raise InvalidInput("The document is not valid YAML", issues=[_issue(error)]) from error
    except (yaml.YAMLError, RecursionError, UnicodeDecodeError) as error:
        issue = Issue("", "invalid_yaml", f"Cannot parse the document: {error}")
        raise InvalidInput("The document is not valid YAML", issues=[issue]) from error
    document.check_tree(tree)
    return tree


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
