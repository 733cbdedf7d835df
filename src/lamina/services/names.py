"""References by name or id: what a path segment or a command argument names.

A reference made of digits only is an id; anything else is a name looked up in the
caller's org (names are unique per org for profiles, clusters and registries; a draft
name may be shared, and then only its id says which one is meant). Resolving a name
never reveals another org's rows: an id is checked by the service that reads it, a name
is only ever looked up in the caller's own org.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from lamina.domain.errors import Conflict, NotFound
from lamina.domain.models import Principal
from lamina.domain.refs import MAX_ID, is_id
from lamina.ports import Store, UnitOfWork

MAX_SHOWN = 20


def as_id(ref: str, noun: str) -> int:
    """The id a digits-only reference holds; NotFound when no row can have it."""
    number = int(ref)
    if not 1 <= number <= MAX_ID:
        raise NotFound(f"{noun.capitalize()} {ref} does not exist")
    return number


class _Named(Protocol):
    @property
    def id(self) -> int: ...


# How a kind of row is found by name in an org: (unit of work, org id, name) -> row or None.
Lookup = Callable[[UnitOfWork, int, str], _Named | None]


class NameService:
    """Turns a name-or-id reference into the id the other services take."""

    def __init__(self, *, store: Store) -> None:
        self._store = store

    def profile(self, principal: Principal, ref: str) -> int:
        return self._one(
            principal, ref, "profile", lambda uow, org, name: uow.profiles.get_by_name(org, name)
        )

    def cluster(self, principal: Principal, ref: str) -> int:
        return self._one(
            principal, ref, "cluster", lambda uow, org, name: uow.clusters.get_by_name(org, name)
        )

    def registry(self, principal: Principal, ref: str) -> int:
        return self._one(
            principal, ref, "registry", lambda uow, org, name: uow.registries.get_by_name(org, name)
        )

    def _one(self, principal: Principal, ref: str, noun: str, lookup: Lookup) -> int:
        """The id a reference holds, or the id of the org's `noun` of that name."""
        if is_id(ref):
            return as_id(ref, noun)
        with self._store.unit_of_work() as uow:
            found = lookup(uow, principal.org_id, ref)
        if found is None:
            raise NotFound(f"No {noun} is named '{ref}' in this org")
        return found.id

    def draft(self, principal: Principal, ref: str) -> int:
        """The org's only draft of that name; several drafts of one name need the id."""
        if is_id(ref):
            return as_id(ref, "draft")
        with self._store.unit_of_work() as uow:
            found = uow.drafts.page(principal.org_id, page=1, page_size=MAX_SHOWN, name=ref)
        if not found.items:
            raise NotFound(f"No draft is named '{ref}' in this org")
        if found.total_count > 1:
            ids = ", ".join(str(d.id) for d in found.items)
            more = found.total_count - len(found.items)
            tail = f" and {more} more" if more > 0 else ""
            raise Conflict(
                f"{found.total_count} drafts are named '{ref}' (ids {ids}{tail}): use the id"
            )
        return found.items[0].id
