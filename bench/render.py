"""Rendering speed and memory against the Helm engine alone, measured in the same run.

Targets (issue: registries, packs and rendering):
- a 10-layer profile of real charts renders in <= 1.15 x the time the Helm engine alone
  spends rendering the same charts (same values, release names, namespaces);
- the same stack for 1,000 clusters differing in one parameter used by one layer takes
  <= 1.2 x (one full render + 1,000 renders of that layer by the Helm engine alone);
- peak memory of rendering the 10-layer profile stays under 300 MB.
"""

from __future__ import annotations

import copy
import dataclasses
import gc
import json
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from lamina.config import DEMO_CHARTS, Settings, build_services
from lamina.domain.models import RegistryKind, Role
from lamina.services import auth
from lamina.services.render import ClusterFacts, Inputs, RenderService

ROOT = Path(__file__).parent.parent
TEST_CHARTS = ROOT / "tests" / "charts"
ROUNDS = 60
CLUSTERS = 1000

# (layer name, chart, values); `zone` is the one parameter that varies between clusters.
# `gateway` and `metrics` are the size and shape of the public ingress controller and node
# exporter charts (bench/charts, written for the suite); the rest are the demo's and the
# test suite's charts.
LAYERS: list[tuple[str, str, dict[str, Any]]] = [
    ("cni", "cni-lite", {"mtu": 1400}),
    ("storage", "storage-lite", {"replicas": 3}),
    ("gateway", "edge-ingress", {"controller": {"replicaCount": 3}}),
    ("metrics", "node-metrics", {"zone": "${{ params.zone }}"}),
    ("web", "webapp", {"replicaCount": 2}),
    ("api", "webapp", {"replicaCount": 4, "config": {"greeting": "api"}}),
    ("cache", "umbrella", {}),
    ("widgets", "crd-user", {}),
    ("modern", "modern", {}),
    ("admin", "webapp", {"service": {"port": 8080}}),
]
BENCH_CHARTS = ROOT / "bench" / "charts"
CHART_SOURCES = (DEMO_CHARTS, TEST_CHARTS, BENCH_CHARTS)


def profile_document(*, every_layer: bool = False) -> dict[str, Any]:
    """The 10-layer stack; with `every_layer`, each layer's values also carry the `zone`
    parameter, so every layer renders anew for each cluster."""
    layers = [
        {
            "name": name,
            "category": "apps",
            "namespace": name,
            "chart": {"repository": "bench", "name": chart, "version": "*"},
            "values": copy.deepcopy(values)
            | ({"clusterZone": "${{ params.zone }}"} if every_layer else {}),
        }
        for name, chart, values in LAYERS
    ]
    return {
        "apiVersion": "lamina.dev/v1",
        "kind": "StackProfile",
        "metadata": {"name": "bench-stack"},
        "spec": {
            "type": "add-on",
            "parameters": [{"name": "zone", "type": "string", "default": "eu-1"}],
            "layers": layers,
        },
    }


def copy_charts(charts: Path) -> None:
    """The benchmark's charts into one local registry folder."""
    for folder in CHART_SOURCES:
        for source in folder.iterdir():
            if source.is_dir() and source.name != "broken":
                shutil.copytree(source, charts / source.name)


def prepare(workdir: Path) -> tuple[RenderService, Inputs]:
    charts = workdir / "charts"
    copy_charts(charts)
    settings = Settings(
        database_url=f"sqlite:///{workdir / 'bench.db'}",
        demo=False,
        data_dir=workdir / "data",
        local_roots=(charts,),
    )
    wired = build_services(settings)
    principal = auth.authenticate(
        wired.store, auth.create_token(wired.store, org_slug="bench", role=Role.ADMIN)
    )
    registry = wired.registries.create(
        principal, name="bench", kind=RegistryKind.LOCAL, url=str(charts)
    )
    wired.registries.sync(principal, registry.id)
    profile, version = wired.profiles.import_document(principal, profile_document())
    with wired.store.unit_of_work() as uow:
        stored = uow.versions.get(profile.id, version.version)
        assert stored is not None
        inputs = wired.render.gather(uow, principal.org_id, stored.spec, stored.lock)
    return wired.render, inputs


def helm_alone(render: RenderService, inputs: Inputs, layers: list[str] | None = None) -> float:
    """Seconds the Helm engine takes to render the stack's charts (all, or `layers`)."""
    charts = render._charts  # the benchmark reaches in to time the engine alone
    engine = charts.engine
    jobs = []
    for name, _, values in LAYERS:
        if layers is not None and name not in layers:
            continue
        entry = inputs.lock["charts"][name] if inputs.lock else {}
        chart = charts.held(entry["digest"])
        assert chart is not None
        jobs.append((chart, _bound(values), name))
    start = time.perf_counter()
    for chart, values, name in jobs:
        engine.render(
            chart, values=values, release=name, namespace=name, kube_version=None, api_versions=[]
        )
    return time.perf_counter() - start


def _bound(values: dict[str, Any]) -> dict[str, Any]:
    """The layer's values with the `zone` parameter bound, as Helm alone would get them."""
    text = json.dumps(values).replace("${{ params.zone }}", "eu-1")
    return dict(json.loads(text))


def lamina_full(render: RenderService, inputs: Inputs, zone: str) -> float:
    render.clear_cache()  # a cold render cache and a fresh plan: every layer renders
    fresh = dataclasses.replace(inputs, _plan=None, _static={}, _parameters=None, _kube=None)
    start = time.perf_counter()
    render.render(fresh, {"zone": zone}, ClusterFacts(name="c"))
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        render, inputs = prepare(Path(tmp))
        lamina_full(render, inputs, "warm-up")
        helm_alone(render, inputs)
        report_single(render, inputs)
        report_fleet(render, inputs)
        report_stored(render, inputs)
        report_memory()


def report_single(render: RenderService, inputs: Inputs) -> None:
    # Paired rounds (Helm alone, then Lamina) so that machine noise hits both alike.
    pairs = [
        (helm_alone(render, inputs), lamina_full(render, inputs, "eu-1")) for _ in range(ROUNDS)
    ]
    helm = statistics.median(h for h, _ in pairs)
    lamina = statistics.median(lam for _, lam in pairs)
    ratio = statistics.median(lam / h for h, lam in pairs)
    print(f"10-layer render, Helm engine alone        median {helm * 1000:7.2f} ms")
    print(
        f"10-layer render, Lamina (cold cache)      median {lamina * 1000:7.2f} ms "
        f"= {ratio:.2f} x Helm, median of paired rounds (target <= 1.15)"
    )


def report_fleet(render: RenderService, inputs: Inputs) -> None:
    render.clear_cache()
    inputs = dataclasses.replace(inputs, _plan=None, _static={}, _parameters=None, _kube=None)
    gc.collect()
    full = helm_alone(render, inputs)
    started = time.perf_counter()
    render.render(inputs, {"zone": "first"}, ClusterFacts(name="c"))
    lamina = time.perf_counter() - started
    one = 0.0
    chunk = 100
    for begin in range(0, CLUSTERS, chunk):  # alternate chunks: noise hits both alike
        one += sum(helm_alone(render, inputs, ["metrics"]) for _ in range(chunk))
        started = time.perf_counter()
        for index in range(begin, begin + chunk):
            render.render(inputs, {"zone": f"zone-{index}"}, ClusterFacts(name="c"))
        lamina += time.perf_counter() - started
    baseline = full + one
    print(f"{CLUSTERS} clusters, Helm alone (1 full + {CLUSTERS} x 1 layer) {baseline:7.3f} s")
    print(
        f"{CLUSTERS} clusters, Lamina (1 full + {CLUSTERS})       {lamina:7.3f} s "
        f"= {lamina / baseline:.2f} x (target <= 1.2); cache hits {render.cache_hits}"
    )


def report_stored(render: RenderService, inputs: Inputs, clusters: int = 200) -> None:
    """Delivery keeps each render with its objects: clusters whose renders left the
    in-memory cache read them back instead of asking Helm and parsing YAML again."""
    facts = ClusterFacts(name="c", kubernetes_version="1.31.2")
    render.render(inputs, {"zone": "warm-up"}, facts, persist=True)

    def deliver_all() -> float:
        started = time.perf_counter()
        for index in range(clusters):
            done = render.render(inputs, {"zone": f"kept-{index}"}, facts, persist=True)
            for layer in done.layers:
                assert layer.objects is not None  # parsed, or read back parsed
        return time.perf_counter() - started

    rendered = deliver_all()
    render.clear_cache()
    read_back = deliver_all()
    each, again = rendered / clusters * 1000, read_back / clusters * 1000
    print(
        f"{clusters} clusters' renders (one layer new each), rendered and kept "
        f"{each:5.2f} ms/cluster, read back {again:5.2f} ms/cluster = "
        f"{rendered / read_back:.1f}x faster"
    )


def report_memory() -> None:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process        {peak_mb:7.1f} MB (target < 300 MB)")
