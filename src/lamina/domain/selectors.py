"""Kubernetes label selectors, written and matched the way `kubectl get -l` does.

A selector is comma-separated requirements, all of which must hold:

    key=value   key==value   key!=value   key in (a,b)   key notin (a,b)   key   !key

Whitespace around tokens is ignored; keys may carry a DNS prefix (`example.com/tier`). The
empty selector matches every label set. Like Kubernetes, `key!=v` and `key notin (…)` also
match label sets without `key`, and `key=` matches an empty value.

Choices where kubectl is looser or wider:
- the numeric operators `>` and `<` (node affinity only, in practice) are refused;
- a set needs at least one value and no empty member (`in (a,)` is refused).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from lamina.domain.errors import InvalidInput, Issue

EQUALS = "="
NOT_EQUALS = "!="
IN = "in"
NOT_IN = "notin"
EXISTS = "exists"
NOT_EXISTS = "!"

# Every character but whitespace starts a token, so finding them all reads the whole text.
_TOKEN = re.compile(r"==|!=|=|!|,|\(|\)|[^\s,()=!]+")
_SYMBOLS = frozenset({"==", "!=", "=", "!", ",", "(", ")"})
_NAME = re.compile(r"^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_PREFIX = re.compile(rf"^{_DNS_LABEL}(?:\.{_DNS_LABEL})*$")
_MAX_PREFIX = 253


@dataclass(frozen=True)
class Requirement:
    """One condition on one label: `op` is one of `=`, `!=`, `in`, `notin`, `exists`, `!`;
    `values` holds one value for `=`/`!=`, a sorted set for `in`/`notin`, none otherwise."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether `labels` satisfy this requirement."""
        present = self.key in labels
        if self.op == EXISTS:
            return present
        if self.op == NOT_EXISTS:
            return not present
        inside = present and labels[self.key] in self.values
        return inside if self.op in (EQUALS, IN) else not inside

    def __str__(self) -> str:
        if self.op == EXISTS:
            return self.key
        if self.op == NOT_EXISTS:
            return f"!{self.key}"
        if self.op in (EQUALS, NOT_EQUALS):
            return f"{self.key}{self.op}{self.values[0]}"
        return f"{self.key} {self.op} ({','.join(self.values)})"


@dataclass(frozen=True)
class Selector:
    """Requirements that must all hold; no requirement at all matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether `labels` satisfy every requirement."""
        return all(r.matches(labels) for r in self.requirements)

    def __str__(self) -> str:
        """The canonical text, which parses back to an equal selector."""
        return ",".join(str(r) for r in self.requirements)


def parse_selector(text: str) -> Selector:
    """The selector `text` spells, or InvalidInput with one `invalid_selector` issue at
    path `selector` saying what is wrong."""
    tokens = _tokenize(text)
    requirements: list[Requirement] = []
    pos = 0
    while pos < len(tokens):
        requirement, pos = _requirement(tokens, pos)
        requirements.append(requirement)
        if pos < len(tokens):
            _expect(tokens, pos, ",", f"after '{requirement}'")
            pos += 1
            if pos == len(tokens):
                raise _invalid("the selector ends with a comma")
    return Selector(tuple(requirements))


def _tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _requirement(tokens: list[str], pos: int) -> tuple[Requirement, int]:
    if tokens[pos] == "!":
        key = _key(tokens, pos + 1)
        return Requirement(key, NOT_EXISTS), pos + 2
    key = _key(tokens, pos)
    pos += 1
    operator = tokens[pos] if pos < len(tokens) else ","
    if operator == ",":
        return Requirement(key, EXISTS), pos
    if operator in ("=", "==", "!="):
        value, pos = _single_value(tokens, pos + 1)
        return Requirement(key, NOT_EQUALS if operator == "!=" else EQUALS, (value,)), pos
    if operator in (IN, NOT_IN):
        values, pos = _value_set(tokens, pos + 1, f"{key} {operator}")
        return Requirement(key, operator, values), pos
    raise _invalid(f"expected an operator after '{key}', found '{operator}'")


def _key(tokens: list[str], pos: int) -> str:
    if pos >= len(tokens) or tokens[pos] in _SYMBOLS:
        found = f"'{tokens[pos]}'" if pos < len(tokens) else "the end"
        raise _invalid(f"expected a label key, found {found}")
    key = tokens[pos]
    _check_key(key)
    return key


def _check_key(key: str) -> None:
    prefix, slash, name = key.rpartition("/")
    if slash and not (len(prefix) <= _MAX_PREFIX and _PREFIX.match(prefix)):
        raise _invalid(f"'{key}' has an invalid prefix: it must be a lowercase DNS subdomain")
    if not _NAME.match(name):
        raise _invalid(
            f"'{key}' is not a valid label key: its name must be 1-63 letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit"
        )


def _single_value(tokens: list[str], pos: int) -> tuple[str, int]:
    if pos >= len(tokens) or tokens[pos] == ",":
        return "", pos  # `key=` asks for an empty value, as in kubectl
    return _value(tokens, pos), pos + 1


def _value_set(tokens: list[str], pos: int, where: str) -> tuple[tuple[str, ...], int]:
    _expect(tokens, pos, "(", f"after '{where}'")
    values: set[str] = set()
    pos += 1
    while True:
        values.add(_value(tokens, pos))
        pos += 1
        if pos < len(tokens) and tokens[pos] == ")":
            return tuple(sorted(values)), pos + 1
        _expect(tokens, pos, ",", f"in the values of '{where}'")
        pos += 1


def _value(tokens: list[str], pos: int) -> str:
    if pos >= len(tokens) or tokens[pos] in _SYMBOLS:
        found = f"'{tokens[pos]}'" if pos < len(tokens) else "the end"
        raise _invalid(f"expected a label value, found {found}")
    value = tokens[pos]
    if not _NAME.match(value):
        raise _invalid(
            f"'{value}' is not a valid label value: at most 63 letters, digits, '-', '_' "
            "or '.', starting and ending with a letter or digit"
        )
    return value


def _expect(tokens: list[str], pos: int, wanted: str, where: str) -> None:
    if pos >= len(tokens):
        raise _invalid(f"expected '{wanted}' {where}, found the end")
    if tokens[pos] != wanted:
        raise _invalid(f"expected '{wanted}' {where}, found '{tokens[pos]}'")


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(
        f"Invalid label selector: {message}",
        issues=[Issue("selector", "invalid_selector", message)],
    )
