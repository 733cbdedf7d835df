"""A rollout dry run over a large fleet.

Target (fleet at scale): a dry run of a version bump over 10,000 clusters that differ in one
parameter takes <= 60 s. The fleet (bench/rollout.py's 10-layer stack, half the clusters in
each of two Git repositories) is set up with batched commits first, untimed; then the dry
run renders, diffs and keeps a stack draft for every cluster, without any commit. The dry
run is split into parts by Git repository, which `lamina worker` processes share: one, then
two (one per core of the reference machine), LAMINA_BENCH_DRY_WORKERS (default "1,2") says
how many in turn, with the stack drafts of a run discarded before the next. Each time runs
from the job's start to its end. LAMINA_BENCH_DRY_CLUSTERS sets the fleet size (default
10,000).
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

from bench.rollout import (
    _discard_drafts,
    _fleet,
    _next_version,
    _rss_mb,
    _setup,
    worker_processes,
)
from lamina.config import Services
from lamina.domain.models import Principal
from lamina.services.jobs import RolloutRequest

CLUSTERS = int(os.environ.get("LAMINA_BENCH_DRY_CLUSTERS", "10000"))
WORKERS = [int(n) for n in os.environ.get("LAMINA_BENCH_DRY_WORKERS", "1,2").split(",")]
TARGET_SECONDS = 60.0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        wired, who, profile_id, remotes = _setup(workdir)
        try:
            started = time.perf_counter()
            _fleet(wired, who, profile_id, remotes, count=CLUSTERS)
            print(
                f"{CLUSTERS} clusters at version 1 in {time.perf_counter() - started:.0f} s (setup)"
            )
            _next_version(wired, who, replicas=3)
            took: dict[int, float] = {}
            for count in WORKERS:
                if took:
                    _discard_drafts(wired, who)  # the next run starts from the same fleet
                took[count] = _dry_run(wired, who, profile_id, workdir, count)
            if len(took) > 1:
                first, *_, last = took
                print(f"  {last} workers / {first}: {took[first] / took[last]:.2f}x")
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"  peak RSS of this process (the setup) {peak:.0f} MB")
        finally:
            wired.store.dispose()


def _dry_run(wired: Services, who: Principal, profile_id: int, workdir: Path, count: int) -> float:
    """Seconds `count` `lamina worker` processes take to run the dry run of version 2."""
    peaks = [0] * count
    with worker_processes(wired, workdir, count, tag=str(count)) as workers:
        started = time.perf_counter()  # from the job's start: not the workers' own start
        job = wired.jobs.start_rollout(
            who, RolloutRequest(profile_id=profile_id, version=2, batch_size=50, dry_run=True)
        )
        deadline = time.monotonic() + 1800
        while not wired.jobs.view(who, job.id, limit=0).job.state.finished:
            if time.monotonic() > deadline:
                raise RuntimeError("the dry run did not finish")
            peaks = [
                max(peak, _rss_mb(w.pid, "VmHWM:")) for peak, w in zip(peaks, workers, strict=True)
            ]
            time.sleep(0.1)
        took = time.perf_counter() - started
    view = wired.jobs.view(who, job.id, limit=0)
    if view.job.state.value != "succeeded" or view.counts["would_change"] != CLUSTERS:
        raise RuntimeError(f"job {job.id}: {view.job.state.value} {view.counts}")
    verdict = "ok" if took <= TARGET_SECONDS else "over"
    print(
        f"dry run of version 2 over {CLUSTERS} clusters by {count} `lamina worker` "
        f"process{'es' if count > 1 else ''}: {took:.1f} s = {CLUSTERS / took:.0f} clusters/s "
        f"(target <= {TARGET_SECONDS:.0f} s: {verdict}); {view.job.parts} parts; peak RSS of "
        f"the workers {peaks} MB"
    )
    return took
