"""Rollouts as jobs, through real HTTP, real Git repositories and real worker processes.

Proven here: a rollout answers 202 with a job that ends with one result per cluster, is
listed, is invisible to another org and cannot be cancelled by a viewer; its event stream
sends each result once with increasing ids, its state and a final end, and resumes after
`Last-Event-ID`; cancelling a queued job stops it before any cluster is touched, even once
a worker picks it up, and cancelling a running job stops it after the current batch; a
worker killed in the middle of a job is replaced by another that resumes it, so every
cluster ends at the new version with exactly one commit; two workers running two rollouts
over the same clusters at once both succeed; a refused rollout request creates no job.

Batch commits: the clusters of one batch that share a Git repository and branch get one
commit (each cluster's folder changes in it, its message names them and ends with one
`Lamina-Commit:` line) and each cluster its own revision with that commit's SHA, while
`batch_commits: false` gives one commit per cluster; a batch over two repositories gets one
commit on each; a refused push fails every cluster of the batch and records nothing (no
revision, no commit, no stack draft left); a worker killed while the batch commit is pushed
leaves one commit, which the resumed job settles for every cluster.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lamina.config import Services, Settings, build_services
from tests.api.jobs import JOBS, PROFILES, wait_for
from tests.api.test_clusters import commit, instantiate, register
from tests.api.test_journey import import_doc
from tests.conftest import LiveServer, TokenFactory
from tests.documents import numbered
from tests.fixtures.gitrepos import BareRepo

CHARTS = Path(__file__).parent.parent / "charts"
REDIS_URL = "redis://127.0.0.1:6379/0"
ENDED = ("succeeded", "failed", "cancelled")
WAIT = 180.0


# --- profiles, clusters and repositories ---------------------------------------------------


def app_profile(name: str, version: int) -> dict[str, Any]:
    """A manifests-only profile whose ConfigMap (named after the profile) shows its version."""
    doc = numbered(name)
    doc["metadata"]["changelog"] = f"version {version}"
    manifest = doc["spec"]["layers"][0]["manifests"][0]
    manifest["metadata"]["name"] = f"{name}-settings"
    manifest["data"]["release"] = f"v{version}"
    return doc


def publish(client: httpx.Client, name: str, version: int) -> int:
    published = import_doc(client, app_profile(name, version))
    assert published.status_code == 201, published.text
    return int(published.json()["profile"]["id"])


def deploy(client: httpx.Client, cluster: dict[str, Any], profile_id: int) -> None:
    made = instantiate(client, cluster, profile_id, version=1, parameters=[])
    assert made.status_code == 201, made.text
    done = commit(client, cluster, made.json()["draft_id"])
    assert done.status_code == 200, done.text


def fleet(
    client: httpx.Client, tmp_path: Path, count: int, *profiles: int, prefix: str = "c"
) -> tuple[list[dict[str, Any]], list[BareRepo]]:
    """`count` clusters, each with its own repository and every profile at version 1."""
    repos = [BareRepo(tmp_path / f"{prefix}-{i}.git") for i in range(count)]
    clusters = [register(client, f"{prefix}-{i}", repo) for i, repo in enumerate(repos)]
    for cluster in clusters:
        for profile_id in profiles:
            deploy(client, cluster, profile_id)
    return clusters, repos


def slow_pushes(repo: BareRepo, seconds: float) -> None:
    """Make every push to `repo` take `seconds` longer (a pre-receive hook that sleeps); the
    hook leaves the file `pushing` in the repository as each push begins."""
    hooks = repo.path / "hooks"
    hooks.mkdir(exist_ok=True)
    hook = hooks / "pre-receive"
    hook.write_text(
        f'#!/bin/sh\ncat >/dev/null\ntouch "$(dirname "$0")/../pushing"\nsleep {seconds}\n'
    )
    hook.chmod(0o755)


def pushing(repo: BareRepo) -> bool:
    """Whether a push to `repo` (slowed by `slow_pushes`) has begun."""
    return (repo.path / "pushing").exists()


def start_rollout(client: httpx.Client, profile_id: int, **body: Any) -> dict[str, Any]:
    answer = client.post(f"{PROFILES}/{profile_id}/rollout", json={"version": 2, **body})
    assert answer.status_code == 202, answer.text
    job: dict[str, Any] = answer.json()
    return job


def job_of(client: httpx.Client, job_id: int) -> dict[str, Any]:
    answer = client.get(f"{JOBS}/{job_id}", params={"limit": 5000})
    assert answer.status_code == 200, answer.text
    job: dict[str, Any] = answer.json()
    return job


def wait_for_results(
    client: httpx.Client,
    job_id: int,
    count: int,
    *,
    timeout: float = WAIT,
    why: Callable[[], str] = str,
) -> dict[str, Any]:
    """The job once it holds at least `count` results (or has ended)."""
    deadline = time.monotonic() + timeout
    while True:
        job = job_of(client, job_id)
        if len(job["results"]) >= count or job["state"] in ENDED:
            return job
        assert time.monotonic() < deadline, f"job {job_id} has no result {count} yet: {why()}"
        time.sleep(0.05)


def versions(client: httpx.Client, profile_id: int) -> dict[str, int]:
    rows = client.get(f"{PROFILES}/{profile_id}/instantiations")
    assert rows.status_code == 200, rows.text
    return {row["cluster"]: row["version"] for row in rows.json()}


def job_count(client: httpx.Client) -> int:
    listed = client.get(JOBS)
    assert listed.status_code == 200, listed.text
    return int(listed.json()["total_count"])


@contextlib.contextmanager
def http(url: str, token: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        yield client


# --- server-sent events ----------------------------------------------------------------


def read_events(
    client: httpx.Client, job_id: int, last_event_id: int | None = None
) -> list[dict[str, Any]]:
    """Every event of the job's stream up to `end`: `{event, id, data}` (data parsed)."""
    headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
    events: list[dict[str, Any]] = []
    fields: dict[str, str] = {}
    timeout = httpx.Timeout(60.0)
    with client.stream(
        "GET", f"{JOBS}/{job_id}/events", headers=headers, timeout=timeout
    ) as stream:
        assert stream.status_code == 200, stream.read().decode()
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith(":"):
                continue
            if line:
                name, _, value = line.partition(":")
                fields[name] = fields.get(name, "") + value.removeprefix(" ")
                continue
            if not fields:
                continue
            events.append(
                {
                    "event": fields.get("event", "message"),
                    "id": int(fields["id"]) if "id" in fields else None,
                    "data": json.loads(fields.get("data", "null")),
                }
            )
            fields = {}
            if events[-1]["event"] == "end":
                break
    assert events and events[-1]["event"] == "end", events
    return events


# --- worker processes --------------------------------------------------------------------


class WorkerProcess:
    """`lamina worker --threads 1` in a process of its own, which the test may kill -9."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).with_name("lamina")), "worker", "--threads", "1"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until the worker's consumer says it started."""
        deadline = time.monotonic() + timeout
        while "Huey consumer started" not in self.output():
            assert self.process is not None and self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, f"the worker did not start: {self.output()}"
            time.sleep(0.05)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def worker_env(settings: Settings, *, queue_url: str) -> dict[str, str]:
    """The environment of a `lamina worker` on the same store, queue and key as `settings`."""
    roots = ":".join(str(p) for p in (CHARTS, Path(tempfile.gettempdir())))
    return {
        **os.environ,
        "LAMINA_DATABASE_URL": settings.database_url,
        "LAMINA_DATABASE_SCHEMA": settings.schema or "",
        "LAMINA_QUEUE_URL": queue_url,
        "LAMINA_DATA_DIR": str(settings.data_dir),
        "LAMINA_JOB_LEASE_SECONDS": "2",
        "LAMINA_ALLOW_LOCAL_TARGETS": "1",
        "LAMINA_LOCAL_ROOTS": roots,
        "LAMINA_DEMO": "0",
    }


@contextlib.contextmanager
def workers(env: dict[str, str], tmp_path: Path, count: int) -> Iterator[list[WorkerProcess]]:
    """`count` worker processes, not started yet; each one the test started is stopped (by
    its own pid) however the test ends."""
    made = [WorkerProcess(env, tmp_path / f"worker-{i}.log") for i in range(count)]
    try:
        yield made
    finally:
        for worker in made:
            worker.stop()


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def queued_url(services: Services) -> Iterator[str]:
    """A live API with no job workers: jobs stay queued until a worker is started."""
    with LiveServer(services, workers=0) as url:
        yield url


@pytest.fixture
def redis_services(services: Services) -> Iterator[Services]:
    """The same store, with its jobs queued on Redis."""
    import redis

    with contextlib.closing(redis.Redis.from_url(REDIS_URL, socket_timeout=5)) as probe:
        probe.ping()
    wired = build_services(dataclasses.replace(services.settings, queue_url=REDIS_URL))
    yield wired
    wired.queue.flush()
    wired.store.dispose()


# --- tests -------------------------------------------------------------------------------


def test_a_rollout_is_a_job_with_one_result_per_cluster(
    client: httpx.Client, make_token: TokenFactory, tmp_path: Path
) -> None:
    profile_id = publish(client, "shop", 1)
    clusters, repos = fleet(client, tmp_path, 3, profile_id)
    publish(client, "shop", 2)

    started = start_rollout(client, profile_id, batch_size=2)
    assert started["state"] in ("queued", "running"), started
    assert started["kind"] == "rollout" and started["total"] == 3
    assert started["request"]["version"] == 2 and started["request"]["batch_size"] == 2
    job = wait_for(client, started["id"])

    assert job["state"] == "succeeded", job
    assert job["error"] is None and job["cancel_requested"] is False
    assert job["attempts"] == 1
    assert job["done"] == job["total"] == 3
    assert job["counts"] == {"committed": 3, "would_change": 0, "skipped": 0, "failed": 0}
    assert sorted(r["cluster"] for r in job["results"]) == ["c-0", "c-1", "c-2"]
    assert {r["cluster_id"] for r in job["results"]} == {c["id"] for c in clusters}
    assert all(r["status"] == r["detail"]["status"] == "committed" for r in job["results"])
    assert job["started_at"] and job["finished_at"] and job["created_at"]
    ids = [r["id"] for r in job["results"]]
    assert ids == sorted(ids) and len(set(ids)) == 3
    heads = {r["cluster"]: r["detail"]["commit_sha"] for r in job["results"]}
    assert heads == {f"c-{i}": repo.head() for i, repo in enumerate(repos)}
    assert versions(client, profile_id) == {"c-0": 2, "c-1": 2, "c-2": 2}

    listed = client.get(JOBS).json()
    assert listed["total_count"] == 1
    assert [(j["id"], j["state"]) for j in listed["result"]] == [(job["id"], "succeeded")]

    with http(str(client.base_url), make_token("globex", "admin")) as other:
        assert other.get(f"{JOBS}/{job['id']}").status_code == 404
        assert other.get(f"{JOBS}/{job['id']}/events").status_code == 404
        assert other.post(f"{JOBS}/{job['id']}/cancel").status_code == 404
        assert other.get(JOBS).json()["total_count"] == 0
    with http(str(client.base_url), make_token("acme", "viewer")) as viewer:
        assert viewer.get(f"{JOBS}/{job['id']}").status_code == 200
        assert viewer.post(f"{JOBS}/{job['id']}/cancel").status_code == 403
    assert client.post(f"{JOBS}/{job['id']}/cancel").status_code == 409
    assert job_of(client, job["id"])["state"] == "succeeded"


def test_events_stream_each_result_once_and_resume_after_last_event_id(
    client: httpx.Client, tmp_path: Path
) -> None:
    profile_id = publish(client, "shop", 1)
    fleet(client, tmp_path, 3, profile_id)
    publish(client, "shop", 2)
    started = start_rollout(client, profile_id, batch_size=1)

    events = read_events(client, started["id"])
    results = [e for e in events if e["event"] == "result"]
    states = [e for e in events if e["event"] == "state"]
    assert sorted(e["data"]["cluster"] for e in results) == ["c-0", "c-1", "c-2"]
    ids = [e["id"] for e in results]
    assert ids == sorted(ids) and len(set(ids)) == 3, ids
    assert [e["data"]["id"] for e in results] == ids
    assert all(e["data"]["status"] == "committed" for e in results)
    assert states, events
    assert states[-1]["data"]["state"] == "succeeded"
    assert events[-1] == {"event": "end", "id": None, "data": {"state": "succeeded"}}
    assert [e["event"] for e in events].index("end") == len(events) - 1

    again = read_events(client, started["id"], last_event_id=ids[0])
    assert [e["id"] for e in again if e["event"] == "result"] == ids[1:]
    assert again[-1]["data"] == {"state": "succeeded"}


def test_a_queued_job_cancelled_is_never_run(
    services: Services, queued_url: str, make_token: TokenFactory, tmp_path: Path
) -> None:
    with http(queued_url, make_token("acme", "admin")) as client:
        profile_id = publish(client, "shop", 1)
        _clusters, repos = fleet(client, tmp_path, 2, profile_id)
        publish(client, "shop", 2)
        heads = [repo.head() for repo in repos]

        started = start_rollout(client, profile_id)
        assert started["state"] == "queued", started
        assert services.queue.pending() == 1
        cancelled = client.post(f"{JOBS}/{started['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["state"] == "cancelled", cancelled.text
        assert cancelled.json()["cancel_requested"] is True
        job = job_of(client, started["id"])
        assert job["state"] == "cancelled" and job["results"] == [] and job["done"] == 0
        assert job["finished_at"] is not None
        assert client.post(f"{JOBS}/{started['id']}/cancel").status_code == 409

        # A worker that now takes the message from the queue leaves the job alone.
        worker = services.embedded_worker(workers=1)
        worker.start()
        try:
            deadline = time.monotonic() + WAIT
            while services.queue.pending():
                assert time.monotonic() < deadline, "the worker never took the message"
                time.sleep(0.05)
        finally:
            worker.stop()
        job = job_of(client, started["id"])
        assert job["state"] == "cancelled" and job["results"] == [], job
        assert job["attempts"] == 0, job
        assert [repo.head() for repo in repos] == heads
        assert versions(client, profile_id) == {"c-0": 1, "c-1": 1}


def test_a_running_job_cancelled_stops_after_its_current_batch(
    client: httpx.Client, tmp_path: Path
) -> None:
    profile_id = publish(client, "shop", 1)
    _clusters, repos = fleet(client, tmp_path, 3, profile_id)
    publish(client, "shop", 2)
    heads = {f"c-{i}": repo.head() for i, repo in enumerate(repos)}
    for repo in repos:
        slow_pushes(repo, 1)

    started = start_rollout(client, profile_id, batch_size=1)
    first = wait_for_results(client, started["id"], 1, why=lambda: "no cluster was delivered")
    assert first["state"] == "running", first
    cancelled = client.post(f"{JOBS}/{started['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancel_requested"] is True
    job = wait_for(client, started["id"])

    assert job["state"] == "cancelled", job
    assert 1 <= len(job["results"]) < 3, job["results"]
    assert all(r["status"] == "committed" for r in job["results"]), job["results"]
    delivered = {r["cluster"]: r["detail"]["commit_sha"] for r in job["results"]}
    for i, repo in enumerate(repos):
        name = f"c-{i}"
        if name in delivered:
            assert repo.head() == delivered[name] != heads[name]
        else:
            assert repo.head() == heads[name], f"{name} was committed after the cancel"
    assert versions(client, profile_id) == {
        f"c-{i}": 2 if f"c-{i}" in delivered else 1 for i in range(3)
    }


def test_a_worker_killed_in_the_middle_of_a_push_is_replaced_and_the_job_resumes(
    services: Services,
    queued_url: str,
    make_token: TokenFactory,
    tmp_path: Path,
) -> None:
    env = worker_env(services.settings, queue_url=services.settings.queue_url)
    with http(queued_url, make_token("acme", "admin")) as client:
        profile_id = publish(client, "shop", 1)
        _clusters, repos = fleet(client, tmp_path, 4, profile_id)
        publish(client, "shop", 2)
        heads = {f"c-{i}": repo.head() for i, repo in enumerate(repos)}
        logs = {f"c-{i}": len(repo.log()) for i, repo in enumerate(repos)}
        for repo in repos:
            slow_pushes(repo, 1)

        with workers(env, tmp_path, 2) as (first, second):
            first.start()
            started = start_rollout(client, profile_id, batch_size=1)
            recorded = wait_for_results(client, started["id"], 1, why=first.output)
            assert recorded["state"] == "running", recorded
            done = {r["cluster"] for r in recorded["results"]}
            # Kill the worker while it pushes to the next cluster: the push is under way (the
            # remote's hook runs) but the worker has not recorded it.
            deadline = time.monotonic() + WAIT
            while not any(pushing(r) for i, r in enumerate(repos) if f"c-{i}" not in done):
                assert time.monotonic() < deadline, f"no second push: {first.output()}"
                time.sleep(0.02)
            first.kill()
            interrupted = [
                f"c-{i}" for i, r in enumerate(repos) if f"c-{i}" not in done and pushing(r)
            ]
            assert len(interrupted) == 1, interrupted
            # The git process outlives its worker: let that push land before resuming.
            moved = repos[int(interrupted[0].removeprefix("c-"))]
            deadline = time.monotonic() + WAIT
            while moved.head() == heads[interrupted[0]]:
                assert time.monotonic() < deadline, "the interrupted push never landed"
                time.sleep(0.05)
            second.start()
            job = wait_for(client, started["id"])
            outputs = first.output() + second.output()

        results = {r["cluster"]: r for r in job["results"]}
        stale = [
            f"{name}: {r['detail']['reason']}"
            for name, r in results.items()
            if r["status"] == "failed"
        ]
        assert not stale, (
            "the resumed job failed on the cluster whose commit landed as its worker died, "
            "instead of settling that commit and skipping the cluster (already at 2): "
            + "; ".join(stale)
        )
        assert job["state"] == "succeeded", (job, outputs)
        assert job["attempts"] == 2, job
        assert sorted(results) == ["c-0", "c-1", "c-2", "c-3"], job["results"]
        assert job["done"] == job["total"] == 4
        assert results[interrupted[0]]["status"] == "skipped", results[interrupted[0]]
        assert versions(client, profile_id) == {f"c-{i}": 2 for i in range(4)}
        for i, repo in enumerate(repos):
            assert len(repo.log()) == logs[f"c-{i}"] + 1, (f"c-{i}", repo.log())
        for name, result in results.items():
            assert result["status"] in ("committed", "skipped"), result
            if result["status"] == "committed":
                repo = repos[int(name.removeprefix("c-"))]
                assert result["detail"]["commit_sha"] == repo.head(), result


def test_two_workers_run_two_rollouts_over_the_same_clusters(
    redis_services: Services,
    make_token: TokenFactory,
    tmp_path: Path,
) -> None:
    env = worker_env(redis_services.settings, queue_url=REDIS_URL)
    with (
        LiveServer(redis_services, workers=0) as url,
        http(url, make_token("acme", "admin")) as client,
    ):
        shop = publish(client, "shop", 1)
        blog = publish(client, "blog", 1)
        _clusters, repos = fleet(client, tmp_path, 3, shop, blog)
        publish(client, "shop", 2)
        publish(client, "blog", 2)
        logs = [len(repo.log()) for repo in repos]
        for repo in repos:
            slow_pushes(repo, 0.5)

        with workers(env, tmp_path, 2) as started_workers:
            for worker in started_workers:
                worker.start()
            for worker in started_workers:
                worker.wait_ready()
            with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
                both = list(
                    pool.map(lambda p: start_rollout(client, p, batch_size=1), [shop, blog])
                )
            jobs = [wait_for(client, j["id"]) for j in both]
            outputs = "\n".join(w.output() for w in started_workers)

        for job in jobs:
            assert job["state"] == "succeeded", (job, outputs)
            assert [r["status"] for r in job["results"]] == ["committed"] * 3, job["results"]
        first, second = jobs
        assert first["started_at"] < second["finished_at"], "the two jobs did not overlap"
        assert second["started_at"] < first["finished_at"], "the two jobs did not overlap"
        assert versions(client, shop) == {f"c-{i}": 2 for i in range(3)}
        assert versions(client, blog) == {f"c-{i}": 2 for i in range(3)}
        for repo, before in zip(repos, logs, strict=True):
            assert len(repo.log()) == before + 2, repo.log()
        last = {r["detail"]["commit_sha"] for job in jobs for r in job["results"]}
        assert {repo.head() for repo in repos} <= last


def test_a_refused_rollout_creates_no_job(client: httpx.Client, tmp_path: Path) -> None:
    profile_id = publish(client, "shop", 1)
    fleet(client, tmp_path, 1, profile_id)
    doc = app_profile("shop", 2)
    doc["spec"]["parameters"].append({"name": "replicas", "type": "number", "default": 2})
    published = import_doc(client, doc)
    assert published.status_code == 201, published.text

    unknown = client.post(f"{PROFILES}/{profile_id}/rollout", json={"version": 9})
    assert unknown.status_code == 404, unknown.text
    wrong_value = client.post(
        f"{PROFILES}/{profile_id}/rollout",
        json={"version": 2, "parameters": [{"name": "replicas", "value": "many"}]},
    )
    assert wrong_value.status_code == 422, wrong_value.text
    assert [e["path"] for e in wrong_value.json()["errors"]] == ["parameters.replicas"]
    wrong_field = client.post(
        f"{PROFILES}/{profile_id}/rollout", json={"version": 2, "batch_size": "ten"}
    )
    assert wrong_field.status_code == 422, wrong_field.text
    assert job_count(client) == 0


# --- batch commits -----------------------------------------------------------------------

CLUSTERS = "/api/v1/org/clusters"
MARKER = "Lamina-Commit:"


def shared_fleet(
    client: httpx.Client, repo: BareRepo, names: list[str], *profiles: int
) -> list[dict[str, Any]]:
    """Clusters `names`, all registered on `repo` (branch `main`, path `clusters`), each with
    every profile at version 1 (one commit each)."""
    clusters = [register(client, name, repo) for name in names]
    for cluster in clusters:
        for profile_id in profiles:
            deploy(client, cluster, profile_id)
    return clusters


def new_commits(repo: BareRepo, since: str | None) -> list[str]:
    """The SHAs of the commits on `main` after `since`, newest first."""
    scope = f"{since}..refs/heads/main" if since else "refs/heads/main"
    return repo.git("rev-list", scope).decode().split()


def message_of(repo: BareRepo, sha: str) -> str:
    return repo.git("log", "-1", "--format=%B", sha).decode()


def marker_lines(message: str) -> list[str]:
    return [line for line in message.splitlines() if line.startswith(MARKER)]


def folders_changed(repo: BareRepo, sha: str) -> set[str]:
    """The `clusters/<name>` folders that commit `sha` changes."""
    listed = repo.git("diff-tree", "--no-commit-id", "--name-only", "-r", sha).decode()
    return {"/".join(path.split("/")[:2]) for path in listed.splitlines() if path}


def release_of(repo: BareRepo, sha: str, name: str) -> set[str]:
    """The `release: vN` values the ConfigMaps under `clusters/<name>` hold at `sha`."""
    found: set[str] = set()
    for text in repo.files_at(sha, f"clusters/{name}").values():
        for line in text.splitlines():
            if line.strip().startswith("release:"):
                found.add(line.split(":", 1)[1].strip().strip("'\""))
    return found


def cluster_of(client: httpx.Client, name: str) -> dict[str, Any]:
    answer = client.get(f"{CLUSTERS}/{name}")
    assert answer.status_code == 200, answer.text
    cluster: dict[str, Any] = answer.json()
    return cluster


def revisions_of(client: httpx.Client, name: str) -> list[dict[str, Any]]:
    answer = client.get(f"{CLUSTERS}/{name}/revisions")
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["result"]
    return rows


def drafts_of(client: httpx.Client, name: str) -> int:
    answer = client.get(f"{CLUSTERS}/{name}/stack-drafts")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["total_count"])


def assert_one_batch_commit(repo: BareRepo, before: str | None, names: list[str]) -> str:
    """`repo` got exactly one commit since `before`, changing every named cluster's folder,
    naming each cluster and carrying one marker line; its SHA."""
    commits = new_commits(repo, before)
    assert len(commits) == 1, (
        f"a batch of {names} on one repository should be one commit, got {len(commits)}: "
        f"{repo.log()[: len(commits)]}"
    )
    [sha] = commits
    assert sha == repo.head()
    message = message_of(repo, sha)
    for name in names:
        assert name in message, (name, message)
    markers = marker_lines(message)
    assert len(markers) == 1, message
    assert re.fullmatch(r"Lamina-Commit: [0-9a-f]{8,}", markers[0]), markers
    assert message.rstrip().splitlines()[-1] == markers[0], message
    assert folders_changed(repo, sha) == {f"clusters/{name}" for name in names}
    return sha


def test_a_batch_on_one_repository_is_one_commit_unless_batch_commits_is_off(
    client: httpx.Client, tmp_path: Path
) -> None:
    profile_id = publish(client, "shop", 1)
    repo = BareRepo(tmp_path / "shared.git")
    names = ["b-0", "b-1", "b-2"]
    shared_fleet(client, repo, names, profile_id)
    assert len(repo.log()) == 3
    publish(client, "shop", 2)
    before = repo.head()

    started = start_rollout(client, profile_id, batch_size=10)
    assert started["request"].get("batch_commits", True) is True, started["request"]
    job = wait_for(client, started["id"])

    assert job["state"] == "succeeded", job
    assert job["counts"] == {"committed": 3, "would_change": 0, "skipped": 0, "failed": 0}
    sha = assert_one_batch_commit(repo, before, names)
    results = {r["cluster"]: r for r in job["results"]}
    assert sorted(results) == names, job["results"]
    for name, result in results.items():
        assert result["status"] == "committed", result
        assert result["detail"]["commit_sha"] == sha, result
        assert result["detail"]["revision"] == 2, result
        assert release_of(repo, sha, name) == {"v2"}, name
        shown = cluster_of(client, name)
        assert (shown["revision"], shown["commit_sha"]) == (2, sha), shown
        history = revisions_of(client, name)
        assert (history[0]["revision"], history[0]["commit_sha"]) == (2, sha), history
        assert [r["revision"] for r in history] == [2, 1], history
        assert drafts_of(client, name) == 0
    assert versions(client, profile_id) == dict.fromkeys(names, 2)

    # The next change, one commit per cluster.
    publish(client, "shop", 3)
    before = repo.head()
    started = start_rollout(client, profile_id, version=3, batch_size=10, batch_commits=False)
    assert started["request"]["batch_commits"] is False, started["request"]
    job = wait_for(client, started["id"])

    assert job["state"] == "succeeded", job
    commits = new_commits(repo, before)
    assert len(commits) == 3, repo.log()[:4]
    results = {r["cluster"]: r["detail"] for r in job["results"]}
    assert sorted(results) == names, job["results"]
    assert {d["commit_sha"] for d in results.values()} == set(commits)
    for name, detail in results.items():
        assert detail["status"] == "committed" and detail["revision"] == 3, detail
        assert folders_changed(repo, detail["commit_sha"]) == {f"clusters/{name}"}
        assert len(marker_lines(message_of(repo, detail["commit_sha"]))) == 1
        shown = cluster_of(client, name)
        assert (shown["revision"], shown["commit_sha"]) == (3, detail["commit_sha"]), shown
        assert release_of(repo, repo.head() or "", name) == {"v3"}, name
    assert versions(client, profile_id) == dict.fromkeys(names, 3)


def test_a_batch_over_two_repositories_is_one_commit_on_each(
    client: httpx.Client, tmp_path: Path
) -> None:
    profile_id = publish(client, "shop", 1)
    first, second = BareRepo(tmp_path / "a.git"), BareRepo(tmp_path / "b.git")
    shared_fleet(client, first, ["a-0", "a-1"], profile_id)
    shared_fleet(client, second, ["b-0"], profile_id)
    publish(client, "shop", 2)
    heads = (first.head(), second.head())

    job = wait_for(client, start_rollout(client, profile_id, batch_size=10)["id"])

    assert job["state"] == "succeeded", job
    on_first = assert_one_batch_commit(first, heads[0], ["a-0", "a-1"])
    on_second = assert_one_batch_commit(second, heads[1], ["b-0"])
    assert "a-0" not in message_of(second, on_second)
    shas = {r["cluster"]: r["detail"]["commit_sha"] for r in job["results"]}
    assert shas == {"a-0": on_first, "a-1": on_first, "b-0": on_second}, job["results"]
    assert all(r["detail"]["revision"] == 2 for r in job["results"]), job["results"]
    for name, sha in shas.items():
        shown = cluster_of(client, name)
        assert (shown["revision"], shown["commit_sha"]) == (2, sha), shown


def test_a_refused_batch_push_fails_every_cluster_of_the_batch_and_records_nothing(
    client: httpx.Client, tmp_path: Path
) -> None:
    profile_id = publish(client, "shop", 1)
    repo = BareRepo(tmp_path / "shared.git")
    names = ["r-0", "r-1"]
    shared_fleet(client, repo, names, profile_id)
    publish(client, "shop", 2)
    before = {name: cluster_of(client, name) for name in names}
    head = repo.head()
    repo.reject_pushes("pushes to this repository are frozen")

    started = start_rollout(client, profile_id, batch_size=10, continue_on_error=True)
    job = wait_for(client, started["id"])

    assert job["state"] == "succeeded", job  # continue_on_error: the job itself runs through
    assert job["counts"]["failed"] == 2 and job["counts"]["committed"] == 0, job["counts"]
    results = {r["cluster"]: r for r in job["results"]}
    assert sorted(results) == names, job["results"]
    for name, result in results.items():
        assert result["status"] == "failed", result
        assert "pushes to this repository are frozen" in result["detail"]["reason"], result
        assert result["detail"]["commit_sha"] is None and result["detail"]["revision"] is None
        shown = cluster_of(client, name)
        assert (shown["revision"], shown["commit_sha"]) == (
            before[name]["revision"],
            before[name]["commit_sha"],
        ), shown
        assert [r["revision"] for r in revisions_of(client, name)] == [1]
        assert drafts_of(client, name) == 0, f"{name} keeps the stack draft of a refused push"
    assert repo.head() == head
    assert versions(client, profile_id) == dict.fromkeys(names, 1)

    # Once the remote takes pushes again, the same rollout goes through in one commit.
    repo.allow_pushes()
    job = wait_for(client, start_rollout(client, profile_id, batch_size=10)["id"])
    assert job["state"] == "succeeded", job
    sha = assert_one_batch_commit(repo, head, names)
    assert {r["detail"]["commit_sha"] for r in job["results"]} == {sha}


def test_a_worker_killed_during_a_batch_push_leaves_one_commit_settled_for_every_cluster(
    services: Services,
    queued_url: str,
    make_token: TokenFactory,
    tmp_path: Path,
) -> None:
    env = worker_env(services.settings, queue_url=services.settings.queue_url)
    with http(queued_url, make_token("acme", "admin")) as client:
        profile_id = publish(client, "shop", 1)
        repo = BareRepo(tmp_path / "shared.git")
        names = ["k-0", "k-1", "k-2"]
        shared_fleet(client, repo, names, profile_id)
        publish(client, "shop", 2)
        head = repo.head()
        slow_pushes(repo, 1)

        with workers(env, tmp_path, 2) as (first, second):
            first.start()
            started = start_rollout(client, profile_id, batch_size=10)
            deadline = time.monotonic() + WAIT
            while not pushing(repo):
                assert first.process is not None and first.process.poll() is None, first.output()
                assert time.monotonic() < deadline, f"no push began: {first.output()}"
                time.sleep(0.02)
            # The push is under way (the remote's hook runs) but nothing is recorded yet.
            first.kill()
            assert job_of(client, started["id"])["results"] == []
            # The git process outlives its worker: let that push land before resuming.
            deadline = time.monotonic() + WAIT
            while repo.head() == head:
                assert time.monotonic() < deadline, "the interrupted push never landed"
                time.sleep(0.05)
            second.start()
            job = wait_for(client, started["id"], timeout=120)
            outputs = first.output() + second.output()

        assert job["state"] == "succeeded", (job, outputs)
        assert job["attempts"] == 2, job
        sha = assert_one_batch_commit(repo, head, names)
        results = list(job["results"])
        assert sorted(r["cluster"] for r in results) == names, (
            "each cluster has exactly one result",
            job["results"],
        )
        for result in results:
            detail = result["detail"]
            if result["status"] == "skipped":
                assert detail["reason"] == "already at 2", detail
            else:
                assert result["status"] == "committed", detail
                assert (detail["commit_sha"], detail["revision"]) == (sha, 2), detail
        for name in names:
            shown = cluster_of(client, name)
            assert (shown["revision"], shown["commit_sha"]) == (2, sha), (
                f"{name} was not settled from the pushed batch commit: {shown}"
            )
            history = revisions_of(client, name)
            assert (history[0]["revision"], history[0]["commit_sha"]) == (2, sha)
            assert drafts_of(client, name) == 0, name
        assert versions(client, profile_id) == dict.fromkeys(names, 2)
