"""Who may do what: roles checked once, at the start of each use case."""

from __future__ import annotations

from lamina.domain.errors import Forbidden, NotFound
from lamina.domain.models import Principal, Profile, Role
from lamina.ports import UnitOfWork


def require(principal: Principal, role: Role) -> None:
    """Refuse the call unless the caller's role is at least `role`."""
    if not principal.role.allows(role):
        raise Forbidden(f"This needs the {role.value} role; the token has {principal.role.value}")


def own_profile(uow: UnitOfWork, principal: Principal, profile_id: int) -> Profile:
    """The caller's org's profile, to change: another org's public profile is visible but
    read-only (Forbidden); another org's private one does not exist (NotFound)."""
    profile = uow.profiles.get(principal.org_id, profile_id, include_public=True)
    if profile is None:
        raise NotFound(f"Profile {profile_id} does not exist")
    if profile.org_id != principal.org_id:
        raise Forbidden("Public profiles of other orgs are read-only")
    return profile
