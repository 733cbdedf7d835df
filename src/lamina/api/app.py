"""The FastAPI application: routers, problem+json errors, offline API docs."""

from __future__ import annotations

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

import lamina
from lamina.api import (
    problems,
    routes_clusters,
    routes_drafts,
    routes_fleet,
    routes_profiles,
    routes_registries,
    routes_render,
    schemas,
)
from lamina.api.deps import PrincipalDep
from lamina.api.limits import BodyLimit
from lamina.config import Services

OPENAPI_URL = "/api/v1/openapi.json"
ASSETS = "/api/v1/docs/assets"


def create_app(wired: Services) -> FastAPI:
    """The API over already-wired services."""
    app = FastAPI(
        title="Lamina",
        version=lamina.__version__,
        description="Stack profiles for fleets of Kubernetes clusters.",
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = wired
    problems.install(app)
    app.include_router(routes_drafts.router)
    app.include_router(routes_render.router)
    app.include_router(routes_fleet.router)
    app.include_router(routes_profiles.router)
    app.include_router(routes_clusters.router)
    app.include_router(routes_registries.router)
    _install_meta(app)
    app.add_middleware(BodyLimit, max_bytes=wired.settings.max_body_bytes)
    return app


def _install_meta(app: FastAPI) -> None:
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/api/v1/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=OPENAPI_URL,
            title="Lamina API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/api/v1/docs")

    @app.get("/api/v1/health", tags=["meta"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": lamina.__version__}

    @app.get("/api/v1/org", response_model=schemas.WhoAmI, tags=["meta"])
    def whoami(who: PrincipalDep) -> schemas.WhoAmI:
        """The org and role of the calling token."""
        return schemas.WhoAmI(org=who.org_slug, role=who.role.value)
