"""What is written with a publish (an installed profile's origin) lands in the publish's
own transaction: both, or neither."""

from __future__ import annotations

import pytest

from lamina.config import Services
from lamina.domain.models import Profile, ProfileQuery, Role
from lamina.ports import UnitOfWork
from lamina.services import auth
from tests.documents import numbered


def test_a_failure_beside_the_publish_publishes_nothing(services: Services) -> None:
    who = auth.authenticate(
        services.store, auth.create_token(services.store, org_slug="acme", role=Role.EDITOR)
    )

    def crash(uow: UnitOfWork, profile: Profile) -> None:
        raise RuntimeError("the process died here")

    with pytest.raises(RuntimeError):
        services.profiles.import_or_keep(who, numbered("atomic"), then=crash)
    assert services.profiles.list_profiles(who, ProfileQuery()).total_count == 0

    seen: list[str] = []
    done = services.profiles.import_or_keep(
        who, numbered("atomic"), then=lambda uow, profile: seen.append(profile.name)
    )
    assert seen == ["atomic"] and done.version.version == 1 and not done.unchanged
    again = services.profiles.import_or_keep(
        who, numbered("atomic"), then=lambda uow, profile: seen.append(profile.name)
    )
    assert again.unchanged and seen == ["atomic", "atomic"]
