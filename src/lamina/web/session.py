"""Signing in with an API token (a session cookie) and signing out."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response

from lamina.api.deps import SESSION_COOKIE, ServicesDep
from lamina.domain.errors import Unauthorized
from lamina.services.sessions import same_token
from lamina.web.pages import PageRoute, redirect, render, safe_next, viewer

router = APIRouter(route_class=PageRoute, include_in_schema=False)
# The sign-in form's own CSRF token (no session exists yet): a random value both in a
# strict cookie and in the form, which another site can neither read nor set.
SIGN_IN_COOKIE = "lamina_sign_in"
MAX_FORM_BYTES = 16 * 1024


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items()}


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@router.get("/sign-in")
def sign_in_form(request: Request, next: str = "/") -> Response:
    return _form_page(request, safe_next(next))


@router.post("/sign-in")
async def sign_in(request: Request, wired: ServicesDep) -> Response:
    form = await _form(request)
    target = safe_next(form.get("next"))
    if not same_token(request.cookies.get(SIGN_IN_COOKIE, ""), form.get("csrf")):
        return _refused(request, target, 403, "The form expired; sign in again.")
    try:
        opened = wired.sessions.open(form.get("token", ""))
    except Unauthorized as error:
        return _refused(request, target, 401, error.detail)
    done = redirect(target)
    _cookie(done, request, SESSION_COOKIE, opened.cookie, opened.max_age)
    done.delete_cookie(SIGN_IN_COOKIE, path="/")
    return done


def _refused(request: Request, target: str, status: int, message: str) -> Response:
    return _form_page(request, target, status=status, error=message)


def _form_page(request: Request, target: str, *, status: int = 200, error: str = "") -> Response:
    """The sign-in form, with a fresh form token in its cookie."""
    nonce = secrets.token_urlsafe(24)
    page = render(
        request,
        "sign_in.html",
        who=None,
        title="Sign in",
        status=status,
        nonce=nonce,
        next=target,
        error=error,
    )
    _cookie(page, request, SIGN_IN_COOKIE, nonce, 3600)
    return page


@router.post("/sign-out")
async def sign_out(request: Request, wired: ServicesDep) -> Response:
    form = await _form(request)
    who = viewer(request, wired)
    if not same_token(who.csrf, form.get("csrf")):
        return render(
            request,
            "error.html",
            who=who,
            status=403,
            title="Forbidden",
            detail="The sign-out form carried no valid CSRF token.",
            issues=[],
        )
    done = redirect("/sign-in")
    done.delete_cookie(SESSION_COOKIE, path="/")
    return done
