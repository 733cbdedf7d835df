"""Database growth per committed cluster.

Target (issue: delivery fidelity): committing a 10-layer stack whose layers are shared with
other clusters (one layer differs per cluster) adds at most 50 KB per cluster to the
database, at 100 and at 1,000 clusters. The baseline in the same run is the size the same
revisions and drafts would take with every object stored inline (as before content
addressing).
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import fleet
from lamina.config import Services
from tests import documents

_CLUSTERS = int(os.environ.get("LAMINA_BENCH_CLUSTERS", "1000"))
CHECKPOINTS = tuple(sorted({min(100, _CLUSTERS), _CLUSTERS}))
TARGET_BYTES = 50 * 1024


def ten_layers() -> dict[str, Any]:
    """One chart layer that differs per cluster, nine static layers of manifests."""
    doc = copy.deepcopy(documents.web_platform(name="ten-layers"))
    static = [
        {
            "name": f"static-{i}",
            "category": "apps",
            "namespace": f"team-{i}",
            "manifests": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"settings-{j}"},
                    "data": {f"key-{k}": f"value {i}-{j}-{k} " * 4 for k in range(20)},
                }
                for j in range(8)
            ],
        }
        for i in range(9)
    ]
    doc["spec"]["layers"] = [doc["spec"]["layers"][0], *static]
    return doc


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        report(Path(tmp))


def database_bytes(wired: Services, path: Path) -> int:
    with wired.store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def inline_bytes(wired: Services) -> int:
    """What the stored objects and files would take inline: their texts, once per row."""
    with wired.store.engine.connect() as conn:
        blobs = dict(conn.execute(sa.text("SELECT digest, length(text) FROM content_blobs")).all())
        total = 0
        for (objects,) in conn.execute(sa.text("SELECT objects FROM stack_revisions")):
            refs = objects if isinstance(objects, dict) else json.loads(objects)
            total += sum(blobs.get(ref, len(ref)) for _, ref in refs.values())
    return total


def report(tmp: Path) -> None:
    with fleet.bench_org(tmp, ten_layers) as (wired, who, profile, git):
        database = tmp / "bench.db"
        start_bytes = database_bytes(wired, database)
        started = time.perf_counter()
        done = 0
        for checkpoint in CHECKPOINTS:
            while done < checkpoint:
                commit_one(wired, who, profile.id, git.url, done)
                done += 1
            grown = database_bytes(wired, database) - start_bytes
            inline = inline_bytes(wired)
            per_cluster = grown / done
            verdict = "ok" if per_cluster <= TARGET_BYTES else "OVER TARGET"
            print(
                f"{done} clusters of a 10-layer stack: database grew {grown / 1e6:.2f} MB = "
                f"{per_cluster / 1024:.1f} KB per cluster (target <= 50 KB: {verdict}); "
                f"the same objects inline: {inline / done / 1024:.1f} KB per cluster "
                f"(ratio {inline / max(grown, 1):.1f}x); {time.perf_counter() - started:.0f} s"
            )


def commit_one(wired: Services, who: Any, profile_id: int, url: str, index: int) -> None:
    cluster = wired.clusters.create(
        who,
        {
            "name": f"c{index:04d}",
            "kubernetes_version": "1.31.2",
            "gitops": {"url": url, "path": "clusters"},
        },
    )
    result = wired.stacks.instantiate(
        who,
        cluster.id,
        profile_id=profile_id,
        version=None,
        parameters={"domain": f"c{index}.example.com", "admin_password": "pw"},
        values={},
    )
    wired.stacks.commit(who, cluster.id, result.draft.id)
