"""Mounts the web UI on the API's application."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from lamina.web import catalog, session
from lamina.web.pages import STATIC

ROUTERS = (session.router, catalog.router)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
