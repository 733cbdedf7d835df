"""A rollout dry run over a large fleet.

Target (fleet at scale): a dry run of a version bump over 10,000 clusters that differ in one
parameter takes <= 60 s. The fleet (bench/rollout.py's 10-layer stack, half the clusters in
each of two Git repositories) is set up with batched commits first, untimed; then the dry
run renders, diffs and keeps a stack draft for every cluster, without any commit.
LAMINA_BENCH_DRY_CLUSTERS sets the fleet size (default 10,000).
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

from bench.rollout import _fleet, _next_version, _setup
from lamina.services.jobs import RolloutRequest

CLUSTERS = int(os.environ.get("LAMINA_BENCH_DRY_CLUSTERS", "10000"))
TARGET_SECONDS = 60.0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wired, who, profile_id, remotes = _setup(Path(tmp))
        try:
            started = time.perf_counter()
            _fleet(wired, who, profile_id, remotes, count=CLUSTERS)
            print(
                f"{CLUSTERS} clusters at version 1 in {time.perf_counter() - started:.0f} s (setup)"
            )
            _next_version(wired, who, replicas=3)
            job = wired.jobs.start_rollout(
                who, RolloutRequest(profile_id=profile_id, version=2, batch_size=50, dry_run=True)
            )
            started = time.perf_counter()
            wired.jobs.run(job.id)
            took = time.perf_counter() - started
            view = wired.jobs.view(who, job.id, limit=0)
            verdict = "ok" if took <= TARGET_SECONDS else "over"
            print(
                f"dry run of version 2 over {CLUSTERS} clusters: {took:.1f} s = "
                f"{CLUSTERS / took:.0f} clusters/s (target <= {TARGET_SECONDS:.0f} s: {verdict}); "
                f"job {view.job.state.value}, {view.counts}"
            )
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"  peak RSS {peak:.0f} MB")
        finally:
            wired.store.dispose()
