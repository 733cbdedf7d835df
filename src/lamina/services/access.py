"""Who may do what: roles checked once, at the start of each use case."""

from __future__ import annotations

from lamina.domain.errors import Forbidden
from lamina.domain.models import Principal, Role


def require(principal: Principal, role: Role) -> None:
    """Refuse the call unless the caller's role is at least `role`."""
    if not principal.role.allows(role):
        raise Forbidden(f"This needs the {role.value} role; the token has {principal.role.value}")
