"""Do renders use more than one core? The Helm engine alone, rendering the 10-layer stack of
bench/render.py, one after another against two threads against two processes.

The engine is thread-safe; whether two threads render faster than one depends on whether
its calls release Python's interpreter lock. The figure decides how workers should scale
(threads inside one `lamina worker`, or more worker processes). Measured in one run.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from bench.render import helm_alone, prepare

ROUNDS = 400


def _rounds_in_a_process(count: int) -> float:
    """Seconds a fresh process takes to render the stack `count` times (after loading)."""
    with tempfile.TemporaryDirectory() as tmp:
        render, inputs = prepare(Path(tmp))
        helm_alone(render, inputs)  # warm
        return sum(helm_alone(render, inputs) for _ in range(count))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        render, inputs = prepare(Path(tmp))
        helm_alone(render, inputs)  # load every chart once
        started = time.perf_counter()
        for _ in range(ROUNDS):
            helm_alone(render, inputs)
        serial = time.perf_counter() - started
        with ThreadPoolExecutor(max_workers=2) as pool:
            started = time.perf_counter()
            list(pool.map(lambda _: helm_alone(render, inputs), range(ROUNDS)))
            threads = time.perf_counter() - started
    # Fresh interpreters (spawn): a fork of a process running the engine's runtime hangs.
    with ProcessPoolExecutor(
        max_workers=2, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        # Each process loads its own charts first; only the render time of its rounds counts.
        spent = list(pool.map(_rounds_in_a_process, [ROUNDS // 2, ROUNDS // 2]))
        processes = max(spent)
    cores = os.cpu_count() or 1
    print(f"{ROUNDS} renders of the 10-layer stack by the Helm engine ({cores} cores):")
    print(f"  one after another  {serial:6.2f} s")
    print(f"  two threads        {threads:6.2f} s = {serial / threads:.2f}x faster")
    print(f"  two processes      {processes:6.2f} s = {serial / processes:.2f}x faster")
