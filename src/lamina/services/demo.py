"""The demo org: a few example profiles so a newcomer can try Lamina at once."""

from __future__ import annotations

from typing import Any

from lamina.domain.models import Role
from lamina.ports import Store
from lamina.services import auth
from lamina.services.profiles import ProfileService

DEMO_ORG = "demo"


def seed(store: Store, profiles: ProfileService, documents: list[dict[str, Any]]) -> str | None:
    """Create the demo org with `documents` published, on a store that has no demo org yet.

    Returns an admin token for it, or None when the org already existed.
    """
    with store.unit_of_work() as uow:
        if uow.orgs.get_by_slug(DEMO_ORG) is not None:
            return None
    token = auth.create_token(store, org_slug=DEMO_ORG, role=Role.ADMIN, label="demo")
    principal = auth.authenticate(store, token)
    for doc in documents:
        profiles.import_document(principal, doc)
    return token
