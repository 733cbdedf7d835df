"""CLI start-up: CPU time of client commands, which must not load the server stack.

Target (issue: safe operations): `lamina --help` and `lamina profiles list` each take
<= 300 ms of CPU (user + system of the child process), median of several runs; the
figure of `python -c pass` in the same run is the interpreter's own floor.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from lamina.config import Settings, build_services
from lamina.domain.models import Role
from lamina.services import auth
from tests.conftest import LiveServer

RUNS = 7
TARGET_MS = 300.0
LAMINA = str(Path(sys.executable).with_name("lamina"))


def cpu_ms(command: list[str], env: dict[str, str]) -> float:
    """Median CPU milliseconds (user + system) of running `command` to its end."""
    subprocess.run(command, env=env, capture_output=True, check=False)  # warm the page cache
    samples = []
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, env=env, capture_output=True, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.decode()}")
        used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        samples.append(used * 1000)
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        wired = build_services(Settings(database_url=url, demo=False, data_dir=Path(tmp)))
        token = auth.create_token(wired.store, org_slug="bench", role=Role.ADMIN)
        try:
            with LiveServer(wired) as server:
                env = {**os.environ, "LAMINA_SERVER": server, "LAMINA_TOKEN": token}
                report(env)
        finally:
            wired.store.dispose()


def report(env: dict[str, str]) -> None:
    baseline = cpu_ms([sys.executable, "-c", "pass"], env)
    print(f"baseline: python -c pass          median {baseline:6.1f} ms CPU")
    for args in (["--help"], ["profiles", "list"]):
        took = cpu_ms([LAMINA, *args], env)
        shown = f"lamina {' '.join(args)}"
        verdict = "ok" if took <= TARGET_MS else "over"
        print(f"{shown:<33} median {took:6.1f} ms CPU (target <= {TARGET_MS:.0f} ms: {verdict})")
