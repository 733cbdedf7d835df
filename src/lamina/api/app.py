"""The FastAPI application: routers, problem+json errors, offline API docs."""

from __future__ import annotations

import swagger_ui_bundle
from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

import lamina
from lamina.adapters import toolchain
from lamina.api import health as health_check
from lamina.api import (
    inputs,
    problems,
    routes_audit,
    routes_catalog,
    routes_clone,
    routes_clusters,
    routes_drafts,
    routes_fleet,
    routes_imports,
    routes_jobs,
    routes_profiles,
    routes_registries,
    routes_render,
    routes_tokens,
    schemas,
)
from lamina.api.audit import AuditTrail
from lamina.api.deps import PrincipalDep, ServicesDep
from lamina.api.limits import BodyLimit
from lamina.api.offloop import OffLoop
from lamina.config import Services
from lamina.web import site

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
        dependencies=[Depends(inputs.plain_parameters)],
    )
    app.state.services = wired
    problems.install(app)
    app.include_router(routes_drafts.router)
    app.include_router(routes_render.router, responses=problems.responses(*problems.UPSTREAM))
    app.include_router(routes_fleet.router)
    app.include_router(routes_profiles.router)
    app.include_router(routes_clusters.router)
    app.include_router(routes_registries.router)
    app.include_router(routes_tokens.router)
    app.include_router(routes_audit.router)
    app.include_router(routes_jobs.router)
    app.include_router(routes_catalog.router)
    app.include_router(routes_imports.router)
    app.include_router(routes_clone.router)
    _install_meta(app)
    site.install(app)
    problems.document(app)
    app.add_middleware(OffLoop)
    app.add_middleware(BodyLimit, max_bytes=wired.settings.max_body_bytes)
    # Around the body limit, so the audit sees the final status, a refused body's 413 too.
    app.add_middleware(AuditTrail, store=wired.store)
    app.add_middleware(problems.LastResort)
    return app


def app_from_environment() -> FastAPI:
    """The app over services built from the environment's settings, for each process of
    `lamina serve --workers N` (the parent process migrated the store already)."""
    from lamina.api import logs
    from lamina.config import build_services

    logs.install_access_redaction()
    return create_app(build_services(migrate=False))


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

    @app.get(
        "/api/v1/health",
        tags=["meta"],
        response_model=None,
        responses={503: {"description": "The database or the data directory cannot be used"}},
    )
    def health(wired: ServicesDep) -> dict[str, str] | JSONResponse:
        """200 when the store and the data directory work, else 503 naming the problem."""
        return health_check.report(wired)

    @app.get(
        "/api/v1/version",
        response_model=schemas.VersionReport,
        tags=["meta"],
        responses=problems.responses(401),
    )
    def version(who: PrincipalDep, wired: ServicesDep) -> schemas.VersionReport:
        """Lamina's version and the versions of the tools it renders and delivers with."""
        return schemas.VersionReport.of(lamina.__version__, toolchain.report(wired.kustomizer))

    @app.get("/api/v1/org", response_model=schemas.WhoAmI, tags=["meta"])
    def whoami(who: PrincipalDep) -> schemas.WhoAmI:
        """The org and role of the calling token."""
        return schemas.WhoAmI(org=who.org_slug, role=who.role.value)
