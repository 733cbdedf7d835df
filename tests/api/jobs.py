"""Following jobs in tests: start a rollout (202) and wait for its job to end."""

from __future__ import annotations

import time
from typing import Any

import httpx

JOBS = "/api/v1/org/jobs"
PROFILES = "/api/v1/org/stack-profiles"


def wait_for(client: httpx.Client, job_id: int, *, timeout: float = 180.0) -> dict[str, Any]:
    """The job once it has ended (succeeded, failed or cancelled), with all its results."""
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(f"{JOBS}/{job_id}", params={"limit": 5000})
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']}"
        time.sleep(0.05)


def rollout_job(client: httpx.Client, profile: int | str, body: dict[str, Any]) -> dict[str, Any]:
    """Start a rollout and wait for its job."""
    answer = client.post(f"{PROFILES}/{profile}/rollout", json=body)
    assert answer.status_code == 202, answer.text
    started = answer.json()
    assert started["state"] in ("queued", "running", "succeeded", "failed"), started
    return wait_for(client, started["id"])


def run_rollout(client: httpx.Client, profile: int | str, body: dict[str, Any]) -> dict[str, Any]:
    """A rollout's outcome as the results of its job: `{version, dry_run, state, results,
    committed, would_change, skipped, failed}`, each result the per-cluster detail."""
    job = rollout_job(client, profile, body)
    return {
        "version": body["version"],
        "dry_run": bool(body.get("dry_run", False)),
        "state": job["state"],
        "results": [r["detail"] for r in job["results"]],
        **job["counts"],
    }
