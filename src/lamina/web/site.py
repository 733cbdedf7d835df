"""Mounts the web UI on the API's application."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from lamina.web import catalog, clusters, fleet, packs, profiles, session, stacks
from lamina.web.pages import STATIC

ROUTERS = (
    session.router,
    catalog.router,
    profiles.router,
    packs.router,
    stacks.router,
    clusters.router,
    fleet.router,
)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
