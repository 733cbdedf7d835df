"""Turning a validated document into the next immutable version of a profile."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lamina.domain import document, layering, validation
from lamina.domain.errors import (
    Conflict,
    DuplicateKey,
    InvalidInput,
    LaminaError,
    NotFound,
    StaleWrite,
)
from lamina.domain.models import Principal, Profile, ProfileVersion
from lamina.ports import Store, UnitOfWork
from lamina.services import access

# Bound on nested profile versions followed while validating, against pathological graphs.
MAX_NESTED_VERSIONS = 500
PUBLISH_ATTEMPTS = 3


def nested_graph(
    uow: UnitOfWork, org_id: int, spec: Any
) -> dict[tuple[str, int], list[tuple[str, int]] | None]:
    """Every nested profile version reachable from `spec`, with its own nested references."""
    graph: dict[tuple[str, int], list[tuple[str, int]] | None] = {}
    queue = deque(layering.nested_refs(spec))
    while queue and len(graph) < MAX_NESTED_VERSIONS:
        ref = queue.popleft()
        if ref in graph:
            continue
        found = uow.versions.find(org_id, ref[0], ref[1])
        graph[ref] = layering.nested_refs(found.spec) if found else None
        queue.extend(graph[ref] or [])
    return graph


def validate(uow: UnitOfWork, org_id: int, doc: Any) -> validation.Report:
    spec = doc.get("spec") if isinstance(doc, dict) else None
    return validation.validate_document(doc, nested=nested_graph(uow, org_id, spec))


def raise_if_invalid(report: validation.Report) -> None:
    if not report.valid:
        count = len(report.errors)
        raise InvalidInput(
            f"The profile has {count} error{'s' if count != 1 else ''}", issues=report.errors
        )


def publish(
    store: Store,
    principal: Principal,
    *,
    doc: dict[str, Any],
    now: datetime,
    profile_id: int | None = None,
    overrides: dict[str, Any] | None = None,
    draft: tuple[int, int] | None = None,
    lock: dict[str, Any] | None = None,
    then: Callable[[UnitOfWork, Profile], None] | None = None,
) -> tuple[Profile, ProfileVersion]:
    """Validate `doc` and store it, with its `lock`, as the next version (creating the
    profile if needed). `then` writes what belongs to the new version in the same
    transaction (e.g. where an installed profile came from), so both land or neither.

    `overrides` may set channel, changelog and visibility. `draft` is (id, edit counter) of
    the draft `doc` came from: it is consumed first, in the same transaction, so one draft
    publishes exactly once (a concurrent publish, or an edit since `doc` was read, gets
    Conflict). Concurrent publishers of other documents get distinct numbers; a race to
    create the same new profile is retried.
    """
    for attempt in range(PUBLISH_ATTEMPTS):
        try:
            with store.unit_of_work(write=True) as uow:
                if draft is not None:
                    _consume_draft(uow, principal.org_id, *draft)
                raise_if_invalid(validate(uow, principal.org_id, doc))
                stored = _store_version(
                    uow,
                    principal,
                    doc,
                    now,
                    profile_id,
                    overrides or {},
                    lock,
                    draft[0] if draft else None,
                )
                if then is not None:
                    then(uow, stored[0])
                return stored
        except DuplicateKey:
            if attempt == PUBLISH_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _consume_draft(uow: UnitOfWork, org_id: int, draft_id: int, edit: int) -> None:
    # Deleting first takes the row (PostgreSQL) or the database (SQLite) lock, so of several
    # concurrent publishes of one draft exactly one finds it still there.
    if uow.drafts.delete(org_id, draft_id, expected_version=edit):
        return
    if uow.drafts.get(org_id, draft_id) is None:
        raise already_published(uow, org_id, draft_id)
    raise StaleWrite(f"Draft {draft_id} changed while it was being published; publish again")


def already_published(uow: UnitOfWork, org_id: int, draft_id: int) -> LaminaError:
    """Conflict naming the version a draft became, or NotFound when it never existed."""
    published = uow.versions.published_draft(org_id, draft_id)
    if published is None:
        return NotFound(f"Draft {draft_id} does not exist")
    return Conflict(
        f"Draft {draft_id} was already published as version {published[1]} of '{published[0]}'"
    )


def _store_version(
    uow: UnitOfWork,
    principal: Principal,
    doc: dict[str, Any],
    now: datetime,
    profile_id: int | None,
    overrides: dict[str, Any],
    lock: dict[str, Any] | None,
    draft_id: int | None,
) -> tuple[Profile, ProfileVersion]:
    metadata, spec = doc["metadata"], doc["spec"]
    fields = document.profile_fields(metadata)
    if overrides.get("visibility"):
        fields["visibility"] = overrides["visibility"]
    profile = _target_profile(uow, principal, fields, spec, now, profile_id)
    channel = overrides.get("channel") or metadata.get("channel") or "stable"
    number = profile.latest_version + 1
    version = ProfileVersion(
        profile_id=profile.id,
        version=number,
        channel=channel,
        changelog=overrides.get("changelog") or metadata.get("changelog") or "",
        spec=spec,
        metadata=metadata,
        created_at=now,
        lock=lock,
        draft_id=draft_id,
    )
    uow.versions.add(version)
    fields.update(type=spec["type"], latest_version=number)
    if channel == "stable":
        fields["current_version"] = number
    profile = uow.profiles.update(profile.id, fields=fields, now=now)
    return profile, version


def _target_profile(
    uow: UnitOfWork,
    principal: Principal,
    fields: dict[str, Any],
    spec: dict[str, Any],
    now: datetime,
    profile_id: int | None,
) -> Profile:
    if profile_id is not None:
        access.own_profile(uow, principal, profile_id)
        return uow.profiles.lock(profile_id)
    existing = uow.profiles.get_by_name(principal.org_id, fields["name"], for_update=True)
    if existing is not None:
        return existing
    return uow.profiles.create(
        org_id=principal.org_id,
        fields={**fields, "type": spec["type"], "latest_version": 0, "current_version": None},
        now=now,
    )
