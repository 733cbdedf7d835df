"""The org's API tokens, for admins: list, issue (shown once) and revoke."""

from __future__ import annotations

from fastapi import APIRouter, Response

from lamina.api import schemas
from lamina.api import schemas_admin as s
from lamina.api.deps import PrincipalDep, ServicesDep
from lamina.api.inputs import Id, Page, PageSize
from lamina.domain.models import Role
from lamina.services import auth

router = APIRouter(prefix="/api/v1/org/tokens", tags=["admin"])


@router.get("", response_model=schemas.ListResponse[s.TokenOut])
def list_tokens(
    who: PrincipalDep,
    wired: ServicesDep,
    page: Page = 1,
    page_size: PageSize = 50,
) -> schemas.ListResponse[s.TokenOut]:
    """The org's tokens, revoked and expired ones included; never the tokens themselves."""
    found = auth.list_tokens(wired.store, who, page=page, page_size=page_size)
    return schemas.page_of(found, s.TokenOut.of)


@router.post("", status_code=201, response_model=s.TokenCreated)
def create_token(body: s.TokenCreate, who: PrincipalDep, wired: ServicesDep) -> s.TokenCreated:
    """Issue a token of the org; the answer is the only time the token is shown."""
    record, token = auth.issue_token(
        wired.store,
        who,
        role=Role(body.role),
        label=body.label,
        expires_in_days=body.expires_in_days,
        expires_at=body.expires_at,
    )
    return s.TokenCreated(**s.TokenOut.of(record).model_dump(), token=token)


@router.delete("/{token_id}", status_code=204)
def revoke_token(token_id: Id, who: PrincipalDep, wired: ServicesDep) -> Response:
    """Revoke a token: its next request answers 401."""
    auth.revoke_token(wired.store, who, token_id)
    return Response(status_code=204)
