"""Rollouts split into parts that several workers share, through real HTTP, real Git
repositories and real worker processes.

Proven here: a dry run over several Git targets answers 202 with one job in parts, which
two `lamina worker` processes run to one result per cluster, in increasing ids, streamed
once each, touching no repository; the parts are hidden from the job list and from
`GET /jobs/{id}`; a rollout that stops at its first failure is never split, one that goes
on after failures is; cancelling a split job cancels its parts, and no worker runs them
afterwards; a part whose worker died is resumed after its lease and its job ends once,
when its last part does; a part given up after its attempts fails its job with that
reason once the other parts end.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from lamina.config import Services
from lamina.domain.models import Job, JobState
from lamina.services.jobs import MAX_ATTEMPTS
from tests.api.jobs import JOBS
from tests.api.test_jobs import (
    fleet,
    http,
    job_count,
    publish,
    queued_url,
    read_events,
    start_rollout,
    wait_for,
    worker_env,
    workers,
)
from tests.conftest import TokenFactory

__all__ = ["queued_url"]  # a fixture of test_jobs, used here


def parts_of(services: Services, job_id: int) -> list[Job]:
    """The parts of job `job_id` as the store holds them, in order."""
    with services.store.unit_of_work() as uow:
        job = uow.jobs.get(None, job_id)
        parts = uow.jobs.parts(job_id)
    assert job is not None and len(parts) == job.parts, parts
    assert all(part.parent_id == job_id for part in parts), parts
    return parts


def dry_run(client: httpx.Client, profile_id: int, **body: Any) -> dict[str, Any]:
    return start_rollout(client, profile_id, dry_run=True, batch_size=1, **body)


def split_dry_run(client: httpx.Client, tmp_path: Path, count: int) -> dict[str, Any]:
    """A dry run of version 2 over `count` clusters at version 1, each in its own
    repository, started (and queued: nothing runs it yet)."""
    profile_id = publish(client, "shop", 1)
    fleet(client, tmp_path, count, profile_id)
    publish(client, "shop", 2)
    started = dry_run(client, profile_id)
    assert started["parts"] == min(count, 4), started
    return started


def test_a_dry_run_over_several_repositories_is_shared_by_two_worker_processes(
    services: Services, queued_url: str, make_token: TokenFactory, tmp_path: Path
) -> None:
    env = worker_env(services.settings, queue_url=services.settings.queue_url)
    with http(queued_url, make_token("acme", "admin")) as client:
        profile_id = publish(client, "shop", 1)
        _clusters, repos = fleet(client, tmp_path, 6, profile_id)
        publish(client, "shop", 2)
        heads = [repo.head() for repo in repos]
        listed = job_count(client)

        started = dry_run(client, profile_id)
        assert started["parts"] == 4 and started["total"] == 6, started
        assert started["state"] == "queued", started
        parts = parts_of(services, started["id"])
        assert sorted(n for p in parts for n in p.request["clusters"]) == [  # type: ignore[union-attr]
            f"c-{i}" for i in range(6)
        ]
        assert sum(p.total for p in parts) == 6
        with workers(env, tmp_path, 2) as both:
            for worker in both:
                worker.start()
            job = wait_for(client, started["id"])
            outputs = "\n".join(w.output() for w in both)

        assert job["state"] == "succeeded", (job, outputs)
        assert job["done"] == job["total"] == 6, job
        assert sorted(r["cluster"] for r in job["results"]) == [f"c-{i}" for i in range(6)]
        assert {r["status"] for r in job["results"]} == {"would_change"}, job["results"]
        ids = [r["id"] for r in job["results"]]
        assert ids == sorted(ids) and len(set(ids)) == 6, ids
        assert all(p.state is JobState.SUCCEEDED for p in parts_of(services, job["id"]))
        assert [repo.head() for repo in repos] == heads, "a dry run committed"

        events = read_events(client, job["id"])
        streamed = [e["data"]["cluster"] for e in events if e["event"] == "result"]
        assert sorted(streamed) == [f"c-{i}" for i in range(6)], events
        assert events[-1]["data"]["state"] == "succeeded", events[-1]

        assert job_count(client) == listed + 1, "the parts show in the job list"
        shown = client.get(JOBS).json()["result"]
        assert [j["id"] for j in shown].count(job["id"]) == 1
        assert not {p.id for p in parts} & {j["id"] for j in shown}
        for part in parts:
            hidden = client.get(f"{JOBS}/{part.id}")
            assert hidden.status_code == 404, hidden.text
            refused = client.post(f"{JOBS}/{part.id}/cancel")
            assert refused.status_code == 404, refused.text


def test_only_rollouts_that_never_stop_early_are_split(
    services: Services, queued_url: str, make_token: TokenFactory, tmp_path: Path
) -> None:
    with http(queued_url, make_token("acme", "admin")) as client:
        profile_id = publish(client, "shop", 1)
        fleet(client, tmp_path, 3, profile_id)
        publish(client, "shop", 2)

        in_order = start_rollout(client, profile_id, batch_size=1)
        going_on = start_rollout(client, profile_id, batch_size=1, continue_on_error=True)
        one_target = dry_run(client, profile_id, clusters=["c-1"])

        assert in_order["parts"] == 0, in_order
        assert going_on["parts"] == 3, going_on
        assert one_target["parts"] == 0 and one_target["total"] == 1, one_target
        for job in (in_order, going_on, one_target):
            assert client.post(f"{JOBS}/{job['id']}/cancel").status_code == 200


def test_cancelling_a_split_job_cancels_its_parts(
    services: Services, queued_url: str, make_token: TokenFactory, tmp_path: Path
) -> None:
    with http(queued_url, make_token("acme", "admin")) as client:
        started = split_dry_run(client, tmp_path, 2)

        cancelled = client.post(f"{JOBS}/{started['id']}/cancel")

        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["state"] == "cancelled", cancelled.json()
        parts = parts_of(services, started["id"])
        assert [p.state for p in parts] == [JobState.CANCELLED] * 2
        for part in parts:  # a worker that receives the part's message runs nothing
            services.jobs.run(part.id)
        services.jobs.run(started["id"])  # nor the job's, which no worker ever claims
        job = wait_for(client, started["id"])
        assert job["state"] == "cancelled" and job["results"] == [], job
        assert [p.state for p in parts_of(services, started["id"])] == [JobState.CANCELLED] * 2


def test_a_part_whose_worker_died_is_resumed_and_its_job_ends_once(
    services: Services, queued_url: str, make_token: TokenFactory, tmp_path: Path
) -> None:
    with http(queued_url, make_token("acme", "admin")) as client:
        started = split_dry_run(client, tmp_path, 3)
        first, *others = parts_of(services, started["id"])
        lapsed = datetime.now(UTC) - timedelta(seconds=1)
        with services.store.unit_of_work(write=True) as uow:  # a worker claims, then dies
            assert uow.jobs.claim(
                first.id, worker="gone", now=lapsed, until=lapsed - timedelta(seconds=1)
            )
        assert wait_for_state(client, started["id"]) == "running"

        services.jobs.run(first.id)  # as recovery (or a message of the part) has it run
        assert wait_for_state(client, started["id"]) == "running", "ended with parts to run"
        for part in others:
            services.jobs.run(part.id)

        job = wait_for(client, started["id"])
        assert job["state"] == "succeeded", job
        assert job["attempts"] == 2, job
        assert sorted(r["cluster"] for r in job["results"]) == ["c-0", "c-1", "c-2"]
        assert [p.attempts for p in parts_of(services, started["id"])] == [2, 1, 1]


def test_a_part_given_up_fails_its_job_once_the_other_parts_end(
    services: Services, queued_url: str, make_token: TokenFactory, tmp_path: Path
) -> None:
    with http(queued_url, make_token("acme", "admin")) as client:
        started = split_dry_run(client, tmp_path, 2)
        doomed, other = parts_of(services, started["id"])
        lapsed = datetime.now(UTC) - timedelta(seconds=1)
        for attempt in range(MAX_ATTEMPTS):  # every worker that claims it dies
            with services.store.unit_of_work(write=True) as uow:
                assert uow.jobs.claim(
                    doomed.id,
                    worker=f"gone-{attempt}",
                    now=lapsed,
                    until=lapsed - timedelta(seconds=1),
                )

        services.jobs.recover()
        assert wait_for_state(client, started["id"]) == "running", "ended with a part to run"
        services.jobs.run(other.id)

        job = wait_for(client, started["id"])
        assert job["state"] == "failed", (job, parts_of(services, started["id"]))
        assert job["error"] == f"Gave up after {MAX_ATTEMPTS} attempts", job
        assert [r["cluster"] for r in job["results"]] == list(other.request["clusters"])  # type: ignore[arg-type]


def wait_for_state(client: httpx.Client, job_id: int) -> str:
    answer = client.get(f"{JOBS}/{job_id}", params={"limit": 0})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["state"])
