"""Installing profiles from catalog sources or a direct URL, and updating them.

An install fetches the entry's profile document (from the source's Git branch, or over
HTTP: an entry's `url` is relative to the file that lists it, or absolute), publishes it as
version 1 of a new profile through the ordinary import, and records where it came from. An
update publishes the newer version the source lists as the profile's next version.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from lamina.domain import catalog
from lamina.domain.catalog import (
    Access,
    CatalogEntry,
    CatalogSource,
    CatalogUnavailable,
    Origin,
    SourceKind,
)
from lamina.domain.errors import Conflict, Forbidden, InvalidInput, Issue, NotFound
from lamina.domain.models import Principal, Profile, Role
from lamina.ports import CatalogReader, Clock, Store, UnitOfWork
from lamina.services.access import require
from lamina.services.catalog import CatalogService, update_available
from lamina.services.profiles import ProfileService
from lamina.services.targets import TargetPolicy


@dataclass(frozen=True)
class Installed:
    """A profile installed from a catalog or a URL, and the newer version its source lists
    (`available`, None when none is newer)."""

    profile: Profile
    origin: Origin
    available: str | None
    published: int | None = None
    """The version number this call published (None for a listing)."""

    @property
    def has_update_available(self) -> bool:
        return self.available is not None


@dataclass(frozen=True)
class _Fetched:
    doc: dict[str, Any]
    url: str


class InstallService:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        reader: CatalogReader,
        sources: CatalogService,
        profiles: ProfileService,
        policy: TargetPolicy,
    ) -> None:
        self._store = store
        self._clock = clock
        self._reader = reader
        self._catalog = sources
        self._profiles = profiles
        self._policy = policy

    def installed(self, principal: Principal) -> list[Installed]:
        """The org's profiles installed from a catalog or a URL, by name."""
        with self._store.unit_of_work() as uow:
            found = uow.catalog.origins(principal.org_id)
            sources = {s.id: s for s in uow.catalog.all(principal.org_id)}
        return [Installed(p, o, update_available(o, sources)) for o, p in found]

    def install(
        self, principal: Principal, *, source: str, name: str, version: str | None
    ) -> Installed:
        """Install `name` (at `version`, else the newest the source lists) as a new profile
        of that name. Editors may use sources open to all; `admins` sources need an admin."""
        require(principal, Role.EDITOR)
        found = self._catalog.get(principal, source)
        _may_install(principal, found)
        entry = _entry(found, name, version)
        self._refuse_namesake(principal, name)
        fetched = self._fetch(principal, found, entry)
        return self._publish(principal, fetched, name=name, source=found, version=entry.version)

    def install_url(self, principal: Principal, url: str) -> Installed:
        """Install the profile document at `url` (http or https), which no catalog lists."""
        require(principal, Role.EDITOR)
        fetched = self._fetch_url(url, where="url")
        name = _name_of(fetched.doc)
        self._refuse_namesake(principal, name)
        return self._publish(principal, fetched, name=name, source=None, version="")

    def update(self, principal: Principal, name: str) -> Installed:
        """Publish the newer version the profile's source lists as its next version (a
        profile installed from a URL reads the URL again, publishing only a change)."""
        require(principal, Role.EDITOR)
        _profile, origin = self._installed(principal, name)
        if not origin.source_name:  # installed from a URL
            fetched = self._fetch_url(origin.url, where="url")
            return self._publish(principal, fetched, name=name, source=None, version="")
        source = self._source_of(principal, origin)
        _may_install(principal, source)
        entry = catalog.newest(source.entries, origin.entry)
        if entry is None or not catalog.is_newer(entry.version, origin.version):
            raise Conflict(
                f"'{name}' is up to date: source '{source.name}' lists no version newer than "
                f"{origin.version or '(none)'} (sync the source to see new versions)"
            )
        fetched = self._fetch(principal, source, entry)
        return self._publish(principal, fetched, name=name, source=source, version=entry.version)

    # -- steps ------------------------------------------------------------------------------

    def _installed(self, principal: Principal, name: str) -> tuple[Profile, Origin]:
        with self._store.unit_of_work() as uow:
            profile = uow.profiles.get_by_name(principal.org_id, name)
            origin = uow.catalog.origin(profile.id) if profile else None
        if profile is None:
            raise NotFound(f"Profile '{name}' does not exist")
        if origin is None:
            raise Conflict(f"Profile '{name}' was not installed from a catalog or a URL")
        return profile, origin

    def _source_of(self, principal: Principal, origin: Origin) -> CatalogSource:
        with self._store.unit_of_work() as uow:
            source = uow.catalog.get(principal.org_id, origin.source_id or 0)
        if source is None:
            raise Conflict(f"The catalog source '{origin.source_name}' was deleted")
        return source

    def _refuse_namesake(self, principal: Principal, name: str) -> None:
        with self._store.unit_of_work() as uow:
            existing = uow.profiles.get_by_name(principal.org_id, name)
            origin = uow.catalog.origin(existing.id) if existing else None
        if existing is None:
            return
        if origin is not None:
            raise Conflict(
                f"'{name}' is installed already (version {origin.version or 'from a URL'}); "
                f"update it with `lamina catalog update {name}`"
            )
        raise Conflict(f"The org has a profile named '{name}' that no catalog installed")

    def _fetch(self, principal: Principal, source: CatalogSource, entry: CatalogEntry) -> _Fetched:
        """The entry's profile document: over HTTP for an HTTP source or an absolute URL,
        else the file of the source's Git branch the URL names."""
        if source.kind is SourceKind.HTTP or catalog.is_absolute_url(entry.url):
            base = source.url if source.kind is SourceKind.HTTP else ""
            return self._fetch_url(urljoin(base, entry.url), where="url")
        path = catalog.resolve_in_repository(entry.file, entry.url)
        if path is None:
            raise CatalogUnavailable(
                f"The entry '{entry.name}' points outside the repository: {entry.url}"
            )
        self._catalog.check_target(principal, source.kind, source.url)
        files = self._reader.git_files(url=source.url, branch=source.branch, path=path)
        if path not in files:
            raise CatalogUnavailable(
                f"The entry '{entry.name}' names {path}, which branch '{source.branch}' "
                f"of {source.url} does not hold (sync the source again)"
            )
        return _Fetched(_profile_document(files[path]), f"{source.url}#{source.branch}:{path}")

    def _fetch_url(self, url: str, *, where: str) -> _Fetched:
        if urlsplit(url).scheme not in ("http", "https"):
            issue = Issue(where, "invalid_value", "A profile document URL starts with https://")
            raise InvalidInput("The URL is invalid", issues=[issue])
        self._policy.check_network_url(url, where=where)
        return _Fetched(_profile_document(self._reader.http_document(url)), url)

    def _publish(
        self,
        principal: Principal,
        fetched: _Fetched,
        *,
        name: str,
        source: CatalogSource | None,
        version: str,
    ) -> Installed:
        """Import the document under `name` and record its origin."""
        doc = copy.deepcopy(fetched.doc)
        metadata = doc.get("metadata")
        if not isinstance(metadata, dict):
            issue = Issue("metadata", "missing_field", "A profile document needs its metadata")
            raise InvalidInput("The profile document is invalid", issues=[issue])
        # Installed under the catalog's name; the document's own version number is the
        # source's business (the destination numbers its versions itself).
        metadata["name"] = name
        written = metadata.pop("version", None)
        version = version or (catalog.version_text(written) or "")
        origin = Origin(
            profile_id=0,
            source_id=source.id if source else None,
            source_name=source.name if source else "",
            entry=name,
            version=version,
            url=fetched.url,
            installed_at=self._clock.now(),
        )

        def record(uow: UnitOfWork, profile: Profile) -> None:
            # In the publish's own transaction: a profile and its origin land together.
            uow.catalog.set_origin(dataclasses.replace(origin, profile_id=profile.id))

        imported = self._profiles.import_or_keep(principal, doc, then=record)
        origin = dataclasses.replace(origin, profile_id=imported.profile.id)
        published = None if imported.unchanged else imported.version.version
        available = update_available(origin, {source.id: source}) if source else None
        return Installed(imported.profile, origin, available, published=published)


def _may_install(principal: Principal, source: CatalogSource) -> None:
    if source.access is Access.ADMINS and not principal.role.allows(Role.ADMIN):
        raise Forbidden(
            f"Catalog source '{source.name}' is open to admins only; an admin can grant it "
            "to editors (lamina catalog sources grant)"
        )


def _entry(source: CatalogSource, name: str, version: str | None) -> CatalogEntry:
    found = (
        catalog.by_version(source.entries, name, version)
        if version
        else catalog.newest(source.entries, name)
    )
    if found is None:
        at = f" version {version}" if version else ""
        raise NotFound(f"Catalog source '{source.name}' lists no '{name}'{at} (sync it first?)")
    return found


def _profile_document(doc: Any) -> dict[str, Any]:
    if not catalog.is_profile_document(doc):
        message = (
            f"Not a Lamina profile document (apiVersion {catalog.LAMINA_API_VERSION}, "
            "kind StackProfile)"
        )
        raise InvalidInput("Not a profile document", issues=[Issue("", "invalid_value", message)])
    assert isinstance(doc, dict)
    return doc


def _name_of(doc: dict[str, Any]) -> str:
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not name:
        issue = Issue("metadata.name", "missing_field", "The document names no profile")
        raise InvalidInput("The profile document is invalid", issues=[issue])
    return name
