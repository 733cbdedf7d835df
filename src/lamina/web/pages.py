"""What every page shares: the signed-in user, templates, security headers, error pages.

Pages are server-rendered Jinja2 templates (Jinja2 lives only here). They read through the
services as the API routes do; writes go from the page's script to the API itself, with the
session cookie and the CSRF token (see `lamina.services.sessions`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from markupsafe import Markup

from lamina.api.deps import SESSION_COOKIE, ServicesDep
from lamina.api.problems import status_of
from lamina.domain.errors import LaminaError, Unauthorized
from lamina.domain.models import Principal, Role

HERE = Path(__file__).parent
STATIC = HERE / "static"
# Scripts and styles come from this server only; no inline script runs.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def segment(value: str | int) -> str:
    """A name or id as one URL path segment."""
    return quote(str(value), safe="")


_env.filters["segment"] = segment


def when(moment: datetime) -> Markup:
    """A time as pages show it: minutes in the text, the exact instant for machines."""
    return Markup('<time datetime="{}">{}</time>').format(
        moment.isoformat(), moment.strftime("%Y-%m-%d %H:%M")
    )


_env.filters["when"] = when


@dataclass(frozen=True)
class Viewer:
    """The signed-in user of a page."""

    principal: Principal
    csrf: str

    @property
    def can_edit(self) -> bool:
        return self.principal.role in (Role.EDITOR, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.principal.role == Role.ADMIN


class SignInRequired(Exception):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def viewer(request: Request, wired: ServicesDep) -> Viewer:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if not cookie:
        raise SignInRequired(request.url.path)
    try:
        session = wired.sessions.resume(cookie)
    except Unauthorized as error:
        raise SignInRequired(request.url.path) from error
    return Viewer(principal=session.principal, csrf=session.csrf)


ViewerDep = Annotated[Viewer, Depends(viewer)]


def render(
    request: Request,
    template: str,
    *,
    who: Viewer | None,
    title: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    html = _env.get_template(template).render(
        request=request, who=who, title=title, path=request.url.path, **context
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def safe_next(target: str | None) -> str:
    """A same-site path to go to after signing in, never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@dataclass(frozen=True)
class Pager:
    """Page links that keep the query's other parameters."""

    page: int
    page_size: int
    total: int
    base: str
    query: dict[str, str]

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    def link(self, page: int) -> str:
        return f"{self.base}?{urlencode({**self.query, 'page': str(page)})}"


class PageRoute(APIRoute):
    """A page route: a missing session goes to sign-in, an error becomes an error page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            started = time.perf_counter()
            answer = await _answer(request)
            # The server's own time for the page, for browsers' dev tools and the benchmark.
            answer.headers["Server-Timing"] = (
                f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
            )
            return answer

        async def _answer(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as missing:
                target = missing.path + (f"?{request.url.query}" if request.url.query else "")
                return redirect(f"/sign-in?{urlencode({'next': target})}")
            except LaminaError as error:
                return render(
                    request,
                    "error.html",
                    who=None,
                    status=status_of(error),
                    title=error.title,
                    detail=error.detail,
                    issues=[issue.as_dict() for issue in error.issues],
                )

        return page
