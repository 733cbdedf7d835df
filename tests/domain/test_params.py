"""Typed parameters: parsing declarations, checking and coercing values, binding, redaction."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lamina.domain.errors import InvalidInput, Issue
from lamina.domain.params import (
    MAX_PATTERN_SUBJECT,
    NAME_PATTERN,
    Parameter,
    bind,
    check_value,
    parse_parameters,
    redact,
)


def codes(error: InvalidInput) -> list[tuple[str, str]]:
    return [(issue.path, issue.code) for issue in error.issues]


def bind_error(parameters: list[Parameter], supplied: dict[str, Any]) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        bind(parameters, supplied)
    return caught.value


# --- parse_parameters -------------------------------------------------------------------------


def test_parse_parameters_reads_every_field_and_ignores_unknown_keys() -> None:
    raw: list[dict[str, Any]] = [
        {
            "name": "tier",
            "type": "enum",
            "required": True,
            "default": "gold",
            "enum": ["gold", "silver"],
            "description": "Service tier",
            "x-extra": 1,
        },
        {"name": "host", "type": "string", "pattern": "^[a-z.]+$"},
    ]
    tier, host = parse_parameters(raw)
    assert tier == Parameter(
        name="tier",
        type="enum",
        required=True,
        default="gold",
        has_default=True,
        enum=("gold", "silver"),
        description="Service tier",
    )
    assert host == Parameter(name="host", type="string", pattern="^[a-z.]+$")


def test_parse_parameters_treats_null_default_as_no_default() -> None:
    (param,) = parse_parameters([{"name": "a", "type": "string", "default": None}])
    assert param.has_default is False


def test_parse_parameters_keeps_falsy_defaults() -> None:
    (flag, count) = parse_parameters(
        [
            {"name": "f", "type": "boolean", "default": False},
            {"name": "n", "type": "number", "default": 0},
        ]
    )
    assert (flag.default, flag.has_default) == (False, True)
    assert (count.default, count.has_default) == (0, True)


def test_name_pattern() -> None:
    assert NAME_PATTERN.match("_replicas2")
    assert not NAME_PATTERN.match("2replicas")
    assert not NAME_PATTERN.match("with-dash")


# --- check_value --------------------------------------------------------------------------------

NUMBER = Parameter("n", "number")
FLAG = Parameter("f", "boolean")
TEXT = Parameter("s", "string")
SECRET = Parameter("token", "secret", pattern="^tok_")
SIZE = Parameter("size", "enum", enum=("small", 2, True, 2.5))


@pytest.mark.parametrize(
    ("param", "text", "expected"),
    [
        (NUMBER, "3", 3),
        (NUMBER, "-3", -3),
        (NUMBER, "+7", 7),
        (NUMBER, "2.5", 2.5),
        (NUMBER, "1e3", 1000.0),
        (NUMBER, ".5", 0.5),
        (NUMBER, "2.0", 2.0),
        (FLAG, "true", True),
        (FLAG, "FALSE", False),
        (FLAG, "True", True),
        (TEXT, "3", "3"),
        (TEXT, "", ""),
        (SIZE, "small", "small"),
        (SIZE, "2", 2),
        (SIZE, "true", True),
        (SIZE, "2.5", 2.5),
    ],
)
def test_coercion_converts_text(param: Parameter, text: str, expected: Any) -> None:
    value, issues = check_value(param, text, path="p", coerce=True)
    assert issues == []
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("param", "text"),
    [
        (NUMBER, "nan"),
        (NUMBER, "inf"),
        (NUMBER, "-Infinity"),
        (NUMBER, "1e999"),
        (NUMBER, "abc"),
        (NUMBER, ""),
        (NUMBER, " 3"),
        (NUMBER, "1_000"),
        (NUMBER, "0x10"),
        (NUMBER, "\u0663"),  # an Arabic-Indic digit: int() would accept it
        (NUMBER, "9" * 5000),  # beyond Python's int-from-text digit limit
        (FLAG, "yes"),
        (FLAG, "1"),
        (FLAG, ""),
    ],
)
def test_coercion_rejects_text_that_is_not_of_the_type(param: Parameter, text: str) -> None:
    value, issues = check_value(param, text, path="p", coerce=True)
    assert value == text
    assert [issue.code for issue in issues] == ["wrong_type"]


def test_coercion_rejects_text_outside_an_enum() -> None:
    _, issues = check_value(SIZE, "True", path="p", coerce=True)
    assert [issue.code for issue in issues] == ["not_in_enum"]


@pytest.mark.parametrize(
    ("param", "value"),
    [(NUMBER, "3"), (FLAG, "true"), (SIZE, "2"), (SIZE, "true")],
)
def test_without_coercion_text_is_not_converted(param: Parameter, value: str) -> None:
    _, issues = check_value(param, value, path="p", coerce=False)
    assert len(issues) == 1


@pytest.mark.parametrize(
    ("param", "value"),
    [
        (NUMBER, True),
        (NUMBER, math.nan),
        (NUMBER, [1]),
        (FLAG, 1),
        (FLAG, "true"),
        (TEXT, 3),
        (TEXT, {"a": 1}),
        (Parameter("s", "secret"), 5),
    ],
)
def test_wrong_type(param: Parameter, value: Any) -> None:
    _, issues = check_value(param, value, path="spec.parameters[x].default", coerce=False)
    assert issues == [Issue("spec.parameters[x].default", "wrong_type", issues[0].message)]
    assert repr(param.name) in issues[0].message


def test_enum_does_not_confuse_booleans_and_numbers() -> None:
    numbers = Parameter("n", "enum", enum=(0, 1))
    assert check_value(numbers, True, path="p", coerce=False)[1][0].code == "not_in_enum"
    flags = Parameter("b", "enum", enum=(True,))
    assert check_value(flags, 1, path="p", coerce=False)[1][0].code == "not_in_enum"
    assert check_value(flags, True, path="p", coerce=False) == (True, [])


def test_not_in_enum_message_lists_the_choices() -> None:
    _, issues = check_value(SIZE, "huge", path="p", coerce=True)
    assert issues[0].code == "not_in_enum"
    assert "small, 2, true, 2.5" in issues[0].message
    assert "'huge'" in issues[0].message


def test_pattern_uses_search_semantics() -> None:
    param = Parameter("host", "string", pattern="[0-9]")
    assert check_value(param, "abc1def", path="p", coerce=False) == ("abc1def", [])
    _, issues = check_value(param, "abcdef", path="p", coerce=False)
    assert [issue.code for issue in issues] == ["pattern_mismatch"]


def test_invalid_pattern_never_raises() -> None:
    param = Parameter("host", "string", pattern="([unclosed")
    assert check_value(param, "anything", path="p", coerce=False) == ("anything", [])


def test_pattern_is_not_applied_to_huge_values() -> None:
    param = Parameter("blob", "string", pattern="^a*$")
    huge = "a" * (MAX_PATTERN_SUBJECT + 1)
    _, issues = check_value(param, huge, path="p", coerce=False)
    assert [issue.code for issue in issues] == ["value_too_long"]
    assert check_value(param, "a" * MAX_PATTERN_SUBJECT, path="p", coerce=False)[1] == []


def test_huge_values_without_a_pattern_are_fine() -> None:
    huge = "a" * (MAX_PATTERN_SUBJECT + 1)
    assert check_value(TEXT, huge, path="p", coerce=False) == (huge, [])


def test_long_text_is_shortened_in_messages() -> None:
    _, issues = check_value(NUMBER, "x" * 1000, path="p", coerce=True)
    assert len(issues[0].message) < 200


# --- bind --------------------------------------------------------------------------------------

PARAMS = [
    Parameter("replicas", "number", required=True),
    Parameter("debug", "boolean", default=False, has_default=True),
    Parameter("region", "string"),
    Parameter("tier", "enum", enum=("gold", "silver"), default="silver", has_default=True),
    Parameter("token", "secret", pattern="^tok_"),
]


def test_bind_coerces_and_fills_defaults() -> None:
    assert bind(PARAMS, {"replicas": "3", "token": "tok_abc"}) == {
        "replicas": 3,
        "debug": False,
        "region": None,
        "tier": "silver",
        "token": "tok_abc",
    }


def test_bind_supplied_none_counts_as_not_supplied() -> None:
    values = bind(PARAMS, {"replicas": 1, "debug": None, "region": None})
    assert values["debug"] is False
    assert values["region"] is None


def test_bind_supplied_value_beats_default() -> None:
    assert bind(PARAMS, {"replicas": 1, "debug": "TRUE", "tier": "gold"})["debug"] is True


def test_bind_required_with_default_uses_the_default() -> None:
    param = Parameter("n", "number", required=True, default=2, has_default=True)
    assert bind([param], {}) == {"n": 2}


def test_bind_reports_every_problem_sorted_by_path() -> None:
    error = bind_error(
        PARAMS,
        {"debug": "maybe", "tier": "bronze", "token": "nope", "zzz": 1, "aaa": 2},
    )
    assert error.detail == "Parameters are invalid"
    assert codes(error) == [
        ("parameters.aaa", "unknown_parameter"),
        ("parameters.debug", "wrong_type"),
        ("parameters.replicas", "missing_required"),
        ("parameters.tier", "not_in_enum"),
        ("parameters.token", "pattern_mismatch"),
        ("parameters.zzz", "unknown_parameter"),
    ]
    assert all("'" in issue.message for issue in error.issues)


def test_bind_uses_the_given_path() -> None:
    error = bind_error([Parameter("n", "number", required=True)], {})
    assert codes(error) == [("parameters.n", "missing_required")]
    with pytest.raises(InvalidInput) as caught:
        bind([], {"x": 1}, path="request.values")
    assert codes(caught.value) == [("request.values.x", "unknown_parameter")]


def test_bind_value_too_long() -> None:
    param = Parameter("blob", "string", pattern="^a")
    error = bind_error([param], {"blob": "a" * (MAX_PATTERN_SUBJECT + 1)})
    assert codes(error) == [("parameters.blob", "value_too_long")]


def test_secret_value_never_appears_in_messages() -> None:
    secret_text = "hunter2-super-secret"
    params = [Parameter("token", "secret", pattern="^tok_")]
    error = bind_error(params, {"token": secret_text})
    assert codes(error) == [("parameters.token", "pattern_mismatch")]
    assert secret_text not in error.issues[0].message
    for wrong in (12345678, True, ["hunter2"]):
        _, issues = check_value(params[0], wrong, path="p", coerce=True)
        assert issues[0].code == "wrong_type"
        assert str(wrong) not in issues[0].message
        assert "true" not in issues[0].message


def test_redact_replaces_only_secrets() -> None:
    values = {"replicas": 3, "token": "tok_abc", "extra": "kept"}
    assert redact(PARAMS, values) == {"replicas": 3, "token": "<redacted>", "extra": "kept"}
    assert values["token"] == "tok_abc"


# --- properties ---------------------------------------------------------------------------------

finite_numbers = st.integers() | st.floats(allow_nan=False, allow_infinity=False)
typed_values = st.one_of(
    st.tuples(st.just("string"), st.text()),
    st.tuples(st.just("secret"), st.text()),
    st.tuples(st.just("number"), finite_numbers),
    st.tuples(st.just("boolean"), st.booleans()),
)


@given(typed_values)
def test_binding_a_typed_value_returns_it(case: tuple[str, Any]) -> None:
    kind, value = case
    assert bind([Parameter("p", kind)], {"p": value}) == {"p": value}


@given(st.lists(st.text() | st.integers() | st.booleans(), min_size=1, max_size=5), st.data())
def test_binding_an_enum_member_returns_it(members: list[Any], data: st.DataObject) -> None:
    chosen = data.draw(st.sampled_from(members))
    bound = bind([Parameter("p", "enum", enum=tuple(members))], {"p": chosen})["p"]
    assert bound == chosen
    assert type(bound) is type(chosen)


@given(finite_numbers)
def test_binding_number_text_gives_an_equal_number(number: int | float) -> None:
    bound = bind([Parameter("p", "number")], {"p": str(number)})["p"]
    assert isinstance(bound, int | float)
    assert not isinstance(bound, bool)
    assert bound == number


@given(st.text(), st.sampled_from([None, "^[a-z]+$", "[", "(a+)+$"]))
def test_any_text_for_a_string_param_only_ever_raises_invalid_input(
    text: str, pattern: str | None
) -> None:
    try:
        assert bind([Parameter("p", "string", pattern=pattern)], {"p": text}) == {"p": text}
    except InvalidInput as error:
        assert [issue.code for issue in error.issues] == ["pattern_mismatch"]
