"""SQL repository of API tokens: stored by hash, revoked and expired in place, never deleted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection, RowMapping

from lamina.adapters.store import tables as t
from lamina.adapters.store.rows import aware
from lamina.domain.models import ApiToken, Page, Principal, Role

_COLUMNS = (
    t.api_tokens.c.id,
    t.api_tokens.c.org_id,
    t.api_tokens.c.label,
    t.api_tokens.c.role,
    t.api_tokens.c.created_at,
    t.api_tokens.c.expires_at,
    t.api_tokens.c.last_used_at,
    t.api_tokens.c.revoked_at,
)


def _maybe(value: datetime | None) -> datetime | None:
    return aware(value) if value is not None else None


def _token(row: RowMapping) -> ApiToken:
    return ApiToken(
        id=row["id"],
        org_id=row["org_id"],
        label=row["label"],
        role=Role(row["role"]),
        created_at=aware(row["created_at"]),
        expires_at=_maybe(row["expires_at"]),
        last_used_at=_maybe(row["last_used_at"]),
        revoked_at=_maybe(row["revoked_at"]),
    )


class SqlTokens:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def create(
        self,
        *,
        org_id: int,
        role: Role,
        token_hash: str,
        label: str,
        expires_at: datetime | None = None,
    ) -> ApiToken:
        now = datetime.now(UTC)
        insert = sa.insert(t.api_tokens).values(
            org_id=org_id,
            role=role.value,
            token_hash=token_hash,
            label=label,
            created_at=now,
            expires_at=expires_at,
        )
        token_id = self._conn.execute(insert.returning(t.api_tokens.c.id)).scalar_one()
        return ApiToken(
            id=token_id,
            org_id=org_id,
            label=label,
            role=role,
            created_at=now,
            expires_at=expires_at,
        )

    def find(self, token_hash: str) -> tuple[Principal, ApiToken] | None:
        query = (
            sa.select(*_COLUMNS, t.orgs.c.slug)
            .join(t.orgs, t.orgs.c.id == t.api_tokens.c.org_id)
            .where(t.api_tokens.c.token_hash == token_hash)
        )
        row = self._conn.execute(query).mappings().first()
        if row is None:
            return None
        token = _token(row)
        principal = Principal(
            org_id=token.org_id,
            org_slug=row["slug"],
            role=token.role,
            token_id=token.id,
            token_label=token.label,
        )
        return principal, token

    def page(self, org_id: int, *, page: int, page_size: int) -> Page[ApiToken]:
        mine = t.api_tokens.c.org_id == org_id
        total = self._conn.execute(
            sa.select(sa.func.count()).select_from(t.api_tokens).where(mine)
        ).scalar_one()
        query = (
            sa.select(*_COLUMNS)
            .where(mine)
            .order_by(t.api_tokens.c.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        rows = self._conn.execute(query).mappings().all()
        return Page([_token(row) for row in rows], total, page, page_size)

    def revoke(self, org_id: int, token_id: int, *, at: datetime) -> bool:
        c = t.api_tokens.c
        mine = sa.and_(c.id == token_id, c.org_id == org_id)
        found = self._conn.execute(sa.select(c.id).where(mine)).first()
        if found is None:
            return False
        self._conn.execute(
            sa.update(t.api_tokens).where(mine, c.revoked_at.is_(None)).values(revoked_at=at)
        )
        return True

    def touch(self, token_id: int, *, at: datetime, stale_before: datetime) -> None:
        c = t.api_tokens.c
        update = (
            sa.update(t.api_tokens)
            .where(
                c.id == token_id, sa.or_(c.last_used_at.is_(None), c.last_used_at < stale_before)
            )
            .values(last_used_at=at)
        )
        try:
            with self._conn.begin_nested(), self._not_waiting():
                self._conn.execute(update)
        except exc.OperationalError:
            pass  # busy: a later request records the use

    @contextmanager
    def _not_waiting(self) -> Iterator[None]:
        """Fail at once, instead of queueing, when a writer holds the lock we need."""
        if self._conn.dialect.name != "sqlite":
            self._conn.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
            yield
            return
        previous = self._conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        self._conn.exec_driver_sql("PRAGMA busy_timeout = 0")
        try:
            yield
        finally:
            self._conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(previous or 0)}")
