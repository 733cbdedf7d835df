"""SQL repository of the audit log: append-only, read newest first."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from lamina.adapters.store import tables as t
from lamina.adapters.store.rows import aware
from lamina.domain.models import AuditEvent, Page, Role


def _event(row: RowMapping) -> AuditEvent:
    return AuditEvent(
        id=row["id"],
        org_id=row["org_id"],
        token_id=row["token_id"],
        actor=row["actor"],
        role=Role(row["role"]),
        method=row["method"],
        route=row["route"],
        target=dict(row["target"]),
        status=row["status"],
        at=aware(row["at"]),
    )


class SqlAudit:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, event: AuditEvent) -> None:
        self._conn.execute(
            sa.insert(t.audit_events).values(
                org_id=event.org_id,
                token_id=event.token_id,
                actor=event.actor,
                role=event.role.value,
                method=event.method,
                route=event.route,
                target=event.target,
                status=event.status,
                result=event.result,
                at=event.at,
            )
        )

    def page(
        self, org_id: int, *, page: int, page_size: int, action: str | None
    ) -> Page[AuditEvent]:
        a = t.audit_events.c
        where = [a.org_id == org_id]
        if action:
            text = sa.func.lower(a.method + " " + a.route)
            where.append(text.contains(action.lower(), autoescape=True))
        total = self._conn.execute(
            sa.select(sa.func.count()).select_from(t.audit_events).where(*where)
        ).scalar_one()
        query = (
            sa.select(t.audit_events)
            .where(*where)
            .order_by(a.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        rows = self._conn.execute(query).mappings().all()
        return Page([_event(row) for row in rows], total, page, page_size)
