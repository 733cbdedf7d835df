"""Protocols the services need. Adapters implement them; services never import adapters."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from lamina.domain.models import (
    Draft,
    Org,
    Page,
    Principal,
    Profile,
    ProfileQuery,
    ProfileVersion,
    Role,
    VersionSummary,
)


class Clock(Protocol):
    def now(self) -> datetime: ...


class OrgRepository(Protocol):
    def get_by_slug(self, slug: str) -> Org | None: ...
    def create(self, *, slug: str, name: str) -> Org: ...


class TokenRepository(Protocol):
    def create(self, *, org_id: int, role: Role, token_hash: str, label: str) -> None: ...
    def find(self, token_hash: str) -> Principal | None: ...


class ProfileRepository(Protocol):
    def list(self, org_id: int, query: ProfileQuery) -> Page[Profile]: ...
    def get(self, org_id: int, profile_id: int, *, include_public: bool = False) -> Profile | None:
        """The profile if `org_id` owns it, or if it is public and `include_public`."""
        ...

    def get_by_name(
        self, org_id: int, name: str, *, for_update: bool = False
    ) -> Profile | None: ...
    def lock(self, profile_id: int) -> Profile:
        """Re-read the profile, holding a write lock until the unit of work ends."""
        ...

    def create(self, *, org_id: int, fields: dict[str, Any], now: datetime) -> Profile: ...
    def update(self, profile_id: int, *, fields: dict[str, Any], now: datetime) -> Profile: ...
    def delete(self, profile_id: int) -> None: ...


class VersionRepository(Protocol):
    def summaries(self, profile_id: int) -> list[VersionSummary]: ...
    def get(self, profile_id: int, version: int) -> ProfileVersion | None: ...
    def find(self, org_id: int, name: str, version: int) -> ProfileVersion | None:
        """A version of the org's profile called `name` (or of a public one of that name)."""
        ...

    def add(self, version: ProfileVersion) -> None: ...


class DraftRepository(Protocol):
    def list(self, org_id: int, *, page: int, page_size: int, name: str | None) -> Page[Draft]: ...
    def get(self, org_id: int, draft_id: int) -> Draft | None: ...
    def create(self, draft: Draft) -> Draft: ...
    def update(self, draft: Draft, *, expected_version: int) -> Draft:
        """Store `draft` as version+1 if the stored one is `expected_version`, else StaleWrite."""
        ...

    def delete(self, org_id: int, draft_id: int) -> bool: ...


class UnitOfWork(Protocol):
    orgs: OrgRepository
    tokens: TokenRepository
    profiles: ProfileRepository
    versions: VersionRepository
    drafts: DraftRepository


class Store(Protocol):
    def unit_of_work(self, *, write: bool = False) -> AbstractContextManager[UnitOfWork]:
        """A transaction: committed when the block ends normally, rolled back on error."""
        ...

    def migrate(self) -> None: ...
