"""The audit log: every write through the API, without secrets, readable by admins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lamina.domain.models import AuditEvent, Page, Principal, Role
from lamina.ports import Store
from lamina.services.access import require


def record(
    store: Store,
    principal: Principal,
    *,
    method: str,
    route: str,
    target: dict[str, Any],
    status: int,
    at: datetime | None = None,
) -> None:
    """Append one event. `target` holds only the identifiers a route names (its path
    parameters): never request bodies or query strings, where secrets travel."""
    event = AuditEvent(
        id=0,
        org_id=principal.org_id,
        token_id=principal.token_id,
        actor=principal.token_label,
        role=principal.role,
        method=method,
        route=route,
        target=target,
        status=status,
        at=at or datetime.now(UTC),
    )
    with store.unit_of_work(write=True) as uow:
        uow.audit.add(event)


def events(
    store: Store,
    principal: Principal,
    *,
    page: int = 1,
    page_size: int = 50,
    action: str | None = None,
) -> Page[AuditEvent]:
    """The org's events, newest first; `action` filters on "METHOD /route" text."""
    require(principal, Role.ADMIN)
    with store.unit_of_work() as uow:
        return uow.audit.page(principal.org_id, page=page, page_size=page_size, action=action)
