"""Catalog sources (approved lists of profiles from Git or HTTP) and the catalog search.

Admins add, sync, grant, revoke and delete sources. A sync reads the source now and keeps
its entries; a failed one keeps the last good entries and records why it failed. Searching
the catalog lists the org's own profiles, other orgs' public ones, then the entries of the
org's sources. Installing and updating live in services/installs.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from lamina.domain import catalog, refs
from lamina.domain.catalog import (
    Access,
    CatalogEntry,
    CatalogSource,
    CatalogUnavailable,
    Origin,
    SourceKind,
)
from lamina.domain.errors import InvalidInput, Issue, LaminaError, NotFound
from lamina.domain.models import Page, Principal, Profile, ProfileQuery, Role
from lamina.ports import CatalogReader, Clock, Store, UnitOfWork
from lamina.services.access import require
from lamina.services.targets import TargetPolicy

DEFAULT_BRANCH = "main"


@dataclass(frozen=True)
class CatalogRow:
    """One result of the catalog search: a profile (own or public) or a source's entry
    (its newest version; `versions` newest first)."""

    origin: str
    """`own`, `public` or `catalog`."""
    name: str
    description: str
    version: str
    source: str | None = None
    profile: Profile | None = None
    entry: CatalogEntry | None = None
    versions: tuple[str, ...] = ()
    access: Access | None = None
    installed: Origin | None = None
    has_update_available: bool = False


class CatalogService:
    def __init__(
        self, *, store: Store, clock: Clock, reader: CatalogReader, policy: TargetPolicy
    ) -> None:
        self._store = store
        self._clock = clock
        self._reader = reader
        self._policy = policy

    # -- sources ----------------------------------------------------------------------------

    def sources(self, principal: Principal, *, page: int, page_size: int) -> Page[CatalogSource]:
        with self._store.unit_of_work() as uow:
            return uow.catalog.page(principal.org_id, page=page, page_size=page_size)

    def create(
        self,
        principal: Principal,
        *,
        name: str,
        kind: SourceKind,
        url: str,
        branch: str | None = None,
        path: str = "",
        access: Access = Access.ALL,
    ) -> CatalogSource:
        """Add a source (not read yet: sync it). The URL must pass the server's policy."""
        require(principal, Role.ADMIN)
        if kind is SourceKind.GIT:
            branch = branch or DEFAULT_BRANCH
        elif branch:
            issue = Issue("branch", "invalid_value", "Only a Git source has a branch")
            raise InvalidInput("The catalog source is invalid", issues=[issue])
        path = path.strip("/")
        issues = catalog.check_source_fields(name, url, branch, path)
        issues += self._url_issues(principal, kind, url)
        if issues:
            raise InvalidInput("The catalog source is invalid", issues=issues)
        source = CatalogSource(
            id=0,
            org_id=principal.org_id,
            name=name,
            kind=kind,
            url=url,
            branch=branch or "",
            path=path,
            access=access,
            created_at=self._clock.now(),
        )
        with self._store.unit_of_work(write=True) as uow:
            if uow.catalog.get_by_name(principal.org_id, name):
                message = f"A catalog source named '{name}' exists"
                raise InvalidInput("Name taken", issues=[Issue("name", "duplicate_name", message)])
            return uow.catalog.create(source)

    def _url_issues(self, principal: Principal, kind: SourceKind, url: str) -> list[Issue]:
        if urlsplit(url).password is not None:
            message = "Credentials in a URL would be stored and shown; use a public URL"
            return [Issue("url", "invalid_value", message)]
        if kind is SourceKind.HTTP and urlsplit(url).scheme not in ("http", "https"):
            return [Issue("url", "invalid_value", "An http source URL starts with https://")]
        try:
            self.check_target(principal, kind, url)
        except InvalidInput as refused:
            return refused.issues
        return []

    def check_target(self, principal: Principal, kind: SourceKind, url: str) -> None:
        """InvalidInput (`target_not_allowed` at `url`) unless the server may read `url`."""
        if kind is SourceKind.GIT:
            self._policy.check_git_url(principal.org_slug, url, where="url")
        else:
            self._policy.check_network_url(url, where="url")

    def get(self, principal: Principal, ref: str) -> CatalogSource:
        with self._store.unit_of_work() as uow:
            return source_by_ref(uow, principal, ref)

    def sync(self, principal: Principal, ref: str) -> CatalogSource:
        """Read the source now and keep its entries. When it cannot be read or its files are
        not a catalog, the error is recorded (the last good entries stay) and raised as
        CatalogUnavailable with the issues' paths into the files."""
        require(principal, Role.ADMIN)
        source = self.get(principal, ref)
        self.check_target(principal, source.kind, source.url)
        try:
            entries = self._read(source)
        except (CatalogUnavailable, InvalidInput) as error:
            message = _summary(error)
            with self._store.unit_of_work(write=True) as uow:
                uow.catalog.record_sync(
                    source.id, at=self._clock.now(), entries=None, error=message
                )
            raise CatalogUnavailable(message, issues=error.issues) from error
        with self._store.unit_of_work(write=True) as uow:
            uow.catalog.record_sync(source.id, at=self._clock.now(), entries=entries, error=None)
        return self.get(principal, str(source.id))

    def _read(self, source: CatalogSource) -> list[CatalogEntry]:
        if source.kind is SourceKind.HTTP:
            return catalog.parse_files({"": self._reader.http_document(source.url)}, named=False)
        files = self._reader.git_files(url=source.url, branch=source.branch, path=source.path)
        entries = catalog.parse_files(files, named=True)
        if not entries:
            where = f"'{source.path}'" if source.path else "the repository"
            message = f"No catalog file or profile document (.yaml, .yml, .json) in {where}"
            raise InvalidInput("Nothing to list", issues=[Issue("path", "invalid_value", message)])
        return entries

    def set_access(self, principal: Principal, ref: str, access: Access) -> CatalogSource:
        """Grant the source to the org's editors (`all`) or revoke it to admins only."""
        require(principal, Role.ADMIN)
        with self._store.unit_of_work(write=True) as uow:
            source = source_by_ref(uow, principal, ref)
            uow.catalog.set_access(source.id, access)
        return replace(source, access=access)

    def delete(self, principal: Principal, ref: str) -> None:
        """Delete a source; profiles installed from it stay, and no longer see updates."""
        require(principal, Role.ADMIN)
        with self._store.unit_of_work(write=True) as uow:
            source = source_by_ref(uow, principal, ref)
            uow.catalog.delete(principal.org_id, source.id)

    # -- the catalog ------------------------------------------------------------------------

    def search(
        self,
        principal: Principal,
        *,
        search: str | None,
        source: str | None,
        page: int,
        page_size: int,
    ) -> Page[CatalogRow]:
        """Own and public profiles (by name), then the sources' entries (by source and
        name); with `source`, that source's entries only. Two queries whatever the page."""
        text = (search or "").strip() or None
        with self._store.unit_of_work() as uow:
            sources = [source_by_ref(uow, principal, source)] if source else None
            sources = sources or uow.catalog.all(principal.org_id)
            installed = {o.profile_id: o for o, _ in uow.catalog.origins(principal.org_id)}
            profiles = Page[Profile]([], 0, page, page_size)
            if source is None:
                query = ProfileQuery(
                    page=page, page_size=page_size, search=text, include_public=True
                )
                profiles = uow.profiles.page(principal.org_id, query)
        by_id = {s.id: s for s in sources}
        rows = [_profile_row(principal, p, installed.get(p.id), by_id) for p in profiles.items]
        entries = _entry_rows(sources, text, installed)
        start = max(0, (page - 1) * page_size - profiles.total_count)
        rows += entries[start : start + page_size - len(rows)]
        total = profiles.total_count + len(entries)
        return Page(items=rows, total_count=total, page=page, page_size=page_size)


def source_by_ref(uow: UnitOfWork, principal: Principal, ref: str) -> CatalogSource:
    """The org's source a name or a digits-only id names; NotFound otherwise."""
    found = None
    if refs.is_id(ref):
        number = int(ref)
        found = uow.catalog.get(principal.org_id, number) if number <= refs.MAX_ID else None
    else:
        found = uow.catalog.get_by_name(principal.org_id, ref)
    if found is None:
        raise NotFound(f"Catalog source {ref} does not exist")
    return found


def update_available(origin: Origin, sources: dict[int, CatalogSource]) -> str | None:
    """The newer version the origin's source lists, None when there is none."""
    source = sources.get(origin.source_id) if origin.source_id is not None else None
    newest = catalog.newest(source.entries, origin.entry) if source else None
    if newest is None or not catalog.is_newer(newest.version, origin.version):
        return None
    return newest.version


def _profile_row(
    principal: Principal,
    profile: Profile,
    origin: Origin | None,
    sources: dict[int, CatalogSource],
) -> CatalogRow:
    own = profile.org_id == principal.org_id
    return CatalogRow(
        origin="own" if own else "public",
        name=profile.name,
        description=profile.description,
        version=str(profile.latest_version),
        source=origin.source_name or None if origin else None,
        profile=profile,
        installed=origin if own else None,
        has_update_available=bool(own and origin and update_available(origin, sources)),
    )


def _entry_rows(
    sources: list[CatalogSource], text: str | None, installed: dict[int, Origin]
) -> list[CatalogRow]:
    by_entry = {(o.source_id, o.entry): o for o in installed.values()}
    needle = (text or "").casefold()
    rows: list[CatalogRow] = []
    for source in sources:
        for name in sorted({e.name for e in source.entries}):
            newest = catalog.newest(source.entries, name)
            assert newest is not None
            if needle and needle not in f"{name}\n{newest.description}".casefold():
                continue
            versions = sorted(
                (e.version for e in source.entries if e.name == name),
                key=catalog.version_key,
                reverse=True,
            )
            origin = by_entry.get((source.id, name))
            newer = origin is not None and catalog.is_newer(newest.version, origin.version)
            rows.append(
                CatalogRow(
                    origin="catalog",
                    name=name,
                    description=newest.description,
                    version=newest.version,
                    source=source.name,
                    entry=newest,
                    versions=tuple(versions),
                    access=source.access,
                    installed=origin,
                    has_update_available=newer,
                )
            )
    return rows


def _summary(error: LaminaError) -> str:
    """One line for the source's last error: the detail and the first issue, with its path."""
    if not error.issues:
        return error.detail
    first = error.issues[0]
    more = len(error.issues) - 1
    tail = f" (and {more} more)" if more else ""
    where = f"{first.path}: " if first.path else ""
    return f"{error.detail}: {where}{first.message}{tail}"
