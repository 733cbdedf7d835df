"""API tokens: issued once in clear, stored only as a SHA-256 hash; listed, expired, revoked."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from lamina.domain.errors import Forbidden, InvalidInput, Issue, NotFound, Unauthorized
from lamina.domain.models import ApiToken, Page, Principal, Role
from lamina.ports import Store
from lamina.services.access import require

TOKEN_PREFIX = "lam_"
# A token's last use is written at most this often, so reads do not all become writes.
TOUCH_INTERVAL = timedelta(seconds=60)
MAX_LIFETIME = timedelta(days=3650)
_SLUG = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_EXPIRY = "expires_in_days"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    """A fresh clear token: the prefix and 32 random bytes."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def expiry(
    *, now: datetime, expires_in_days: int | None = None, expires_at: datetime | None = None
) -> datetime | None:
    """When a token given either lifetime expires (None: never); InvalidInput when it would
    be born expired or live past MAX_LIFETIME."""
    if expires_in_days is not None:
        if not 1 <= expires_in_days <= MAX_LIFETIME.days:
            raise _bad_expiry(f"Between 1 and {MAX_LIFETIME.days} days")
        return now + timedelta(days=expires_in_days)
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    if not now < expires_at <= now + MAX_LIFETIME:
        raise _bad_expiry(f"A time in the next {MAX_LIFETIME.days} days")
    return expires_at


def _bad_expiry(message: str) -> InvalidInput:
    return InvalidInput("Invalid expiry", issues=[Issue(_EXPIRY, "invalid_value", message)])


def create_token(
    store: Store,
    *,
    org_slug: str,
    role: Role,
    label: str = "",
    expires_at: datetime | None = None,
) -> str:
    """A new token for `org_slug` (creating the org if needed); only its hash is kept."""
    if not _SLUG.match(org_slug):
        raise InvalidInput(
            "Invalid org slug",
            issues=[Issue("org", "invalid_name", "An org slug is a DNS-1123 label like 'acme'")],
        )
    token = _new_token()
    with store.unit_of_work(write=True) as uow:
        org = uow.orgs.get_by_slug(org_slug) or uow.orgs.create(slug=org_slug, name=org_slug)
        uow.tokens.create(
            org_id=org.id,
            role=role,
            token_hash=hash_token(token),
            label=label or role.value,
            expires_at=expires_at,
        )
    return token


def issue_token(
    store: Store,
    principal: Principal,
    *,
    role: Role,
    label: str = "",
    expires_in_days: int | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token of the caller's org (admins only, never above the caller's role): its
    record and the clear token, which is shown this once."""
    require(principal, Role.ADMIN)
    if not principal.role.allows(role):
        raise Forbidden(f"A {principal.role.value} cannot issue a {role.value} token")
    expires_at = expiry(
        now=now or datetime.now(UTC), expires_in_days=expires_in_days, expires_at=expires_at
    )
    token = _new_token()
    with store.unit_of_work(write=True) as uow:
        record = uow.tokens.create(
            org_id=principal.org_id,
            role=role,
            token_hash=hash_token(token),
            label=label or role.value,
            expires_at=expires_at,
        )
    return record, token


def list_tokens(
    store: Store, principal: Principal, *, page: int = 1, page_size: int = 50
) -> Page[ApiToken]:
    require(principal, Role.ADMIN)
    with store.unit_of_work() as uow:
        return uow.tokens.page(principal.org_id, page=page, page_size=page_size)


def revoke_token(
    store: Store, principal: Principal, token_id: int, *, now: datetime | None = None
) -> None:
    """Revoke one of the org's tokens; it is refused from its next request on."""
    require(principal, Role.ADMIN)
    with store.unit_of_work(write=True) as uow:
        if not uow.tokens.revoke(principal.org_id, token_id, at=now or datetime.now(UTC)):
            raise NotFound(f"Token {token_id} does not exist")


def authenticate(store: Store, token: str, *, now: datetime | None = None) -> Principal:
    """The principal a bearer token stands for, or Unauthorized (unknown, revoked, expired)."""
    if not token.startswith(TOKEN_PREFIX):
        raise Unauthorized("The token is not a Lamina API token")
    now = now or datetime.now(UTC)
    with store.unit_of_work() as uow:
        found = uow.tokens.find(hash_token(token))
    if found is None:
        raise Unauthorized("The token is unknown")
    principal, record = found
    refusal = record.refusal(now)
    if refusal is not None:
        raise Unauthorized(refusal)
    stale_before = now - TOUCH_INTERVAL
    if record.last_used_at is None or record.last_used_at < stale_before:
        # On a busy database the touch gives up instead of queueing behind writers, and
        # the request goes on.
        with store.unit_of_work(write=True, wait=False) as uow:
            uow.tokens.touch(record.id, at=now, stale_before=stale_before)
    return principal
