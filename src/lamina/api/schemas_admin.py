"""HTTP shapes of the admin surface: API tokens and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from lamina.api.inputs import Strict
from lamina.domain.models import ApiToken, AuditEvent


class TokenCreate(Strict):
    label: str = Field("", max_length=200)
    role: Literal["viewer", "editor", "admin"] = "viewer"
    expires_in_days: int | None = Field(None, ge=1, le=3650)
    expires_at: datetime | None = None


class TokenOut(BaseModel):
    id: int
    label: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool
    revoked_at: datetime | None

    @classmethod
    def of(cls, t: ApiToken) -> TokenOut:
        return cls(
            id=t.id,
            label=t.label,
            role=t.role.value,
            created_at=t.created_at,
            expires_at=t.expires_at,
            last_used_at=t.last_used_at,
            revoked=t.revoked_at is not None,
            revoked_at=t.revoked_at,
        )


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself: shown only in this answer")


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    token_id: int
    role: str
    action: str
    method: str
    route: str
    target: dict[str, Any]
    status: int
    result: str

    @classmethod
    def of(cls, e: AuditEvent) -> AuditEventOut:
        return cls(
            id=e.id,
            at=e.at,
            actor=e.actor,
            token_id=e.token_id,
            role=e.role.value,
            action=e.action,
            method=e.method,
            route=e.route,
            target=e.target,
            status=e.status,
            result=e.result,
        )
