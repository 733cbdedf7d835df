"""What the review of one stack draft reads besides its diff: whether the draft is open or
was committed, the full YAML of each object before and after it (for line diffs), and the
names of the profiles it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lamina.domain.models import Principal, StackDraft
from lamina.ports import UnitOfWork

if TYPE_CHECKING:
    from lamina.services.delivery.stacks import StackDiff

Key = tuple[str, str, str]  # (kind, namespace, name)


@dataclass(frozen=True)
class DraftReview:
    """`draft` is None once the draft is no longer open; then `committed` is (revision,
    commit SHA) when it was committed, None when it was discarded (or never existed).
    `before`/`after` map an object to its YAML text in the committed stack / in the draft;
    `diff` is what the draft changes (as `StackService.diff` gives it)."""

    draft: StackDraft | None
    committed: tuple[int, str] | None
    before: dict[Key, str] = field(default_factory=dict)
    after: dict[Key, str] = field(default_factory=dict)
    profile_names: dict[int, str] = field(default_factory=dict)
    diff: StackDiff | None = None


def profile_names(
    uow: UnitOfWork, principal: Principal, addons: list[dict[str, Any]]
) -> dict[int, str]:
    """The names of the profiles the addons run (another org's public ones included)."""
    names: dict[int, str] = {}
    for addon in addons:
        pid = int(addon["profile_id"])
        if pid not in names:
            found = uow.profiles.get(principal.org_id, pid, include_public=True)
            names[pid] = found.name if found else f"profile {pid}"
    return names


def texts(objects: dict[str, list[str]]) -> dict[Key, str]:
    """A stack's stored objects ({"kind/ns/name": [layer, text]}) by identity: their text."""
    return {key(k): v[1] for k, v in objects.items()}


def key(text: str) -> Key:
    kind, namespace, name = text.split("/", 2)
    return kind, namespace, name
