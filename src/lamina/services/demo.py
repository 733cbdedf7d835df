"""The demo org: a few example profiles so a newcomer can try Lamina at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lamina.domain.models import RegistryKind, Role
from lamina.ports import Store
from lamina.services import auth
from lamina.services.profiles import ProfileService
from lamina.services.registries import RegistryService

DEMO_ORG = "demo"
DEMO_REGISTRY = "demo"


def seed(
    store: Store,
    profiles: ProfileService,
    registries: RegistryService,
    documents: list[dict[str, Any]],
    charts_dir: Path,
) -> str | None:
    """Create the demo org with its `demo` registry of bundled charts (`charts_dir`) and
    `documents` published, on a store that has no demo org yet.

    Returns an admin token for it, or None when the org already existed.
    """
    with store.unit_of_work() as uow:
        if uow.orgs.get_by_slug(DEMO_ORG) is not None:
            return None
    token = auth.create_token(store, org_slug=DEMO_ORG, role=Role.ADMIN, label="demo")
    principal = auth.authenticate(store, token)
    registry = registries.create(
        principal, name=DEMO_REGISTRY, kind=RegistryKind.LOCAL, url=str(charts_dir)
    )
    registries.sync(principal, registry.id)
    for doc in documents:
        profiles.import_document(principal, doc)
    return token
