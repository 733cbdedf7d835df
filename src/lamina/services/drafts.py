"""Drafts: editable working copies of profiles, validated and then published."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from lamina.domain import document, validation
from lamina.domain.errors import InvalidInput, Issue, NotFound
from lamina.domain.models import Draft, Page, Principal, Profile, ProfileVersion, Role
from lamina.ports import Clock, Store, UnitOfWork
from lamina.services import publishing
from lamina.services.access import require
from lamina.services.checks import DocumentChecker

EMPTY_SPEC: dict[str, Any] = {"type": "add-on", "parameters": [], "layers": []}
# Keys of an exported document's metadata that belong to one version, not to a draft.
_VERSION_KEYS = ("version",)


class DraftService:
    def __init__(self, *, store: Store, clock: Clock, checker: DocumentChecker) -> None:
        self._store = store
        self._clock = clock
        self._checker = checker

    def list_drafts(
        self, principal: Principal, *, page: int, page_size: int, name: str | None = None
    ) -> Page[Draft]:
        with self._store.unit_of_work() as uow:
            return uow.drafts.page(principal.org_id, page=page, page_size=page_size, name=name)

    def get(self, principal: Principal, draft_id: int) -> Draft:
        with self._store.unit_of_work() as uow:
            draft = uow.drafts.get(principal.org_id, draft_id)
        if draft is None:
            raise NotFound(f"Draft {draft_id} does not exist")
        return draft

    def create(
        self,
        principal: Principal,
        *,
        name: str | None = None,
        profile_id: int | None = None,
        from_version: int | None = None,
        source: Any = None,
    ) -> Draft:
        """A new draft: empty, seeded from a profile version, or holding a whole document."""
        require(principal, Role.EDITOR)
        now = self._clock.now()
        with self._store.unit_of_work(write=True) as uow:
            if source is not None and not isinstance(source, dict):
                issue = Issue("", "wrong_type", "A profile document is a mapping")
                raise InvalidInput("The document is not a profile", issues=[issue])
            if source is not None:
                metadata, spec, base = _split(source), _spec_of(source), None
            elif profile_id is not None:
                metadata, spec, base = _seed(uow, principal, profile_id, from_version)
            elif name:
                metadata, spec, base = {"name": name}, dict(EMPTY_SPEC), None
            else:
                raise InvalidInput(
                    "A new draft needs a name or a profile to start from",
                    issues=[Issue("name", "missing_field", "Give 'name' or 'profile_id'")],
                )
            if name and source is None:
                metadata = {**metadata, "name": name}
            draft = Draft(
                id=0,
                org_id=principal.org_id,
                name=_name_of(metadata),
                profile_id=profile_id if base is not None else None,
                base_version=base,
                metadata=metadata,
                spec=spec,
                version=1,
                created_at=now,
                updated_at=now,
            )
            return uow.drafts.create(draft)

    def update(
        self,
        principal: Principal,
        draft_id: int,
        *,
        expected_version: int,
        spec: dict[str, Any],
        parameters: list[Any] | None,
        metadata: dict[str, Any] | None,
    ) -> Draft:
        """Replace the draft's content if `expected_version` is still current (else StaleWrite)."""
        require(principal, Role.EDITOR)
        document.check_tree(spec, where="spec")
        document.check_tree(parameters, where="parameters")
        document.check_tree(metadata, where="metadata")
        with self._store.unit_of_work(write=True) as uow:
            draft = uow.drafts.get(principal.org_id, draft_id)
            if draft is None:
                raise NotFound(f"Draft {draft_id} does not exist")
            new_metadata = draft.metadata if metadata is None else _without_version(metadata)
            changed = replace(
                draft,
                name=_name_of(new_metadata),
                metadata=new_metadata,
                spec=document.compose_spec(spec, parameters),
                updated_at=self._clock.now(),
            )
            return uow.drafts.update(changed, expected_version=expected_version)

    def delete(self, principal: Principal, draft_id: int) -> None:
        require(principal, Role.EDITOR)
        with self._store.unit_of_work(write=True) as uow:
            if not uow.drafts.delete(principal.org_id, draft_id):
                raise NotFound(f"Draft {draft_id} does not exist")

    def validate(self, principal: Principal, draft_id: int) -> validation.Report:
        """Structural rules, then the deep checks: charts, rendering, object schemas."""
        draft = self.get(principal, draft_id)
        report, _ = self._checker.check(principal.org_id, document_of(draft))
        return report

    def check(
        self, principal: Principal, draft_id: int, parse: Callable[[], Any]
    ) -> validation.Report:
        """The report `validate` would give if the draft held the document `parse()` returns;
        nothing is saved. A document that does not parse (`parse` raises InvalidInput) is
        reported as those issues. Editors only: it is an authoring tool."""
        require(principal, Role.EDITOR)
        self.get(principal, draft_id)
        try:
            doc = parse()
        except InvalidInput as error:
            return validation.Report(errors=list(error.issues), warnings=[])
        report, _ = self._checker.check(principal.org_id, doc)
        return report

    def publish(
        self, principal: Principal, draft_id: int, overrides: dict[str, Any]
    ) -> tuple[Profile, ProfileVersion]:
        """Publish the draft as the next version of its profile and delete the draft."""
        require(principal, Role.EDITOR)
        with self._store.unit_of_work() as uow:
            draft = uow.drafts.get(principal.org_id, draft_id)
            if draft is None:
                raise publishing.already_published(uow, principal.org_id, draft_id)
        doc = document_of(draft)
        report, lock = self._checker.check(principal.org_id, doc)
        publishing.raise_if_invalid(report)
        return publishing.publish(
            self._store,
            principal,
            doc=doc,
            now=self._clock.now(),
            profile_id=draft.profile_id,
            overrides=overrides,
            draft=(draft.id, draft.version),
            lock=lock,
        )


def document_of(draft: Draft) -> dict[str, Any]:
    return document.assemble(draft.metadata, draft.spec)


def _name_of(metadata: dict[str, Any]) -> str:
    name = metadata.get("name")
    return name if isinstance(name, str) else ""


def _spec_of(source: Any) -> dict[str, Any]:
    spec = source.get("spec") if isinstance(source, dict) else None
    if not isinstance(spec, dict):
        where = "spec" if isinstance(source, dict) else ""
        raise InvalidInput(
            "The document is not a profile",
            issues=[
                Issue(where, "wrong_type", "A profile document is a mapping with a 'spec' mapping")
            ],
        )
    return spec


def _split(source: Any) -> dict[str, Any]:
    metadata = source.get("metadata")
    return _without_version(metadata) if isinstance(metadata, dict) else {}


def _without_version(metadata: dict[str, Any]) -> dict[str, Any]:
    """Drafts have no version number yet: an exported one is dropped."""
    return {k: v for k, v in metadata.items() if k not in _VERSION_KEYS}


def _seed(
    uow: UnitOfWork, principal: Principal, profile_id: int, from_version: int | None
) -> tuple[dict[str, Any], dict[str, Any], int | None]:
    """Metadata, spec and base version of a draft started from a version. Another org's
    public profile can be copied (a read) but not published to: its copy has no base."""
    profile = uow.profiles.get(principal.org_id, profile_id, include_public=True)
    if profile is None:
        raise NotFound(f"Profile {profile_id} does not exist")
    number = from_version or profile.latest_version
    version = uow.versions.get(profile.id, number)
    if version is None:
        raise NotFound(f"Profile '{profile.name}' has no version {number}")
    exported = document.export_document(profile, version)
    metadata = {
        k: v
        for k, v in exported["metadata"].items()
        if k not in (*_VERSION_KEYS, "channel", "changelog")
    }
    own = profile.org_id == principal.org_id
    return metadata, dict(version.spec), number if own else None
