"""Imports of profiles written for other systems (Palette cluster profiles, Weaveworks
profile definitions): each becomes a draft, never a published version, with an import
report of what mapped, what was approximated and what could not be mapped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lamina.domain import document
from lamina.domain.errors import InvalidInput, Issue
from lamina.domain.importers import palette, weaveworks
from lamina.domain.importers.report import Context, KnownRegistry, LoadYaml, Note, split_stream
from lamina.domain.models import Draft, Principal, Role
from lamina.ports import Store, UnitOfWork
from lamina.services.access import require
from lamina.services.drafts import DraftService
from lamina.services.targets import TargetPolicy

Fetch = Callable[[str, int], bytes]
"""Fetches the body at a URL, at most that many bytes (every hop checked by the policy)."""
_PAGE = 200


class SourceKind(StrEnum):
    PALETTE = "palette"
    WEAVEWORKS = "weaveworks"


@dataclass(frozen=True)
class ImportResult:
    draft: Draft
    report: list[Note]


class ImportService:
    def __init__(
        self,
        *,
        store: Store,
        drafts: DraftService,
        policy: TargetPolicy,
        load_yaml: LoadYaml,
        fetch: Fetch,
        max_bytes: int,
    ) -> None:
        self._store = store
        self._drafts = drafts
        self._policy = policy
        self._load_yaml = load_yaml
        self._fetch = fetch
        self._max_bytes = max_bytes

    def fetch(self, principal: Principal, url: str) -> bytes:
        """The source document at `url`, when the server's policy allows the target."""
        require(principal, Role.EDITOR)
        self._policy.check_network_url(url, where="url")
        return self._fetch(url, self._max_bytes)

    def import_text(
        self, principal: Principal, kind: SourceKind, text: bytes, *, name: str | None = None
    ) -> ImportResult:
        """Map the source document(s) in `text` (JSON for Palette, a YAML stream for
        Weaveworks) and store the result as a new draft. Nothing is stored when the source
        is not a document of `kind`."""
        require(principal, Role.EDITOR)
        documents = self._parse(kind, text)
        context = self._context(principal, kind, documents, name)
        if kind is SourceKind.PALETTE:
            imported = palette.import_profile(documents[0], context)
        else:
            imported = weaveworks.import_profile(documents, context)
        document.check_tree(imported.document)
        document.check_limits(imported.document)
        draft = self._drafts.create(principal, source=imported.document)
        return ImportResult(draft, imported.notes)

    def _parse(self, kind: SourceKind, text: bytes) -> list[Any]:
        try:
            decoded = text.decode("utf-8")
        except UnicodeDecodeError:
            issue = Issue("", "invalid_yaml", "The document is not UTF-8 text")
            raise InvalidInput("The document cannot be read", issues=[issue]) from None
        if kind is SourceKind.PALETTE:
            return [self._load_yaml(decoded)]
        parts = split_stream(decoded)
        if not parts:
            issue = Issue("", "missing_field", "The body holds no document")
            raise InvalidInput("The document is empty", issues=[issue])
        return [self._load_yaml(part) for part in parts]

    def _context(
        self, principal: Principal, kind: SourceKind, documents: list[Any], name: str | None
    ) -> Context:
        """The org's registries, and the profiles nested-profile artifacts may name."""
        wanted = weaveworks.nested_profile_names(documents) if kind is SourceKind.WEAVEWORKS else []
        with self._store.unit_of_work() as uow:
            registries = _registries(uow, principal.org_id)
            profiles = {}
            for each in wanted:
                found = uow.profiles.get_by_name(principal.org_id, each)
                if found is not None and found.latest_version:
                    profiles[each] = found.latest_version
        return Context(
            load_yaml=self._load_yaml, registries=registries, profiles=profiles, name=name
        )


def _registries(uow: UnitOfWork, org_id: int) -> tuple[KnownRegistry, ...]:
    found: list[KnownRegistry] = []
    page = 1
    while True:
        listed = uow.registries.page(org_id, page=page, page_size=_PAGE)
        found += [KnownRegistry(r.name, r.url) for r in listed.items]
        if page * _PAGE >= listed.total_count or not listed.items:
            return tuple(found)
        page += 1
