"""API tokens: issued by admins, listed without secrets, expired and revoked at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from lamina.config import Services
from lamina.domain.errors import Unauthorized
from lamina.domain.models import Role
from lamina.services import auth

TOKENS = "/api/v1/org/tokens"


def as_token(server_url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=server_url, headers={"Authorization": f"Bearer {token}"})


def test_issue_list_and_revoke(client: httpx.Client, server_url: str) -> None:
    issued = client.post(TOKENS, json={"label": "ci", "role": "editor", "expires_in_days": 30})
    assert issued.status_code == 201, issued.text
    body = issued.json()
    token = body["token"]
    assert token.startswith("lam_") and body["role"] == "editor" and body["revoked"] is False
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)

    with as_token(server_url, token) as ci:
        assert ci.get("/api/v1/org").json() == {"org": "acme", "role": "editor"}
        listed = client.get(TOKENS).json()
        assert listed["total_count"] == 2 and listed["page"] == 1
        row = next(r for r in listed["result"] if r["id"] == body["id"])
        assert row["label"] == "ci" and row["last_used_at"] is not None
        assert token not in str(listed) and "hash" not in str(listed)
        assert set(row) == {
            "id",
            "label",
            "role",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked",
            "revoked_at",
        }

        assert client.delete(f"{TOKENS}/{body['id']}").status_code == 204
        refused = ci.get("/api/v1/org")
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
        assert client.delete(f"{TOKENS}/{body['id']}").status_code == 204  # idempotent
        row = next(r for r in client.get(TOKENS).json()["result"] if r["id"] == body["id"])
        assert row["revoked"] is True and row["revoked_at"] is not None


def test_only_admins_of_the_org_manage_tokens(
    client: httpx.Client, server_url: str, make_token: Callable[..., str]
) -> None:
    mine = client.post(TOKENS, json={"label": "mine"}).json()
    assert mine["role"] == "viewer"  # the least privilege unless asked
    for role in ("viewer", "editor"):
        with as_token(server_url, make_token("acme", role)) as lower:
            assert lower.get(TOKENS).status_code == 403
            assert lower.post(TOKENS, json={"role": "viewer"}).status_code == 403
            assert lower.delete(f"{TOKENS}/{mine['id']}").status_code == 403
    with as_token(server_url, make_token("globex", "admin")) as other:
        assert other.delete(f"{TOKENS}/{mine['id']}").status_code == 404
        assert [r["label"] for r in other.get(TOKENS).json()["result"]] == ["admin"]
    assert client.delete(f"{TOKENS}/999999").status_code == 404
    bad = client.post(TOKENS, json={"role": "root", "expires_in_days": 0})
    assert bad.status_code == 422
    assert {e["path"] for e in bad.json()["errors"]} == {"role", "expires_in_days"}
    past = client.post(TOKENS, json={"expires_at": "2001-01-01T00:00:00Z"})
    assert past.status_code == 422 and past.json()["errors"][0]["path"] == "expires_in_days"


def test_expired_tokens_are_refused_at_once(services: Services) -> None:
    now = datetime.now(UTC)
    token = auth.create_token(
        services.store, org_slug="acme", role=Role.EDITOR, expires_at=now + timedelta(hours=1)
    )
    assert auth.authenticate(services.store, token).role is Role.EDITOR
    with pytest.raises(Unauthorized, match="expired"):
        auth.authenticate(services.store, token, now=now + timedelta(hours=1))


def test_last_use_is_written_at_most_once_a_minute(services: Services) -> None:
    token = auth.create_token(services.store, org_slug="acme", role=Role.ADMIN)
    who = auth.authenticate(services.store, token)

    def last_used() -> datetime | None:
        [row] = auth.list_tokens(services.store, who).items
        return row.last_used_at

    first = last_used()
    assert first is not None
    auth.authenticate(services.store, token, now=first + timedelta(seconds=30))
    assert last_used() == first
    later = first + timedelta(seconds=61)
    auth.authenticate(services.store, token, now=later)
    assert last_used() == later


def test_a_busy_database_does_not_hold_up_authentication(services: Services) -> None:
    token = auth.create_token(services.store, org_slug="acme", role=Role.ADMIN)
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with services.store.unit_of_work(write=True) as uow:
            uow.orgs.create(slug="busy", name="busy")
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        assert auth.authenticate(services.store, token).org_slug == "acme"
        assert time.monotonic() - started < 3
    finally:
        release.set()
        thread.join()
