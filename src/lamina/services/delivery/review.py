"""What the review of one stack draft reads besides its diff: whether the draft is open or
was committed, the full YAML of each object before and after it (for line diffs), and the
names of the profiles it runs."""

from __future__ import annotations

from dataclasses import dataclass, field

from lamina.domain.models import Principal, StackDraft
from lamina.ports import Store

Key = tuple[str, str, str]  # (kind, namespace, name)


@dataclass(frozen=True)
class DraftReview:
    """`draft` is None once the draft is no longer open; then `committed` is (revision,
    commit SHA) when it was committed, None when it was discarded (or never existed).
    `before`/`after` map an object to its YAML text in the committed stack / in the draft."""

    draft: StackDraft | None
    committed: tuple[int, str] | None
    before: dict[Key, str] = field(default_factory=dict)
    after: dict[Key, str] = field(default_factory=dict)
    profile_names: dict[int, str] = field(default_factory=dict)


def load(store: Store, principal: Principal, cluster_id: int, draft_id: int) -> DraftReview:
    """The review material of draft `draft_id` of the principal's org's cluster `cluster_id`
    (the caller resolved the cluster within the org). Any member may read it."""
    with store.unit_of_work() as uow:
        draft = uow.stacks.draft(principal.org_id, cluster_id, draft_id)
        if draft is None:
            return DraftReview(None, uow.stacks.committed_draft(cluster_id, draft_id))
        last = uow.stacks.last_revision(cluster_id)
        previous = last.addons if last else []
        names: dict[int, str] = {}
        for addon in [*previous, *draft.addons]:
            pid = int(addon["profile_id"])
            if pid not in names:
                found = uow.profiles.get(principal.org_id, pid, include_public=True)
                names[pid] = found.name if found else f"profile {pid}"
    before = {_key(k): v[1] for k, v in (last.objects if last else {}).items()}
    after = {_key(k): v[1] for k, v in draft.objects.items()}
    return DraftReview(draft, None, before, after, names)


def _key(text: str) -> Key:
    kind, namespace, name = text.split("/", 2)
    return kind, namespace, name
