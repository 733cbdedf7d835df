"""API tokens: issued once in clear, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import re
import secrets

from lamina.domain.errors import InvalidInput, Issue, Unauthorized
from lamina.domain.models import Principal, Role
from lamina.ports import Store

TOKEN_PREFIX = "lam_"
_SLUG = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store: Store, *, org_slug: str, role: Role, label: str = "") -> str:
    """A new token for `org_slug` (creating the org if needed); only its hash is kept."""
    if not _SLUG.match(org_slug):
        raise InvalidInput(
            "Invalid org slug",
            issues=[Issue("org", "invalid_name", "An org slug is a DNS-1123 label like 'acme'")],
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.unit_of_work(write=True) as uow:
        org = uow.orgs.get_by_slug(org_slug) or uow.orgs.create(slug=org_slug, name=org_slug)
        uow.tokens.create(
            org_id=org.id, role=role, token_hash=hash_token(token), label=label or role.value
        )
    return token


def authenticate(store: Store, token: str) -> Principal:
    """The principal a bearer token stands for, or Unauthorized."""
    if not token.startswith(TOKEN_PREFIX):
        raise Unauthorized("The token is not a Lamina API token")
    with store.unit_of_work() as uow:
        principal = uow.tokens.find(hash_token(token))
    if principal is None:
        raise Unauthorized("The token is unknown or was revoked")
    return principal
