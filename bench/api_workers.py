"""API throughput with one and with two `lamina serve` processes on PostgreSQL.

Target (fleet at scale): list and detail requests per second with `--workers 2` at least
1.7x those with one worker. Both runs use a fresh database of their own, the demo catalog
plus 200 profiles, and the same client load (keep-alive connections from one asyncio
client speaking plain HTTP/1.1) for the same time; the ratio is measured in one run. The
client and PostgreSQL share the machine's cores with the servers, so on a small machine
the figure is a floor of what separate machines give.
Needs LAMINA_TEST_DATABASE_URL (a PostgreSQL server where databases may be created).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

LAMINA = str(Path(sys.executable).with_name("lamina"))
CLIENTS = 32
SECONDS = 10.0
PROFILES = 200
TARGET = 1.7


def _admin_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


class Server:
    """`lamina serve --workers N` on a database of its own, until closed."""

    def __init__(self, pg_url: str, workers: int, port: int) -> None:
        self.database = f"lamina_bench_{uuid.uuid4().hex[:10]}"
        self.base = pg_url.rsplit("/", 1)[0]
        self.admin = sa.create_engine(_admin_url(pg_url), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{self.database}"')
        self.tmp = tempfile.TemporaryDirectory()
        env = {
            **os.environ,
            "LAMINA_DATABASE_URL": f"{self.base}/{self.database}",
            "LAMINA_DATA_DIR": str(Path(self.tmp.name) / "data"),
            "LAMINA_WORKER_THREADS": "0",
            "LAMINA_DEMO": "1",
        }
        self.log = open(Path(self.tmp.name) / "serve.log", "w+")  # noqa: SIM115
        self.process = subprocess.Popen(
            [LAMINA, "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{port}"
        self.token = self._wait()

    def _wait(self) -> str:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    self.log.seek(0)
                    found = re.search(r"lam_[A-Za-z0-9_-]+", self.log.read())
                    if found:
                        return found.group(0)
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.log.seek(0)
        raise RuntimeError(f"lamina serve did not start:\n{self.log.read()}")

    def sessions(self) -> int:
        """Connections opened to the server's database so far (PostgreSQL's statistics,
        which it updates at most every 500 ms: read after a pause)."""
        time.sleep(0.6)
        with self.admin.connect() as conn:
            conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
            found = conn.exec_driver_sql(
                "SELECT sessions FROM pg_stat_database WHERE datname = %s", (self.database,)
            ).scalar_one()
        return int(found)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self.log.close()
        self.tmp.cleanup()
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self.admin.dispose()


def _seed(server: Server) -> list[int]:
    """200 more profiles (drafts published through the API); the ids to read."""
    headers = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
        for i in range(PROFILES):
            doc = (
                "apiVersion: lamina.dev/v1\nkind: StackProfile\n"
                f"metadata: {{name: bench-{i:04d}, description: 'Bench profile {i}'}}\n"
                "spec:\n  type: add-on\n  layers:\n  - name: settings\n    manifests:\n"
                "    - {apiVersion: v1, kind: ConfigMap, metadata: {name: s}, data: {a: b}}\n"
            )
            answer = http.post(
                "/api/v1/org/stack-profiles/import",
                content=doc,
                headers={"Content-Type": "application/yaml"},
            )
            answer.raise_for_status()
        found = http.get("/api/v1/org/stack-profiles", params={"page_size": 200}).json()
    return [p["id"] for p in found["result"]]


def _load(server: Server, ids: list[int]) -> float:
    """Requests per second: CLIENTS keep-alive connections, half asking for a list page
    and half for a detail. ApacheBench (`ab`, C) drives them when it is installed, since it
    costs the servers least of the machine's CPU; else a raw HTTP/1.1 client on asyncio."""
    if shutil.which("ab"):
        return _ab(server, ids)
    return asyncio.run(_drive(server, ids))


def _ab(server: Server, ids: list[int]) -> float:
    paths = ["/api/v1/org/stack-profiles?page_size=20", f"/api/v1/org/stack-profiles/{ids[5]}"]
    runs = [
        subprocess.Popen(
            [
                *("ab", "-q", "-k", "-c", str(CLIENTS // 2), "-t", str(int(SECONDS))),
                *("-n", "100000000", "-H", f"Authorization: Bearer {server.token}"),
                f"{server.url}{path}",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for path in paths
    ]
    total = 0.0
    for run in runs:
        out = run.communicate(timeout=SECONDS * 6)[0]
        failed = re.search(r"Failed requests:\s+(\d+)", out)
        if re.search(r"Non-2xx responses", out) or (failed and failed.group(1) != "0"):
            raise RuntimeError(f"ab saw failed requests:\n{out}")
        rate = re.search(r"Requests per second:\s+([\d.]+)", out)
        assert rate, out
        total += float(rate.group(1))
    return total


async def _drive(server: Server, ids: list[int]) -> float:
    host, port = "127.0.0.1", int(server.url.rsplit(":", 1)[1])
    stop = time.monotonic() + SECONDS
    done = [0] * CLIENTS

    def request(path: str) -> bytes:
        return (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {server.token}\r\n\r\n"
        ).encode()

    paths = [request("/api/v1/org/stack-profiles?page_size=20")] + [
        request(f"/api/v1/org/stack-profiles/{i}") for i in ids
    ]

    async def client(index: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        n = index
        try:
            while time.monotonic() < stop:
                writer.write(paths[0] if n % 2 else paths[1 + n % (len(paths) - 1)])
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(head.decode(errors="replace"))
                length = int(re.search(rb"content-length: (\d+)", head.lower()).group(1))  # type: ignore[union-attr]
                await reader.readexactly(length)
                n += 1
                done[index] += 1
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    return sum(done) / (time.monotonic() - started)


def _cpu_seconds(root: int) -> float:
    """User + system CPU seconds of a process and its children (the API worker processes),
    read from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, parent = int(entry.name), int(fields[1])
        if pid == root or parent == root:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def main() -> None:
    print(f"load client: {'ab (ApacheBench)' if shutil.which('ab') else 'asyncio, in Python'}")
    pg_url = os.environ.get("LAMINA_TEST_DATABASE_URL", "")
    if not pg_url:
        print("skipped: set LAMINA_TEST_DATABASE_URL to a PostgreSQL server")
        return
    rates: dict[int, float] = {}
    for workers, port in ((1, 18431), (2, 18432)):
        server = Server(pg_url, workers, port)
        try:
            ids = _seed(server)
            _load(server, ids)  # warm every process's caches and connections
            cpu = _cpu_seconds(server.process.pid)
            sessions = server.sessions()
            rates[workers] = _load(server, ids)
            per_request = (_cpu_seconds(server.process.pid) - cpu) / (rates[workers] * SECONDS)
            opened = server.sessions() - sessions
        finally:
            server.close()
        print(
            f"--workers {workers}: {rates[workers]:7.1f} requests/s (list and detail); the "
            f"API processes used {per_request * 1000:.2f} ms of CPU per request, "
            f"{per_request * rates[workers]:.2f} cores; {opened} database connections opened"
        )
    ratio = rates[2] / rates[1]
    verdict = "ok" if ratio >= TARGET else "under"
    print(f"2 workers / 1 worker: {ratio:.2f}x (target >= {TARGET}x: {verdict})")
