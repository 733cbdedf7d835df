"""The org's audit log, for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from lamina.api import schemas
from lamina.api import schemas_admin as s
from lamina.api.deps import PrincipalDep, ServicesDep
from lamina.api.inputs import Page, PageSize
from lamina.services import audit

router = APIRouter(prefix="/api/v1/org/audit", tags=["admin"])


@router.get("", response_model=schemas.ListResponse[s.AuditEventOut])
def list_events(
    who: PrincipalDep,
    wired: ServicesDep,
    page: Page = 1,
    page_size: PageSize = 50,
    action: Annotated[
        str | None, Query(max_length=200, description="keep actions containing this text")
    ] = None,
) -> schemas.ListResponse[s.AuditEventOut]:
    """Every write through the API, newest first: who, what, on what, when, and the status."""
    found = audit.events(wired.store, who, page=page, page_size=page_size, action=action)
    return schemas.page_of(found, s.AuditEventOut.of)
