"""Shared input types of the HTTP API: bounded ids and pages, and text without control
characters, so that no request value can reach a store it does not fit."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from typing import Annotated, Any, get_args

from fastapi import Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from lamina.domain import paths, text
from lamina.domain.errors import InvalidInput, Issue
from lamina.domain.refs import MAX_ID

# With page_size ≤ 200 the row offset stays far inside a 64-bit integer.
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 200

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
"""An id or version number in a path."""
Page = Annotated[int, Query(ge=1, le=MAX_PAGE)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
IdField = Annotated[int, Field(ge=1, le=MAX_ID)]
"""An id or version number in a body."""
IdQuery = Annotated[int, Query(ge=1, le=MAX_ID)]


class Multiline:
    """Marks a text field in which tab, newline and carriage return are allowed."""


Text = Annotated[str, Multiline()]


class Strict(BaseModel):
    """Base of request bodies: unknown fields and control characters are refused.

    Strings may hold no control characters; `Text` fields and strings nested inside
    free-form values (specs, values, metadata) may hold tab, newline and carriage return.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any, info: ValidationInfo) -> Any:
        found = _control_character(value, "", multiline=_multiline(cls, info.field_name or ""))
        if found is not None:
            where, character = found
            raise PydanticCustomError("control_character", text.message(character), {"path": where})
        return value


@functools.cache
def _multiline(model: type[BaseModel], name: str) -> bool:
    field = model.model_fields.get(name)
    return field is not None and (
        any(isinstance(m, Multiline) for m in field.metadata) or _marked(field.annotation)
    )


def _marked(annotation: Any) -> bool:
    """Whether a type is `Text`, possibly inside a union or a container."""
    return any(isinstance(arg, Multiline) or _marked(arg) for arg in get_args(annotation))


def _control_character(value: Any, path: str, *, multiline: bool) -> tuple[str, str] | None:
    """(relative path, character) of the first forbidden character in a value, or None.

    Keys are always single-line; values of mappings (free-form documents) may be
    multi-line. Validated sub-models checked themselves, so only plain values are walked.
    """
    if isinstance(value, str):
        bad = text.forbidden_character(value, multiline=multiline)
        return (path, bad) if bad else None
    if isinstance(value, dict):
        for key, item in value.items():
            bad = text.forbidden_character(key) if isinstance(key, str) else None
            found = (path, bad) if bad else None
            found = found or _control_character(item, paths.child(path, key), multiline=True)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _control_character(item, paths.child(path, index), multiline=multiline)
            if found:
                return found
    return None


def plain_parameters(request: Request) -> None:
    """Refuse control characters in path and query parameters (422 naming the parameter)."""
    errors = []
    for location, params in (
        ("path", list(request.path_params.items())),
        ("query", request.query_params.multi_items()),
    ):
        for name, value in params:
            bad = text.forbidden_character(value) if isinstance(value, str) else None
            if bad:
                errors.append(
                    {
                        "type": "control_character",
                        "loc": (location, name),
                        "msg": text.message(bad),
                        "input": value,
                    }
                )
    if errors:
        raise RequestValidationError(errors)


def cursor_of(name: str, row_id: int) -> str:
    """An opaque keyset cursor: where the next page of a list ordered by (name, id) starts."""
    return base64.urlsafe_b64encode(json.dumps([name, row_id]).encode()).decode().rstrip("=")


def cursor_key(cursor: str) -> tuple[str, int]:
    """The (name, id) a cursor holds; InvalidInput at `cursor` for anything this API did
    not make."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error):
        name, row_id = None, None
    if (
        not isinstance(name, str)
        or text.forbidden_character(name, multiline=False) is not None
        or type(row_id) is not int
        or not 1 <= row_id <= MAX_ID
    ):
        issue = Issue("cursor", "invalid_value", "Not a cursor of this list: pass next_cursor")
        raise InvalidInput("Invalid cursor", issues=[issue])
    return name, row_id
