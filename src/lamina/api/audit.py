"""The audit trail: every write that carried a valid token is recorded with its final status.

Only the method, the route template and its path parameters are kept: never bodies or query
strings, where secrets travel.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lamina.api.deps import PRINCIPAL_KEY, RESOLVED_KEY
from lamina.ports import Store
from lamina.services import audit

READS = frozenset({"GET", "HEAD", "OPTIONS"})
log = logging.getLogger(__name__)


class AuditTrail:
    """Records a write once its status is known, before the client sees the answer."""

    def __init__(self, app: ASGIApp, *, store: Store) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READS:
            await self.app(scope, receive, send)
            return
        recorded = False

        async def recording_send(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                await self._record(scope, int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        except Exception:
            if not recorded:
                await self._record(scope, 500)
            raise

    async def _record(self, scope: Scope, status: int) -> None:
        principal = scope.get(PRINCIPAL_KEY)
        route = getattr(scope.get("route"), "path", None)
        if principal is None or route is None:
            return  # no valid token: nothing happened on anyone's behalf
        try:
            await run_in_threadpool(
                audit.record,
                self.store,
                principal,
                method=scope["method"],
                route=route,
                target=_target(scope.get("path_params") or {}, scope.get(RESOLVED_KEY) or {}),
                status=status,
            )
        except Exception:
            # The write itself is done; failing its answer now would misreport it.
            log.exception("Could not record %s %s in the audit log", scope["method"], route)


def _target(params: dict[str, Any], resolved: dict[str, int]) -> dict[str, Any]:
    """The route's path parameters, numbers as numbers, and the id of what each name-or-id
    segment named: `{"cluster_id": 3, "draft_id": 7}` for `/clusters/eu-1/stack-drafts/7`."""
    target = {
        k: int(v) if str(v).isdigit() else str(v) for k, v in params.items() if k not in resolved
    }
    return target | {f"{k}_id": v for k, v in resolved.items()}
