"""HTTP shapes of what a cluster runs and ran: its stack, stack drafts and revisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from lamina.domain.models import StackRevision
from lamina.services.delivery.history import DraftSummary, RunningAddon, StackView


class ProfileRef(BaseModel):
    id: int
    name: str


class RunningAddonOut(BaseModel):
    instantiation_id: int
    profile: ProfileRef
    version: int
    outdated: bool = Field(
        description="A newer stable version exists, or this version is deprecated"
    )
    bindings: dict[str, Any] = Field(description="Parameter values supplied, secrets left out")
    secrets: list[str] = Field(description="Names of the secret parameters bound; never values")
    committed_at: datetime

    @classmethod
    def of(cls, a: RunningAddon) -> RunningAddonOut:
        return cls(
            instantiation_id=a.instantiation_id,
            profile=ProfileRef(id=a.profile_id, name=a.profile_name),
            version=a.version,
            outdated=a.outdated,
            bindings=a.bindings,
            secrets=a.secrets,
            committed_at=a.committed_at,
        )


class StackOut(BaseModel):
    cluster_id: int
    revision: int
    commit_sha: str | None
    instantiations: list[RunningAddonOut]
    objects: dict[str, int] = Field(description="Objects per layer in the last revision")

    @classmethod
    def of(cls, v: StackView) -> StackOut:
        return cls(
            cluster_id=v.cluster_id,
            revision=v.revision,
            commit_sha=v.commit_sha,
            instantiations=[RunningAddonOut.of(a) for a in v.addons],
            objects=v.objects,
        )


class StackDraftSummaryOut(BaseModel):
    id: int
    action: str
    base_revision: int
    created_at: datetime
    warnings_count: int
    stale: bool = Field(description="Made against another revision: committing it is refused")

    @classmethod
    def of(cls, d: DraftSummary) -> StackDraftSummaryOut:
        return cls(
            id=d.id,
            action=d.action,
            base_revision=d.base_revision,
            created_at=d.created_at,
            warnings_count=d.warnings_count,
            stale=d.stale,
        )


class RevisionOut(BaseModel):
    revision: int
    commit_sha: str
    message: str
    committed_at: datetime
    committed_by: str | None = Field(description="Label of the token that committed it")

    @classmethod
    def of(cls, r: StackRevision) -> RevisionOut:
        return cls(
            revision=r.revision,
            commit_sha=r.commit_sha,
            message=r.message,
            committed_at=r.committed_at,
            committed_by=r.committed_by,
        )
