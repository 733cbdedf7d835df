"""Request dependencies: the wired services and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lamina.config import Services
from lamina.domain.errors import Forbidden, Unauthorized
from lamina.domain.models import Principal
from lamina.services import auth
from lamina.services.sessions import same_token

# Where the request's principal is kept for the audit trail, which runs outside the routes.
PRINCIPAL_KEY = "lamina.principal"
# Where the ids that path segments named are kept, for the audit trail: {"cluster": 3}.
RESOLVED_KEY = "lamina.resolved"
# The web UI's session cookie, and the header that carries its CSRF token on writes.
SESSION_COOKIE = "lamina_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
    """The caller: a bearer token, else the web UI's session cookie. A write made with the
    cookie must carry the session's CSRF token in the X-CSRF-Token header (403 without it),
    so no other site can make the browser write on a signed-in user's behalf."""
    token = credentials.credentials.strip() if credentials else ""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if token:
        found = auth.authenticate(wired.store, token)
    elif cookie:
        session = wired.sessions.resume(cookie)
        if request.method not in SAFE_METHODS and not same_token(
            session.csrf, request.headers.get(CSRF_HEADER)
        ):
            raise Forbidden(
                f"A write made with a browser session must carry its {CSRF_HEADER} header"
            )
        found = session.principal
    else:
        raise Unauthorized("Send an API token as 'Authorization: Bearer <token>'")
    request.scope[PRINCIPAL_KEY] = found
    return found


ServicesDep = Annotated[Services, Depends(services)]
PrincipalDep = Annotated[Principal, Depends(principal)]


# A path segment naming a profile, cluster, registry or draft: its name, or its id when
# the segment is digits only. Control characters never reach a store (PostgreSQL refuses
# NUL in text).
_REF = Path(
    min_length=1,
    max_length=253,
    pattern=r"^[^\x00-\x1f\x7f]+$",
    description="The name, or the numeric id (a segment of digits only is an id).",
)


def _profile(
    request: Request, profile: Annotated[str, _REF], who: PrincipalDep, wired: ServicesDep
) -> int:
    return _resolved(request, "profile", wired.names.profile(who, profile))


def _cluster(
    request: Request, cluster: Annotated[str, _REF], who: PrincipalDep, wired: ServicesDep
) -> int:
    return _resolved(request, "cluster", wired.names.cluster(who, cluster))


def _registry(
    request: Request, registry: Annotated[str, _REF], who: PrincipalDep, wired: ServicesDep
) -> int:
    return _resolved(request, "registry", wired.names.registry(who, registry))


def _draft(
    request: Request, draft: Annotated[str, _REF], who: PrincipalDep, wired: ServicesDep
) -> int:
    return _resolved(request, "draft", wired.names.draft(who, draft))


def _resolved(request: Request, segment: str, found: int) -> int:
    request.scope.setdefault(RESOLVED_KEY, {})[segment] = found
    return found


ProfileRef = Annotated[int, Depends(_profile)]
"""The id of the profile a `{profile}` path segment names."""
ClusterRef = Annotated[int, Depends(_cluster)]
"""The id of the cluster a `{cluster}` path segment names."""
RegistryRef = Annotated[int, Depends(_registry)]
"""The id of the registry a `{registry}` path segment names."""
DraftRef = Annotated[int, Depends(_draft)]
"""The id of the draft a `{draft}` path segment names."""
