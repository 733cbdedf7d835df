"""Request dependencies: the wired services and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lamina.config import Services
from lamina.domain.errors import Unauthorized
from lamina.domain.models import Principal
from lamina.services import auth

# Where the request's principal is kept for the audit trail, which runs outside the routes.
PRINCIPAL_KEY = "lamina.principal"


def services(request: Request) -> Services:
    wired: Services = request.app.state.services
    return wired


# Declares the scheme in the OpenAPI document; the answer without a token stays ours (401).
bearer = HTTPBearer(auto_error=False, description="An API token (`lamina token create`)")


def principal(
    request: Request,
    wired: Annotated[Services, Depends(services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        raise Unauthorized("Send an API token as 'Authorization: Bearer <token>'")
    found = auth.authenticate(wired.store, token)
    request.scope[PRINCIPAL_KEY] = found
    return found


ServicesDep = Annotated[Services, Depends(services)]
PrincipalDep = Annotated[Principal, Depends(principal)]
