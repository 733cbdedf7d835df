"""Request dependencies: the wired services and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lamina.config import Services
from lamina.domain.errors import Unauthorized
from lamina.domain.models import Principal
from lamina.services import auth


def services(request: Request) -> Services:
    wired: Services = request.app.state.services
    return wired


def principal(request: Request, wired: Annotated[Services, Depends(services)]) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send an API token as 'Authorization: Bearer <token>'")
    return auth.authenticate(wired.store, token.strip())


ServicesDep = Annotated[Services, Depends(services)]
PrincipalDep = Annotated[Principal, Depends(principal)]
