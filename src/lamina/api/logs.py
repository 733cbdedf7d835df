"""Access logs without parameter values: `?param=NAME=VALUE` may carry a secret, and the
logger cannot know which parameters are secret, so every `param` value is redacted."""

from __future__ import annotations

import logging
from urllib.parse import quote, unquote_plus

REDACTED = "<redacted>"
REDACTED_FIELDS = frozenset({"param"})
ACCESS_LOGGER = "uvicorn.access"


def redact_query(path: str) -> str:
    """`path` with the value of every `param=NAME=VALUE` in its query replaced."""
    base, mark, query = path.partition("?")
    if not mark:
        return path
    return f"{base}?{'&'.join(_redact(part) for part in query.split('&'))}"


def _redact(part: str) -> str:
    key, equals, value = part.partition("=")
    if not equals or unquote_plus(key) not in REDACTED_FIELDS:
        return part
    name, _, _ = unquote_plus(value).partition("=")
    return f"{key}={quote(name, safe='')}={REDACTED}"


class RedactQueryValues(logging.Filter):
    """Rewrites the request path of uvicorn's access records (args: client, method, path,
    HTTP version, status) before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_query(args[2]), *args[3:])
        return True


def install_access_redaction() -> None:
    """Redact the access log of the server about to run (idempotent)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactQueryValues) for f in logger.filters):
        logger.addFilter(RedactQueryValues())
