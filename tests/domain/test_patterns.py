"""Parameter patterns: checked and matched by the installed engine, never by backtracking."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from lamina.adapters.regex import Re2Engine
from lamina.domain import patterns
from lamina.domain.params import Parameter, check_value
from lamina.domain.validation import validate_document
from tests import documents


@pytest.fixture
def re2() -> Iterator[None]:
    previous = patterns.use(Re2Engine())
    yield
    patterns.use(previous)


@pytest.fixture
def fallback() -> Iterator[None]:
    previous = patterns.use(patterns._GuardedStdlib())
    yield
    patterns.use(previous)


@pytest.mark.usefixtures("re2")
def test_catastrophic_pattern_on_a_long_value_answers_promptly() -> None:
    param = Parameter("word", "string", pattern="^(a+)+$")
    started = time.monotonic()
    assert check_value(param, "a" * 10_000, path="p", coerce=True) == ("a" * 10_000, [])
    _, issues = check_value(param, "a" * 10_000 + "!", path="p", coerce=True)
    assert time.monotonic() - started < 0.5
    assert [issue.code for issue in issues] == ["pattern_mismatch"]


@pytest.mark.usefixtures("re2")
@pytest.mark.parametrize("pattern", [r"^(\w+)-\1$", r"^(?!admin).*$"])
def test_patterns_re2_cannot_run_are_invalid_at_their_path(pattern: str) -> None:
    doc = documents.web_platform()
    doc["spec"]["parameters"][2]["type"] = "string"
    doc["spec"]["parameters"][2].pop("enum")
    doc["spec"]["parameters"][2]["pattern"] = pattern
    report = validate_document(doc)
    found = [(i.path, i.code) for i in report.errors]
    assert ("spec.parameters[2].pattern", "invalid_pattern") in found
    message = next(i.message for i in report.errors if i.code == "invalid_pattern")
    assert "RE2" in message


@pytest.mark.usefixtures("fallback")
@pytest.mark.parametrize("pattern", ["^(a+)+$", r"(a)\1", "(?=a)", "(?<!a)b", "(x|xx)*y"])
def test_without_an_engine_backtracking_constructs_are_refused(pattern: str) -> None:
    assert patterns.problem(pattern) is not None


@pytest.mark.usefixtures("fallback")
def test_without_an_engine_plain_patterns_still_work() -> None:
    assert patterns.problem("^[a-z0-9.-]+$") is None
    assert patterns.search("^[a-z]+$", "abc") is True
    assert patterns.search("^[a-z]+$", "ab1") is False
