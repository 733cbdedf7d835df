"""Browser sessions on a real store: what a session cookie stands for, and what it never
stands for (another key's cookie, a tampered or expired one, a revoked token)."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta

import pytest

from lamina.adapters.secretbox import SecretBox
from lamina.config import Services
from lamina.domain.errors import Unauthorized
from lamina.domain.models import Role
from lamina.services import auth
from lamina.services.sessions import SESSION_LIFETIME, BrowserSessions, same_token


class Frozen:
    """A clock that says what it is told."""

    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Frozen:
    return Frozen(datetime.now(UTC))


def _sessions(services: Services, clock: Frozen, key: bytes | None = None) -> BrowserSessions:
    cipher = SecretBox(key or base64.urlsafe_b64encode(os.urandom(32)))
    return BrowserSessions(store=services.store, cipher=cipher, clock=clock)


def test_a_session_is_its_tokens_principal_with_its_own_csrf(
    services: Services, clock: Frozen
) -> None:
    sessions = _sessions(services, clock)
    token = auth.create_token(services.store, org_slug="acme", role=Role.EDITOR)
    opened = sessions.open(token)
    assert token not in opened.cookie and opened.max_age == SESSION_LIFETIME.total_seconds()
    resumed = sessions.resume(opened.cookie)
    assert (resumed.principal.org_slug, resumed.principal.role) == ("acme", Role.EDITOR)
    assert resumed.csrf == opened.csrf and same_token(opened.csrf, resumed.csrf)
    assert sessions.open(token).csrf != opened.csrf  # a nonce of its own per sign-in
    assert not same_token(opened.csrf, None) and not same_token(opened.csrf, "")


@pytest.mark.parametrize("token", ["", "lam_unknown", "not a token"])
def test_only_a_valid_token_opens_a_session(services: Services, clock: Frozen, token: str) -> None:
    with pytest.raises(Unauthorized):
        _sessions(services, clock).open(token)


def test_a_cookie_of_another_key_or_tampered_is_refused(services: Services, clock: Frozen) -> None:
    token = auth.create_token(services.store, org_slug="acme", role=Role.ADMIN)
    cookie = _sessions(services, clock).open(token).cookie
    key = base64.urlsafe_b64encode(os.urandom(32))
    mine = _sessions(services, clock, key)
    empty = SecretBox(key).seal("{}")  # sealed with the right key, but no session inside
    for forged in (cookie, cookie[:-4] + "AAAA", "", "garbage", empty):
        with pytest.raises(Unauthorized, match="not valid"):
            mine.resume(forged)


def test_a_session_ends_when_it_expires_or_its_token_is_revoked(
    services: Services, clock: Frozen
) -> None:
    sessions = _sessions(services, clock)
    token = auth.create_token(services.store, org_slug="acme", role=Role.VIEWER)
    cookie = sessions.open(token).cookie
    clock.at += SESSION_LIFETIME - timedelta(seconds=1)
    sessions.resume(cookie)
    clock.at += timedelta(seconds=1)
    with pytest.raises(Unauthorized, match="expired"):
        sessions.resume(cookie)
    fresh = sessions.open(token).cookie
    admin = auth.authenticate(
        services.store, auth.create_token(services.store, org_slug="acme", role=Role.ADMIN)
    )
    [listed] = [t for t in auth.list_tokens(services.store, admin).items if t.role is Role.VIEWER]
    auth.revoke_token(services.store, admin, listed.id)
    with pytest.raises(Unauthorized):
        sessions.resume(fresh)
