"""Rolling a version bump out to a fleet, as a job, with one worker.

Target (fleet at scale): with a 10-layer stack of charts (bench/render.py's stack) on
1,000 clusters (half in each of two Git repositories), a rollout of version 2 (one layer's
values changed) runs at >= 25 clusters per second end to end (render, diff, Git, database)
with one worker, and the last 100 clusters cost at most 1.2x the first 100. Each cluster's
parameter `zone` differs, so one layer renders per cluster. Also timed: a dry run of the
same rollout, and two rollouts (one per repository) run by one and by two `lamina worker`
processes. LAMINA_BENCH_CLUSTERS sets the fleet size; LAMINA_BENCH_PROFILE=1 (or =dry)
prints where the rollout's (or the dry run's) time goes.
"""

from __future__ import annotations

import contextlib
import cProfile
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.render import copy_charts, profile_document
from lamina.config import Services, Settings, build_services
from lamina.domain.models import Principal, RegistryKind, Role
from lamina.services import auth
from lamina.services.jobs import RolloutRequest
from tests.fixtures.gitrepos import BareRepo

CLUSTERS = int(os.environ.get("LAMINA_BENCH_CLUSTERS", "1000"))
SETUP_BATCH = 100
TARGET_RSS_MB = 400
TARGET_RATE = 25.0
LAMINA = str(Path(sys.executable).with_name("lamina"))
TARGET_GROWTH = 1.2


def _setup(
    workdir: Path, *, every_layer: bool = False
) -> tuple[Services, Principal, int, list[BareRepo]]:
    charts = workdir / "charts"
    copy_charts(charts)
    settings = Settings(
        database_url=f"sqlite:///{workdir / 'bench.db'}",
        demo=False,
        data_dir=workdir / "data",
        local_roots=(charts, workdir),
        allow_local_targets=True,
        queue_url=f"sqlite:///{workdir / 'queue.db'}",
        worker_threads=0,
    )
    wired = build_services(settings)
    who = auth.authenticate(
        wired.store, auth.create_token(wired.store, org_slug="bench", role=Role.ADMIN)
    )
    registry = wired.registries.create(who, name="bench", kind=RegistryKind.LOCAL, url=str(charts))
    wired.registries.sync(who, registry.id)
    profile, _ = wired.profiles.import_document(who, profile_document(every_layer=every_layer))
    return wired, who, profile.id, [BareRepo(workdir / f"fleet-{half}.git") for half in "ab"]


def _fleet(
    wired: Services,
    who: Principal,
    profile_id: int,
    remotes: list[BareRepo],
    count: int = CLUSTERS,
) -> None:
    """`count` clusters running version 1, each with its own `zone`, half in each
    repository (label `half=a|b`), committed SETUP_BATCH at a time per repository as a
    rollout would; not timed."""
    pending: dict[int, list[tuple[int, int]]] = {0: [], 1: []}
    for index in range(count):
        half = index % 2
        cluster = wired.clusters.create(
            who,
            {
                "name": f"c{index:05d}",
                "labels": {"ring": str(index % 3), "half": "ab"[half]},
                "kubernetes_version": "1.31.2",
                "gitops": {"url": remotes[half].url, "path": "clusters"},
            },
        )
        made = wired.stacks.instantiate(
            who,
            cluster.id,
            profile_id=profile_id,
            version=None,
            parameters={"zone": f"zone-{index}"},
            values={},
        )
        pending[half].append((cluster.id, made.draft.id))
        if len(pending[half]) == SETUP_BATCH or index >= count - 2:
            _commit_setup(wired, who, pending[half])
            pending[half] = []


def _commit_setup(wired: Services, who: Principal, items: list[tuple[int, int]]) -> None:
    if not items:
        return
    outcome = wired.stacks.commit_batch(who, items, f"setup: {len(items)} clusters")
    failed = [f"{c}: {r}" for c, r in outcome.items() if isinstance(r, Exception)]
    if failed:
        raise RuntimeError(f"setup commits failed: {failed[:3]}")


def _next_version(wired: Services, who: Principal, replicas: int) -> None:
    doc: dict[str, Any] = profile_document()
    doc["spec"]["layers"][4]["values"]["replicaCount"] = replicas  # the `web` layer changes
    wired.profiles.import_document(who, doc)


def run_here(wired: Services, job_id: int) -> None:
    """Run a job in this process, as one worker: its parts one after another (a dry run over
    both repositories is split in two), or the job itself."""
    with wired.store.unit_of_work() as uow:
        parts = [part.id for part in uow.jobs.parts(job_id)]
    for one in parts or [job_id]:
        wired.jobs.run(one)


def _by_worker_processes(
    wired: Services, who: Principal, profile_id: int, version: int, workdir: Path, count: int
) -> float:
    """Seconds `count` `lamina worker` processes take to run two rollouts of `version`,
    one per repository, started together."""
    with worker_processes(wired, workdir, count, tag=str(count)):
        started = time.perf_counter()  # from the rollouts' start: not the workers' own start
        jobs = [
            wired.jobs.start_rollout(
                who,
                RolloutRequest(
                    profile_id=profile_id, version=version, selector=f"half={half}", batch_size=50
                ),
            )
            for half in "ab"
        ]
        deadline = time.monotonic() + 1800
        while not all(wired.jobs.view(who, j.id, limit=0).job.state.finished for j in jobs):
            if time.monotonic() > deadline:
                raise RuntimeError("the rollouts did not finish")
            time.sleep(0.05)
        took = time.perf_counter() - started
    for job in jobs:
        view = wired.jobs.view(who, job.id, limit=0)
        if view.job.state.value != "succeeded" or view.counts["committed"] != CLUSTERS // 2:
            raise RuntimeError(f"job {job.id}: {view.job.state.value} {view.counts}")
    return took


@contextlib.contextmanager
def worker_processes(
    wired: Services, workdir: Path, count: int, *, tag: str
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` `lamina worker` processes on the benchmark's store and queue (logs
    `worker-<tag>-<i>.log`), once each says its consumer started; stopped on leaving."""
    logs = [workdir / f"worker-{tag}-{i}.log" for i in range(count)]
    workers = [
        subprocess.Popen(
            [LAMINA, "worker", "--threads", "1"],
            env=_worker_env(wired),
            stdout=subprocess.DEVNULL,
            stderr=open(log, "w"),  # noqa: SIM115
        )
        for log in logs
    ]
    try:
        deadline = time.monotonic() + 120
        while not all("Huey consumer started" in log.read_text() for log in logs):
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start")
            time.sleep(0.1)
        yield workers
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=30)


def _worker_env(wired: Services) -> dict[str, str]:
    """The environment of a `lamina worker` on the benchmark's store and queue."""
    settings = wired.settings
    return {
        **os.environ,
        "LAMINA_DATABASE_URL": settings.database_url,
        "LAMINA_DATABASE_SCHEMA": settings.schema or "",
        "LAMINA_QUEUE_URL": settings.queue_url,
        "LAMINA_DATA_DIR": str(settings.data_dir),
        "LAMINA_LOCAL_ROOTS": ":".join(str(root) for root in settings.local_roots),
        "LAMINA_ALLOW_LOCAL_TARGETS": "1",
        "LAMINA_DEMO": "0",
    }


def report_worker_memory() -> None:
    """Peak RSS of one `lamina worker` process delivering a rollout to CLUSTERS clusters
    whose every layer has per-cluster values (so every layer renders for every cluster)."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        wired, who, profile_id, remotes = _setup(workdir, every_layer=True)
        try:
            started = time.perf_counter()
            _fleet(wired, who, profile_id, remotes)
            print(
                f"{CLUSTERS} clusters with per-cluster values in every layer at version 1 in "
                f"{time.perf_counter() - started:.1f} s (setup)"
            )
            _next_version(wired, who, replicas=3)
            job = wired.jobs.start_rollout(
                who, RolloutRequest(profile_id=profile_id, version=2, batch_size=50)
            )
            log = open(workdir / "worker-memory.log", "w")  # noqa: SIM115
            worker = subprocess.Popen(
                [LAMINA, "worker", "--threads", "1"],
                env=_worker_env(wired),
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            started = time.perf_counter()
            deadline = time.monotonic() + 3600
            samples: list[int] = []
            children: dict[str, int] = {}
            while not wired.jobs.view(who, job.id, limit=0).job.state.finished:
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise RuntimeError("the worker stopped before the rollout finished")
                samples.append(_rss_mb(worker.pid))
                for _, name, rss in _children(worker.pid):
                    if rss > children.get(name, 0):
                        children[name] = rss
                time.sleep(0.2)
            took = time.perf_counter() - started
            own_peak = _rss_mb(worker.pid, "VmHWM:")
            quarters = [samples[min(len(samples) - 1, len(samples) * q // 4)] for q in (1, 2, 3)]
            print(f"  worker RSS at 1/4, 1/2, 3/4 of the rollout: {quarters} MB")
            print(f"  largest RSS seen of its child programs (sampled): {children} MB")
            worker.terminate()
            _, _, usage = os.wait4(worker.pid, 0)  # its peak and its waited-for children's
            log.close()
            counts = wired.jobs.view(who, job.id, limit=0).counts
            with_children = usage.ru_maxrss / 1024
            print(
                f"worker process delivering {CLUSTERS} clusters (every layer per cluster): "
                f"{took:.1f} s = {CLUSTERS / took:.1f} clusters/s, {counts}; peak RSS of the "
                f"worker process {own_peak} MB (target <= {TARGET_RSS_MB} MB: "
                f"{'ok' if own_peak <= TARGET_RSS_MB else 'over'}); the kernel's peak for it "
                f"and the programs it ran {with_children:.0f} MB"
            )
        finally:
            wired.store.dispose()


def _rss_mb(pid: int, field: str = "VmRSS:") -> int:
    """A process's resident memory now (or, with VmHWM:, its peak), in MB; 0 when it is
    gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def _children(parent: int) -> list[tuple[int, str, int]]:
    """(pid, program, RSS in MB) of a process's children and their children."""
    found: list[tuple[int, str, int]] = []
    parents = {parent}
    for entry in sorted(Path("/proc").iterdir(), key=lambda p: p.name):
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1]
        if int(rest.split()[1]) in parents:
            parents.add(int(entry.name))
            found.append((int(entry.name), name, _rss_mb(int(entry.name))))
    return found


def _discard_drafts(wired: Services, who: Principal) -> None:
    """Drop the stack drafts the dry run kept, so the real run starts from the same fleet."""
    with wired.store.unit_of_work() as uow:
        clusters = uow.clusters.all(who.org_id)
    for cluster in clusters:
        for draft in wired.stacks.drafts(who, cluster.id, page_size=200).items:
            wired.stacks.discard(who, cluster.id, draft.id)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        wired, who, profile_id, remotes = _setup(workdir)
        try:
            started = time.perf_counter()
            _fleet(wired, who, profile_id, remotes)
            setup = time.perf_counter() - started
            print(f"{CLUSTERS} clusters at version 1 in {setup:.1f} s (setup, not the target)")
            _next_version(wired, who, replicas=3)
            dry = wired.jobs.start_rollout(
                who, RolloutRequest(profile_id=profile_id, version=2, batch_size=50, dry_run=True)
            )
            dry_profiler = (
                cProfile.Profile() if os.environ.get("LAMINA_BENCH_PROFILE") == "dry" else None
            )
            started = time.perf_counter()
            if dry_profiler is not None:
                dry_profiler.enable()
            run_here(wired, dry.id)
            if dry_profiler is not None:
                dry_profiler.disable()
                pstats.Stats(dry_profiler).sort_stats("cumulative").print_stats(60)
            took = time.perf_counter() - started
            counts = wired.jobs.view(who, dry.id, limit=0).counts
            print(
                f"dry run of version 2 over {CLUSTERS} clusters: {took:.1f} s = "
                f"{CLUSTERS / took:.1f} clusters/s, {counts} (10,000 clusters at this rate: "
                f"{10_000 / (CLUSTERS / took):.0f} s; target <= 60 s)"
            )
            _discard_drafts(wired, who)
            job = wired.jobs.start_rollout(
                who, RolloutRequest(profile_id=profile_id, version=2, batch_size=50)
            )
            profiler = cProfile.Profile() if os.environ.get("LAMINA_BENCH_PROFILE") == "1" else None
            started = time.perf_counter()
            begun_at = time.time()
            if profiler is not None:
                profiler.enable()
            run_here(wired, job.id)
            if profiler is not None:
                profiler.disable()
            took = time.perf_counter() - started
            view = wired.jobs.view(who, job.id, limit=CLUSTERS)
            stamps = sorted(r.at.timestamp() for r in view.results)
            window = max(1, min(100, len(stamps) // 3))
            # Results of one batch commit land together, so whole windows are compared: the
            # first `window` clusters (from the start) against the last `window`.
            first = (stamps[window - 1] - begun_at) / window
            last = (stamps[-1] - stamps[-window - 1]) / window
            rate = CLUSTERS / took
            verdict = "ok" if rate >= TARGET_RATE else "under"
            print(
                f"rollout of version 2 to {CLUSTERS} clusters: {took:.1f} s = {rate:.1f} "
                f"clusters/s (target >= {TARGET_RATE:.0f}: {verdict})"
            )
            growth = last / first
            print(
                f"  per cluster: first {window} {first * 1000:.1f} ms, last {window} "
                f"{last * 1000:.1f} ms = {growth:.2f}x (target <= {TARGET_GROWTH}: "
                f"{'ok' if growth <= TARGET_GROWTH else 'over'}); job {view.job.state.value}, "
                f"{view.counts}"
            )
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"  peak RSS {peak:.0f} MB; timings {wired.stacks.timings}")
            if profiler is not None:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            rates = {}
            for count, version in ((1, 3), (2, 4)):
                _next_version(wired, who, replicas=version + 1)
                took = _by_worker_processes(wired, who, profile_id, version, workdir, count)
                rates[count] = CLUSTERS / took
                print(
                    f"two rollouts (one per repository) to {CLUSTERS} clusters by {count} "
                    f"`lamina worker` process{'es' if count > 1 else ''}: {took:.1f} s = "
                    f"{rates[count]:.1f} clusters/s"
                )
            print(f"  2 workers / 1 worker: {rates[2] / rates[1]:.2f}x")
        finally:
            wired.store.dispose()
    report_worker_memory()
