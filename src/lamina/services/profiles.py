"""Reading, editing and deleting profiles; version detail, diff, export and import."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lamina.domain import diff, document, validation
from lamina.domain.errors import Conflict, Forbidden, InvalidInput, Issue, NotFound
from lamina.domain.models import (
    Page,
    Principal,
    Profile,
    ProfileQuery,
    ProfileVersion,
    Role,
    VersionSummary,
)
from lamina.ports import Clock, Store, UnitOfWork
from lamina.services import publishing, usage
from lamina.services.access import require
from lamina.services.checks import DocumentChecker

MAX_PAGE_SIZE = 200
EDITABLE_FIELDS = ("name", "description", "category", "tags", "visibility")


@dataclass(frozen=True)
class UpdateStatus:
    outdated_instantiation_count: int
    has_update_available: bool


@dataclass(frozen=True)
class ProfileDetail:
    profile: Profile
    versions: list[VersionSummary]
    latest: ProfileVersion | None
    update_status: UpdateStatus
    deprecations: dict[int, dict[str, str]]


@dataclass(frozen=True)
class Comparison:
    old: ProfileVersion
    new: ProfileVersion
    changes: list[diff.Change]


@dataclass(frozen=True)
class Imported:
    profile: Profile
    version: ProfileVersion
    unchanged: bool
    """True when the document equalled the latest version, so nothing was published."""


class ProfileService:
    def __init__(self, *, store: Store, clock: Clock, checker: DocumentChecker) -> None:
        self._store = store
        self._clock = clock
        self._checker = checker

    def list_profiles(self, principal: Principal, query: ProfileQuery) -> Page[Profile]:
        if not 1 <= query.page_size <= MAX_PAGE_SIZE or query.page < 1:
            raise InvalidInput(
                "Bad page",
                issues=[
                    Issue(
                        "page_size", "invalid_value", f"page ≥ 1, 1 ≤ page_size ≤ {MAX_PAGE_SIZE}"
                    )
                ],
            )
        with self._store.unit_of_work() as uow:
            return uow.profiles.page(principal.org_id, query)

    def outdated_counts(self, principal: Principal, profiles: list[Profile]) -> dict[int, int]:
        """How many instantiations of each listed profile run an outdated version, in one
        query; only the caller's own profiles are counted (others' clusters are not ours)."""
        own = [p.id for p in profiles if p.org_id == principal.org_id]
        with self._store.unit_of_work() as uow:
            return uow.stacks.outdated_counts(own)

    def detail(self, principal: Principal, profile_id: int) -> ProfileDetail:
        with self._store.unit_of_work() as uow:
            profile = _readable(uow, principal, profile_id)
            versions = uow.versions.summaries(profile.id)
            latest = uow.versions.get(profile.id, profile.latest_version)
            outdated = uow.stacks.outdated_counts([profile.id]).get(profile.id, 0)
            deprecations = uow.stacks.deprecations(profile.id)
        status = UpdateStatus(
            outdated_instantiation_count=outdated, has_update_available=outdated > 0
        )
        return ProfileDetail(
            profile=profile,
            versions=versions,
            latest=latest,
            update_status=status,
            deprecations=deprecations,
        )

    def version(self, principal: Principal, profile_id: int, number: int) -> ProfileVersion:
        with self._store.unit_of_work() as uow:
            profile = _readable(uow, principal, profile_id)
            return _version(uow, profile, number)

    def update(self, principal: Principal, profile_id: int, changes: dict[str, Any]) -> Profile:
        require(principal, Role.EDITOR)
        unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
        if unknown:
            raise InvalidInput(
                "Unknown fields",
                issues=[
                    Issue(k, "unknown_field", f"'{k}' cannot be changed here") for k in unknown
                ],
            )
        issues = [
            Issue(k, "missing_field", f"'{k}' cannot be null")
            for k, v in changes.items()
            if v is None
        ]
        issues = issues or _check_profile_fields(changes)
        if issues:
            raise InvalidInput("The profile fields are invalid", issues=issues)
        with self._store.unit_of_work(write=True) as uow:
            profile = _writable(uow, principal, profile_id)
            renamed = changes.get("name", profile.name)
            if renamed != profile.name and uow.profiles.get_by_name(principal.org_id, renamed):
                issue = Issue("name", "duplicate_name", f"A profile named '{renamed}' exists")
                raise InvalidInput("Name taken", issues=[issue])
            return uow.profiles.update(profile.id, fields=changes, now=self._clock.now())

    def delete(self, principal: Principal, profile_id: int, *, force: bool = False) -> Profile:
        """Delete a profile nothing depends on (Conflict naming what does). With `force`,
        archive it instead: hidden from lists, still rendered where it runs."""
        require(principal, Role.EDITOR)
        with self._store.unit_of_work(write=True) as uow:
            profile = _writable(uow, principal, profile_id)
            if force:
                if profile.archived_at is not None:
                    return profile
                return uow.profiles.archive(profile.id, now=self._clock.now())
            users = usage.profile_users(uow, uow.profiles.lock(profile.id))
            if users is not None:
                raise Conflict(f"{users}; archive it with force=true instead")
            uow.profiles.delete(profile.id)
            return profile

    def deprecate(
        self, principal: Principal, profile_id: int, number: int, *, reason: str, note: str
    ) -> Profile:
        """Mark a version deprecated: clusters may no longer instantiate it, instantiations of it
        count as outdated, and the current version moves to the newest stable one left."""
        require(principal, Role.EDITOR)
        with self._store.unit_of_work(write=True) as uow:
            profile = _writable(uow, principal, profile_id)
            _version(uow, profile, number)
            uow.stacks.deprecate(
                profile.id, number, reason=reason, note=note, now=self._clock.now()
            )
            return self._refresh_current(uow, profile)

    def undeprecate(self, principal: Principal, profile_id: int, number: int) -> Profile:
        require(principal, Role.EDITOR)
        with self._store.unit_of_work(write=True) as uow:
            profile = _writable(uow, principal, profile_id)
            if not uow.stacks.undeprecate(profile.id, number):
                raise NotFound(f"Version {number} of '{profile.name}' is not deprecated")
            return self._refresh_current(uow, profile)

    def deprecations(self, principal: Principal, profile_id: int) -> dict[int, dict[str, str]]:
        with self._store.unit_of_work() as uow:
            profile = _readable(uow, principal, profile_id)
            return uow.stacks.deprecations(profile.id)

    def _refresh_current(self, uow: UnitOfWork, profile: Profile) -> Profile:
        deprecated = uow.stacks.deprecations(profile.id)
        stable = [
            v.version
            for v in uow.versions.summaries(profile.id)
            if v.channel == "stable" and v.version not in deprecated
        ]
        current = max(stable) if stable else None
        return uow.profiles.update(
            profile.id, fields={"current_version": current}, now=self._clock.now()
        )

    def diff(
        self,
        principal: Principal,
        profile_id: int,
        from_version: int | None,
        to_version: int | None,
    ) -> tuple[int, int, list[diff.Change]]:
        found = self.compare(principal, profile_id, from_version, to_version)
        return found.old.version, found.new.version, found.changes

    def compare(
        self,
        principal: Principal,
        profile_id: int,
        from_version: int | None,
        to_version: int | None,
    ) -> Comparison:
        """Two versions (by default the latest and the one before) and what changed."""
        with self._store.unit_of_work() as uow:
            profile = _readable(uow, principal, profile_id)
            to_n = to_version or profile.latest_version
            from_n = from_version or max(1, to_n - 1)
            old, new = _version(uow, profile, from_n), _version(uow, profile, to_n)
        return Comparison(old, new, diff.diff_specs(old.spec, new.spec))

    def export(self, principal: Principal, profile_id: int, number: int) -> dict[str, Any]:
        with self._store.unit_of_work() as uow:
            profile = _readable(uow, principal, profile_id)
            return document.export_document(profile, _version(uow, profile, number))

    def import_document(self, principal: Principal, doc: Any) -> tuple[Profile, ProfileVersion]:
        """Publish `doc` as version 1 of a new profile or the next version of its namesake."""
        imported = self.import_or_keep(principal, doc)
        return imported.profile, imported.version

    def import_or_keep(
        self,
        principal: Principal,
        doc: Any,
        *,
        then: Callable[[UnitOfWork, Profile], None] | None = None,
    ) -> Imported:
        """Like import_document, but a document equal to its namesake's latest version
        publishes nothing: that version comes back, marked unchanged. `then` writes what
        goes with the result in the same transaction as the publish (in one of its own when
        nothing is published)."""
        require(principal, Role.EDITOR)
        same = self._latest_if_same(principal, doc)
        if same is not None:
            if then is not None:
                with self._store.unit_of_work(write=True) as uow:
                    then(uow, same[0])
            return Imported(*same, unchanged=True)
        report, lock = self._checker.check(principal.org_id, doc)
        publishing.raise_if_invalid(report)
        profile, version = publishing.publish(
            self._store, principal, doc=doc, now=self._clock.now(), lock=lock, then=then
        )
        return Imported(profile, version, unchanged=False)

    def _latest_if_same(
        self, principal: Principal, doc: Any
    ) -> tuple[Profile, ProfileVersion] | None:
        metadata = doc.get("metadata") if isinstance(doc, dict) else None
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not isinstance(name, str):
            return None
        with self._store.unit_of_work() as uow:
            profile = uow.profiles.get_by_name(principal.org_id, name)
            latest = uow.versions.get(profile.id, profile.latest_version) if profile else None
        if profile is None or latest is None:
            return None
        if not document.same_content(doc, document.export_document(profile, latest)):
            return None
        return profile, latest


def _readable(uow: UnitOfWork, principal: Principal, profile_id: int) -> Profile:
    profile = uow.profiles.get(principal.org_id, profile_id, include_public=True)
    if profile is None:
        raise NotFound(f"Profile {profile_id} does not exist")
    return profile


def _writable(uow: UnitOfWork, principal: Principal, profile_id: int) -> Profile:
    profile = _readable(uow, principal, profile_id)
    if profile.org_id != principal.org_id:
        raise Forbidden("Public profiles of other orgs are read-only")
    return profile


def _version(uow: UnitOfWork, profile: Profile, number: int) -> ProfileVersion:
    found = uow.versions.get(profile.id, number)
    if found is None:
        raise NotFound(f"Profile '{profile.name}' has no version {number}")
    return found


def _check_profile_fields(changes: dict[str, Any]) -> list[Issue]:
    probe = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS}
    probe.setdefault("name", "probe")
    doc = document.assemble(probe, {"type": "add-on", "layers": []})

    report = validation.validate_document(doc)
    return [
        Issue(issue.path.removeprefix("metadata."), issue.code, issue.message)
        for issue in report.errors
        if issue.path.startswith("metadata")
    ]
