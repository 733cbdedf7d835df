"""HTTP shapes of registries, packs, renders and effective values."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lamina.api.inputs import Strict
from lamina.domain.models import PackSummary, PackVersion, Registry


class RegistryCreate(Strict):
    name: str
    kind: Literal["helm", "oci", "local"]
    url: str
    username: str | None = None
    password: str | None = Field(default=None, description="Stored encrypted; never returned")
    charts: list[str] = Field(default_factory=list, description="OCI only: the charts to index")


class RegistryOut(BaseModel):
    id: int
    name: str
    kind: str
    url: str
    username: str | None
    has_password: bool
    charts: list[str]
    synced_at: datetime | None
    sync_error: str | None
    created_at: datetime

    @classmethod
    def of(cls, r: Registry) -> RegistryOut:
        return cls(
            id=r.id,
            name=r.name,
            kind=r.kind.value,
            url=r.url,
            username=r.username,
            has_password=r.password_sealed is not None,
            charts=list(r.charts),
            synced_at=r.synced_at,
            sync_error=r.sync_error,
            created_at=r.created_at,
        )


class SyncOut(BaseModel):
    registry: RegistryOut
    packs_count: int


class PackOut(BaseModel):
    name: str
    registry: str
    latest_version: str
    description: str
    app_version: str

    @classmethod
    def of(cls, s: PackSummary) -> PackOut:
        return cls(
            name=s.pack.name,
            registry=s.registry,
            latest_version=s.pack.version,
            description=s.pack.description,
            app_version=s.pack.app_version,
        )


class PackVersionOut(BaseModel):
    name: str
    version: str
    app_version: str
    description: str
    digest: str
    kube_version: str
    deprecated: bool
    created: str

    @classmethod
    def of(cls, p: PackVersion) -> PackVersionOut:
        return cls(
            name=p.name,
            version=p.version,
            app_version=p.app_version,
            description=p.description,
            digest=p.digest,
            kube_version=p.kube_version,
            deprecated=p.deprecated,
            created=p.created,
        )


class PackValuesOut(BaseModel):
    name: str
    version: str
    values: dict[str, Any]
    schema_: dict[str, Any] | None = Field(alias="schema", serialization_alias="schema")

    model_config = ConfigDict(populate_by_name=True)


class ParameterValue(Strict):
    name: str
    value: Any


class ClusterIn(Strict):
    name: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    kubernetes_version: str | None = None


class RenderRequest(Strict):
    parameters: list[ParameterValue] = Field(default_factory=list)
    cluster: ClusterIn | None = None
    values: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-cluster value overrides by chart layer name"
    )


class RenderedLayerOut(BaseModel):
    name: str
    objects_count: int
    files: dict[str, str]


class IssueOut(BaseModel):
    path: str
    code: str
    message: str


class RenderOut(BaseModel):
    layers: list[RenderedLayerOut]
    warnings: list[IssueOut]
    kubernetes_version: str | None


class OriginOut(BaseModel):
    path: str
    level: str
    value: Any


class EffectiveValuesOut(BaseModel):
    layer: str
    chart: dict[str, Any]
    values: dict[str, Any]
    origins: list[OriginOut]
