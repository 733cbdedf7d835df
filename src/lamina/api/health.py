"""`GET /api/v1/health`: 200 while the store and the data directory work, else 503 naming
what is wrong, so a load balancer or an operator notices before data is lost."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

import lamina
from lamina.adapters import datadir
from lamina.api import problems
from lamina.config import Services
from lamina.domain.errors import StoreUnavailable


def report(wired: Services) -> dict[str, str] | JSONResponse:
    issues: list[dict[str, Any]] = []
    checks = (
        ("database", wired.store.check),
        ("data_dir", lambda: datadir.check(wired.settings.data_dir)),
    )
    for path, check in checks:
        try:
            check()
        except StoreUnavailable as error:
            issues.append({"path": path, "code": "unavailable", "message": error.detail})
    if issues:
        detail = "; ".join(issue["message"] for issue in issues)
        return problems.problem(503, "Unhealthy", detail, issues)
    return {"status": "ok", "version": lamina.__version__}
