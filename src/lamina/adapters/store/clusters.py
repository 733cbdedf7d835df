"""SQL repositories of clusters, their instantiations, stack drafts and revisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from lamina.adapters.store import contents
from lamina.adapters.store import tables as t
from lamina.adapters.store.rows import aware
from lamina.domain.models import (
    Cluster,
    CommitIntent,
    GitMode,
    GitOps,
    Instantiation,
    Page,
    StackDraft,
    StackRevision,
)


def _cluster(row: RowMapping) -> Cluster:
    return Cluster(
        id=row["id"],
        org_id=row["org_id"],
        name=row["name"],
        labels=dict(row["labels"]),
        kubernetes_version=row["kubernetes_version"],
        gitops=GitOps(
            url=row["git_url"],
            branch=row["git_branch"],
            path=row["git_path"],
            mode=GitMode(row["git_mode"]),
            username=row["git_username"],
            token_sealed=row["git_token_sealed"],
            age_recipient=row["git_age_recipient"],
        ),
        revision=row["revision"],
        commit_sha=row["commit_sha"],
        created_at=aware(row["created_at"]),
        updated_at=aware(row["updated_at"]),
    )


def _cluster_values(cluster: Cluster) -> dict[str, Any]:
    return {
        "org_id": cluster.org_id,
        "name": cluster.name,
        "labels": cluster.labels,
        "kubernetes_version": cluster.kubernetes_version,
        "git_url": cluster.gitops.url,
        "git_branch": cluster.gitops.branch,
        "git_path": cluster.gitops.path,
        "git_mode": cluster.gitops.mode.value,
        "git_username": cluster.gitops.username,
        "git_token_sealed": cluster.gitops.token_sealed,
        "git_age_recipient": cluster.gitops.age_recipient,
        "updated_at": cluster.updated_at,
    }


# Statements run for every cluster of a rollout, built once (see repositories.py).
_C = t.clusters.c
_I = t.instantiations.c
_R = t.stack_revisions.c
_CLUSTER = sa.select(t.clusters).where(
    _C.org_id == sa.bindparam("org"), _C.id == sa.bindparam("id")
)
_INSTANTIATIONS = (
    sa.select(t.instantiations).where(_I.cluster_id == sa.bindparam("cluster")).order_by(_I.id)
)
_INSTANTIATIONS_BY_ID = sa.select(t.instantiations).where(
    _I.org_id == sa.bindparam("org"), _I.id.in_(sa.bindparam("ids", expanding=True))
)
_LAST_REVISION = (
    sa.select(t.stack_revisions)
    .where(_R.cluster_id == sa.bindparam("cluster"))
    .order_by(_R.revision.desc())
    .limit(1)
)
_NEW_DRAFT = sa.insert(t.stack_drafts).returning(t.stack_drafts.c.id)
_DEPRECATIONS = sa.select(t.version_deprecations).where(
    t.version_deprecations.c.profile_id == sa.bindparam("profile")
)


class SqlClusters:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def all(self, org_id: int) -> list[Cluster]:
        c = t.clusters.c
        rows = self._conn.execute(
            sa.select(t.clusters).where(c.org_id == org_id).order_by(c.name)
        ).mappings()
        return [_cluster(row) for row in rows]

    def get(self, org_id: int, cluster_id: int, *, for_update: bool = False) -> Cluster | None:
        query = _CLUSTER.with_for_update() if for_update else _CLUSTER
        row = self._conn.execute(query, {"org": org_id, "id": cluster_id}).mappings().first()
        return _cluster(row) if row else None

    def org_of(self, cluster_id: int) -> int | None:
        c = t.clusters.c
        found = self._conn.execute(sa.select(c.org_id).where(c.id == cluster_id)).scalar()
        return int(found) if found is not None else None

    def get_by_name(self, org_id: int, name: str) -> Cluster | None:
        c = t.clusters.c
        query = sa.select(t.clusters).where(c.org_id == org_id, c.name == name)
        row = self._conn.execute(query).mappings().first()
        return _cluster(row) if row else None

    def create(self, cluster: Cluster) -> Cluster:
        values = _cluster_values(cluster) | {"revision": 0, "created_at": cluster.created_at}
        row = (
            self._conn.execute(sa.insert(t.clusters).values(**values).returning(t.clusters))
            .mappings()
            .one()
        )
        return _cluster(row)

    def update(self, cluster: Cluster) -> Cluster:
        row = (
            self._conn.execute(
                sa.update(t.clusters)
                .where(t.clusters.c.id == cluster.id)
                .values(**_cluster_values(cluster))
                .returning(t.clusters)
            )
            .mappings()
            .one()
        )
        return _cluster(row)

    def delete(self, org_id: int, cluster_id: int) -> bool:
        c = t.clusters.c
        result = self._conn.execute(
            sa.delete(t.clusters).where(c.org_id == org_id, c.id == cluster_id)
        )
        return bool(result.rowcount)

    def record_commit(
        self, cluster_id: int, *, expected_revision: int, sha: str, now: datetime
    ) -> bool:
        c = t.clusters.c
        result = self._conn.execute(
            sa.update(t.clusters)
            .where(c.id == cluster_id, c.revision == expected_revision)
            .values(revision=expected_revision + 1, commit_sha=sha, updated_at=now)
        )
        return bool(result.rowcount)


def _instantiation(row: RowMapping) -> Instantiation:
    return Instantiation(
        id=row["id"],
        org_id=row["org_id"],
        cluster_id=row["cluster_id"],
        profile_id=row["profile_id"],
        version=row["version"],
        bindings=dict(row["bindings"]),
        secrets_sealed=dict(row["secrets_sealed"]),
        values=dict(row["overrides"]),
        committed_at=aware(row["committed_at"]),
    )


def _draft(row: RowMapping, store: contents.Contents | None) -> StackDraft:
    """A stack draft; without `store` its addons, files and objects are left out (listings)."""
    return StackDraft(
        id=row["id"],
        org_id=row["org_id"],
        cluster_id=row["cluster_id"],
        base_revision=row["base_revision"],
        action=row["action"],
        addons=list(row["addons"]) if store else [],
        files=contents.read_files(store, row["files"]) if store else {},
        objects=contents.read_objects(store, row["objects"]) if store else {},
        warnings=list(row["warnings"]),
        created_at=aware(row["created_at"]),
        review_of=row["review_of"],
    )


def _revision(
    row: RowMapping,
    store: contents.Contents | None,
    known: dict[str, list[str]] | None = None,
) -> StackRevision:
    """A revision; without `store` its addons and objects are left out (listings); texts
    equal to those of `known` objects are taken from them (contents.read_objects)."""
    return StackRevision(
        cluster_id=row["cluster_id"],
        revision=row["revision"],
        commit_sha=row["commit_sha"],
        message=row["message"],
        addons=list(row["addons"]) if store else [],
        objects=contents.read_objects(store, row["objects"], known) if store else {},
        committed_at=aware(row["committed_at"]),
        draft_id=row["draft_id"],
        committed_by=row["committed_by"],
    )


def _intent(row: RowMapping) -> CommitIntent:
    return CommitIntent(
        cluster_id=row["cluster_id"],
        draft_id=row["draft_id"],
        marker=row["marker"],
        base_revision=row["base_revision"],
        parent_sha=row["parent_sha"],
        message=row["message"],
        created_at=aware(row["created_at"]),
    )


class SqlStacks:
    def __init__(self, conn: Connection, stored: contents.Contents | None = None) -> None:
        self._conn = conn
        self._contents = stored if stored is not None else contents.Contents(conn)

    def instantiations(self, cluster_id: int) -> list[Instantiation]:
        rows = self._conn.execute(_INSTANTIATIONS, {"cluster": cluster_id}).mappings()
        return [_instantiation(row) for row in rows]

    def instantiation(self, org_id: int, instantiation_id: int) -> Instantiation | None:
        return self.instantiations_by_id(org_id, [instantiation_id]).get(instantiation_id)

    def instantiations_by_id(self, org_id: int, ids: list[int]) -> dict[int, Instantiation]:
        wanted = {"org": org_id, "ids": sorted(set(ids))}
        rows = self._conn.execute(_INSTANTIATIONS_BY_ID, wanted).mappings()
        return {row["id"]: _instantiation(row) for row in rows}

    def of_profile(self, profile_id: int) -> list[tuple[Instantiation, str]]:
        i, c = t.instantiations.c, t.clusters.c
        rows = self._conn.execute(
            sa.select(t.instantiations, c.name.label("cluster_name"))
            .join(t.clusters, c.id == i.cluster_id)
            .where(i.profile_id == profile_id)
            .order_by(c.name, i.id)
        ).mappings()
        return [(_instantiation(row), row["cluster_name"]) for row in rows]

    def outdated_counts(self, profile_ids: list[int]) -> dict[int, int]:
        counts: dict[int, int] = {}
        for profile_id, _, _, outdated in self.version_counts(profile_ids):
            counts[profile_id] = counts.get(profile_id, 0) + outdated
        return {pid: n for pid, n in counts.items() if n}

    def version_counts(self, profile_ids: list[int]) -> list[tuple[int, int, int, int]]:
        if not profile_ids:
            return []
        i, p, d = t.instantiations.c, t.profiles.c, t.version_deprecations.c
        deprecated = (
            sa.select(d.version)
            .where(d.profile_id == i.profile_id, d.version == i.version)
            .exists()
        )
        outdated = sa.or_(i.version < sa.func.coalesce(p.current_version, 0), deprecated)
        query = (
            sa.select(
                i.profile_id,
                i.version,
                sa.func.count(),
                sa.func.sum(sa.case((outdated, 1), else_=0)),
            )
            .select_from(t.instantiations.join(t.profiles, p.id == i.profile_id))
            .where(i.profile_id.in_(profile_ids))
            .group_by(i.profile_id, i.version)
            .order_by(i.profile_id, i.version.desc())
        )
        return [(int(a), int(b), int(c), int(e or 0)) for a, b, c, e in self._conn.execute(query)]

    def replace_instantiations(
        self, cluster_id: int, org_id: int, addons: list[dict[str, Any]], now: datetime
    ) -> list[int]:
        i = t.instantiations.c
        kept = [a["instantiation_id"] for a in addons if a.get("instantiation_id")]
        self._conn.execute(
            sa.delete(t.instantiations).where(i.cluster_id == cluster_id, i.id.not_in(kept))
        )
        ids: list[int] = []
        for addon in addons:
            values = {
                "profile_id": addon["profile_id"],
                "version": addon["version"],
                "bindings": addon["bindings"],
                "secrets_sealed": addon["secrets_sealed"],
                "overrides": addon["values"],
                "committed_at": now,
            }
            if addon.get("instantiation_id"):
                self._conn.execute(
                    sa.update(t.instantiations)
                    .where(i.id == addon["instantiation_id"])
                    .values(**values)
                )
                ids.append(addon["instantiation_id"])
                continue
            new_id = self._conn.execute(
                sa.insert(t.instantiations)
                .values(org_id=org_id, cluster_id=cluster_id, **values)
                .returning(i.id)
            ).scalar_one()
            ids.append(new_id)
        return ids

    def add_revision(self, revision: StackRevision) -> None:
        self._conn.execute(
            sa.insert(t.stack_revisions).values(
                cluster_id=revision.cluster_id,
                revision=revision.revision,
                commit_sha=revision.commit_sha,
                message=revision.message,
                addons=revision.addons,
                objects=contents.stored_objects(self._contents, revision.objects),
                committed_at=revision.committed_at,
                draft_id=revision.draft_id,
                committed_by=revision.committed_by,
            )
        )

    def committed_draft(self, cluster_id: int, draft_id: int) -> tuple[int, str] | None:
        r = t.stack_revisions.c
        row = self._conn.execute(
            sa.select(r.revision, r.commit_sha).where(
                r.cluster_id == cluster_id, r.draft_id == draft_id
            )
        ).first()
        return (row[0], row[1]) if row else None

    def last_revision(
        self,
        cluster_id: int,
        *,
        texts: bool = True,
        known: dict[str, list[str]] | None = None,
    ) -> StackRevision | None:
        row = self._conn.execute(_LAST_REVISION, {"cluster": cluster_id}).mappings().first()
        if row is None:
            return None
        if texts:
            return _revision(row, self._contents, known)
        # Objects by reference: their keys and layers, without reading every stored text.
        bare = _revision(row, None)
        return replace(bare, addons=list(row["addons"]), objects=dict(row["objects"]))

    def create_draft(self, draft: StackDraft) -> StackDraft:
        """Store the draft, its objects and files by reference (see contents.py)."""
        row = {
            "org_id": draft.org_id,
            "cluster_id": draft.cluster_id,
            "base_revision": draft.base_revision,
            "action": draft.action,
            "addons": draft.addons,
            "files": contents.stored_files(self._contents, draft.files),
            "objects": contents.stored_objects(self._contents, draft.objects),
            "warnings": draft.warnings,
            "created_at": draft.created_at,
            "review_of": draft.review_of,
        }
        draft_id = self._conn.execute(_NEW_DRAFT, row).scalar_one()
        return replace(draft, id=draft_id)

    def draft(self, org_id: int, cluster_id: int, draft_id: int) -> StackDraft | None:
        d = t.stack_drafts.c
        row = (
            self._conn.execute(
                sa.select(t.stack_drafts).where(
                    d.org_id == org_id, d.cluster_id == cluster_id, d.id == draft_id
                )
            )
            .mappings()
            .first()
        )
        return _draft(row, self._contents) if row else None

    def delete_draft(self, draft_id: int) -> bool:
        d = t.stack_drafts.c
        return bool(self._conn.execute(sa.delete(t.stack_drafts).where(d.id == draft_id)).rowcount)

    def reviews(self, cluster_ids: list[int], profile_id: int) -> dict[int, list[int]]:
        d = t.stack_drafts.c
        found: dict[int, list[int]] = {}
        rows = self._conn.execute(
            sa.select(d.cluster_id, d.id)
            .where(d.cluster_id.in_(cluster_ids), d.review_of == profile_id)
            .order_by(d.id)
        )
        for cluster_id, draft_id in rows:
            found.setdefault(cluster_id, []).append(draft_id)
        return found

    def intent(self, cluster_id: int) -> CommitIntent | None:
        row = (
            self._conn.execute(
                sa.select(t.commit_intents).where(t.commit_intents.c.cluster_id == cluster_id)
            )
            .mappings()
            .first()
        )
        return _intent(row) if row else None

    def pending_intents(self) -> list[CommitIntent]:
        rows = self._conn.execute(sa.select(t.commit_intents)).mappings()
        return [_intent(row) for row in rows]

    def add_intent(self, intent: CommitIntent) -> None:
        self._conn.execute(
            sa.insert(t.commit_intents).values(
                cluster_id=intent.cluster_id,
                draft_id=intent.draft_id,
                marker=intent.marker,
                base_revision=intent.base_revision,
                parent_sha=intent.parent_sha,
                message=intent.message,
                created_at=intent.created_at,
            )
        )

    def drop_intent(self, cluster_id: int, marker: str) -> bool:
        c = t.commit_intents.c
        result = self._conn.execute(
            sa.delete(t.commit_intents).where(c.cluster_id == cluster_id, c.marker == marker)
        )
        return bool(result.rowcount)

    def deprecations(self, profile_id: int) -> dict[int, dict[str, str]]:
        rows = self._conn.execute(_DEPRECATIONS, {"profile": profile_id}).mappings()
        return {row["version"]: {"reason": row["reason"], "note": row["note"]} for row in rows}

    def deprecate(
        self, profile_id: int, version: int, *, reason: str, note: str, now: datetime
    ) -> None:
        d = t.version_deprecations.c
        self._conn.execute(
            sa.delete(t.version_deprecations).where(
                d.profile_id == profile_id, d.version == version
            )
        )
        self._conn.execute(
            sa.insert(t.version_deprecations).values(
                profile_id=profile_id, version=version, reason=reason, note=note, created_at=now
            )
        )

    def undeprecate(self, profile_id: int, version: int) -> bool:
        d = t.version_deprecations.c
        result = self._conn.execute(
            sa.delete(t.version_deprecations).where(
                d.profile_id == profile_id, d.version == version
            )
        )
        return bool(result.rowcount)

    def running(self, cluster_id: int) -> list[tuple[Instantiation, str, bool]]:
        i, p, d = t.instantiations.c, t.profiles.c, t.version_deprecations.c
        deprecated = (
            sa.select(d.version)
            .where(d.profile_id == i.profile_id, d.version == i.version)
            .exists()
        )
        outdated = sa.or_(i.version < sa.func.coalesce(p.current_version, 0), deprecated)
        rows = self._conn.execute(
            sa.select(
                t.instantiations,
                p.name.label("profile_name"),
                sa.case((outdated, True), else_=False).label("outdated"),
            )
            .join(t.profiles, p.id == i.profile_id)
            .where(i.cluster_id == cluster_id)
            .order_by(i.id)
        ).mappings()
        return [(_instantiation(row), row["profile_name"], bool(row["outdated"])) for row in rows]

    def draft_page(
        self, org_id: int, cluster_id: int, *, page: int, page_size: int
    ) -> Page[StackDraft]:
        d = t.stack_drafts.c
        where = (d.org_id == org_id, d.cluster_id == cluster_id)
        total = self._conn.execute(
            sa.select(sa.func.count()).select_from(t.stack_drafts).where(*where)
        ).scalar_one()
        rows = self._conn.execute(
            sa.select(
                d.id,
                d.org_id,
                d.cluster_id,
                d.base_revision,
                d.action,
                d.warnings,
                d.created_at,
                d.review_of,
            )
            .where(*where)
            .order_by(d.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).mappings()
        items = [_draft(row, None) for row in rows]
        return Page(items=items, total_count=total, page=page, page_size=page_size)

    def revision_page(self, cluster_id: int, *, page: int, page_size: int) -> Page[StackRevision]:
        r = t.stack_revisions.c
        total = self._conn.execute(
            sa.select(sa.func.count())
            .select_from(t.stack_revisions)
            .where(r.cluster_id == cluster_id)
        ).scalar_one()
        rows = self._conn.execute(
            sa.select(
                r.cluster_id,
                r.revision,
                r.commit_sha,
                r.message,
                r.committed_at,
                r.draft_id,
                r.committed_by,
            )
            .where(r.cluster_id == cluster_id)
            .order_by(r.revision.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).mappings()
        items = [_revision(row, None) for row in rows]
        return Page(items=items, total_count=total, page=page, page_size=page_size)

    def revision(self, cluster_id: int, revision: int) -> StackRevision | None:
        r = t.stack_revisions.c
        row = (
            self._conn.execute(
                sa.select(t.stack_revisions).where(
                    r.cluster_id == cluster_id, r.revision == revision
                )
            )
            .mappings()
            .first()
        )
        return _revision(row, self._contents) if row else None
