"""Errors as values with names; each maps once to an HTTP status and a CLI exit code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One problem found in a document, at a path such as `spec.layers[1].chart.version`."""

    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


class LaminaError(Exception):
    """Base of every error Lamina reports to a user."""

    title = "Error"

    def __init__(self, detail: str, *, issues: Iterable[Issue] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.issues = list(issues)


class NotFound(LaminaError):
    title = "Not found"


class Conflict(LaminaError):
    title = "Conflict"


class DuplicateKey(Conflict):
    """The store refused a row whose unique key (a name or a number) is already taken."""


class StaleWrite(Conflict):
    """A write carried an edit counter older than the stored one."""

    title = "Stale write"


class ImmutableVersion(Conflict):
    """Something tried to change a published version."""

    title = "Published versions are immutable"


class InvalidInput(LaminaError):
    """The request or document is malformed or fails validation; `issues` say where."""

    title = "Invalid input"


class Unauthorized(LaminaError):
    title = "Unauthorized"


class Forbidden(LaminaError):
    title = "Forbidden"


class PayloadTooLarge(InvalidInput):
    title = "Payload too large"


class RegistryUnavailable(LaminaError):
    """A registry could not be reached or answered nonsense."""

    title = "Registry unavailable"


class InvalidChart(InvalidInput):
    """A chart archive is corrupt, too large, escapes its root, or fails its digest."""

    title = "Invalid chart"


class RenderFailed(InvalidInput):
    """A template, kustomization or substitution failed; issues name layer and template."""

    title = "Render failed"


class ToolMissing(LaminaError):
    """A program Lamina needs (kustomize) is not installed."""

    title = "Tool missing"


class DeliveryFailed(LaminaError):
    """The GitOps repository refused or could not take a commit; nothing was recorded."""

    title = "Delivery failed"


class StoreUnavailable(LaminaError):
    """The database or the data directory cannot be used (gone, replaced, read-only,
    unreachable); nothing was recorded."""

    title = "Store unavailable"
