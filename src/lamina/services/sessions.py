"""Browser sessions: an API token exchanged for a sealed cookie, and the CSRF token that
every write made with that cookie must carry.

The cookie holds the token sealed with the server's key (never readable by a script: the
web layer sets it `HttpOnly`, `SameSite=Strict`), a random nonce and an expiry. Each use
authenticates the token again, so a revoked or expired token ends its sessions at once.
The CSRF token is a keyed digest of the nonce: a page embeds it, a cross-site page cannot
read it, and the server recomputes it from the cookie.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

from lamina.domain.errors import LaminaError, Unauthorized
from lamina.domain.models import Principal
from lamina.ports import Cipher, Clock, Store
from lamina.services import auth

SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Session:
    principal: Principal
    csrf: str


@dataclass(frozen=True)
class Opened:
    cookie: str
    csrf: str
    max_age: int


class BrowserSessions:
    def __init__(self, *, store: Store, cipher: Cipher, clock: Clock) -> None:
        self._store = store
        self._cipher = cipher
        self._clock = clock

    def open(self, token: str) -> Opened:
        """A session for a valid token; Unauthorized for any other."""
        token = token.strip()
        auth.authenticate(self._store, token)
        nonce = secrets.token_hex(16)
        expires = int((self._clock.now() + SESSION_LIFETIME).timestamp())
        cookie = self._cipher.seal(json.dumps({"t": token, "n": nonce, "x": expires}))
        return Opened(
            cookie=cookie,
            csrf=self._csrf(nonce),
            max_age=int(SESSION_LIFETIME.total_seconds()),
        )

    def resume(self, cookie: str) -> Session:
        """The principal and CSRF token of a session cookie; Unauthorized when it is not
        one of ours, has expired, or its token no longer authenticates."""
        try:
            content = json.loads(self._cipher.open(cookie))
            token, nonce, expires = str(content["t"]), str(content["n"]), int(content["x"])
        except (LaminaError, ValueError, KeyError, TypeError) as error:
            raise Unauthorized("The session is not valid; sign in again") from error
        if self._clock.now().timestamp() >= expires:
            raise Unauthorized("The session has expired; sign in again")
        return Session(principal=auth.authenticate(self._store, token), csrf=self._csrf(nonce))

    def _csrf(self, nonce: str) -> str:
        return self._cipher.digest(f"csrf:{nonce}")


def same_token(expected: str, supplied: str | None) -> bool:
    """Whether a supplied CSRF token is the expected one, in constant time."""
    return bool(supplied) and hmac.compare_digest(expected.encode(), (supplied or "").encode())
