"""Access-log redaction: every `param` query value is hidden, whatever its encoding."""

from __future__ import annotations

import logging

import pytest

from lamina.api import logs


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/x?layer=a&param=admin_password=hunter2", "/x?layer=a&param=admin_password=<redacted>"),
        ("/x?param=admin_password%3Dhunter2", "/x?param=admin_password=<redacted>"),
        ("/x?param=tier=dev&param=token=t%26k", "/x?param=tier=<redacted>&param=token=<redacted>"),
        ("/x?label=env=prod", "/x?label=env=prod"),
        ("/x", "/x"),
    ],
)
def test_param_values_are_redacted(path: str, logged: str) -> None:
    assert logs.redact_query(path) == logged


def test_the_filter_rewrites_uvicorn_access_records() -> None:
    record = logging.LogRecord(
        logs.ACCESS_LOGGER,
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/x?param=admin_password=hunter2", "1.1", 422),
        None,
    )
    assert logs.RedactQueryValues().filter(record)
    assert "hunter2" not in record.getMessage()
    assert "param=admin_password=<redacted>" in record.getMessage()
