"""Heavy requests never stall the server: while one parses, validates or matches, the
health endpoint keeps answering, and the heavy request gets its proper 413/422."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from lamina.adapters import yamlio
from lamina.domain import document
from tests.api.test_journey import PROFILES
from tests.documents import numbered

HEALTH = "/api/v1/health"
# Generous: this asserts that the event loop is free, not that the machine is fast. A loop
# blocked by the heavy request answers health only once that request is done, nearly its
# whole time later. On a loaded machine the heavy thread's GIL turns stretch (0.1 s alone,
# 0.67 s of a 1.26 s import under the whole suite on two cores), so the bound grows with
# the heavy request's own time, staying well under what a blocked loop would take.
HEALTH_BOUND = 0.5
STALL_SHARE = 0.6
# The whole test process can pause too (the suite's server runs in it, beside other
# tests' heaps): then health and a short heavy request wait alike (0.62 s of 0.65 s, for a
# request that takes 0.03 s alone). A blocked loop stalls on every try, a pause on one: a
# stall counts when it shows on each of these tries.
TRIES = 2
YAML = {"Content-Type": "application/yaml"}


def while_healthy(
    server_url: str, heavy: Callable[[], httpx.Response], bound: float = HEALTH_BOUND
) -> httpx.Response:
    """Run `heavy` in a thread while polling health; assert every health answer was prompt
    (on one of TRIES tries: `heavy` must give the same answer again). The answer of the
    last try."""
    stalls = []
    for _ in range(TRIES):
        response, latencies, elapsed = _probed(server_url, heavy)
        assert latencies, "the heavy request finished before health was asked once"
        allowed = max(bound, elapsed * STALL_SHARE)
        if max(latencies) < allowed:
            return response
        stalls.append(
            f"health took {max(latencies):.2f}s while the heavy request took {elapsed:.2f}s"
        )
    raise AssertionError("; ".join(stalls))


def _probed(
    server_url: str, heavy: Callable[[], httpx.Response]
) -> tuple[httpx.Response, list[float], float]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        outcome["response"] = heavy()
        outcome["elapsed"] = time.monotonic() - started

    worker = threading.Thread(target=run)
    latencies: list[float] = []
    with httpx.Client(base_url=server_url, timeout=30) as probe:
        probe.get(HEALTH)  # connect before the heavy request starts
        worker.start()
        while worker.is_alive():
            started = time.monotonic()
            assert probe.get(HEALTH).status_code == 200
            latencies.append(time.monotonic() - started)
            time.sleep(0.02)
    worker.join()
    return outcome["response"], latencies, float(outcome["elapsed"])


def post_import(client: httpx.Client, text: str) -> Callable[[], httpx.Response]:
    return lambda: client.post(f"{PROFILES}/import", content=text, headers=YAML, timeout=120)


def many_parameters(count: int) -> dict[str, Any]:
    doc = numbered("wide")
    doc["spec"]["parameters"] = [
        {"name": f"p{i}", "type": "string", "default": "x", "pattern": "^x+$"} for i in range(count)
    ]
    return doc


def test_a_twenty_thousand_parameter_document(client: httpx.Client, server_url: str) -> None:
    text = yamlio.dump(many_parameters(20_000))
    answer = while_healthy(server_url, post_import(client, text))
    assert answer.status_code == 413, answer.text
    [issue] = answer.json()["errors"]
    assert issue["path"] == "spec.parameters" and issue["code"] == "too_many"
    assert str(document.MAX_PARAMETERS) in issue["message"]


def test_a_three_thousand_layer_document(client: httpx.Client, server_url: str) -> None:
    text = yamlio.dump(numbered("tall", layers=3_000))
    answer = while_healthy(server_url, post_import(client, text))
    assert answer.status_code == 413, answer.text
    [issue] = answer.json()["errors"]
    assert issue["path"] == "spec.layers" and str(document.MAX_LAYERS) in issue["message"]


def test_a_large_valid_import_runs_off_the_event_loop(
    client: httpx.Client, server_url: str
) -> None:
    made = iter(range(TRIES))

    def import_anew() -> httpx.Response:  # a new name on each try: each import is made
        doc = numbered(f"large-{next(made)}", layers=document.MAX_LAYERS)
        return client.post(
            f"{PROFILES}/import", content=yamlio.dump(doc), headers=YAML, timeout=120
        )

    answer = while_healthy(server_url, import_anew)
    assert answer.status_code == 201, answer.text


def test_a_billion_laughs_document(client: httpx.Client, server_url: str) -> None:
    text = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n"
        previous = name
    started = time.monotonic()
    answer = while_healthy(server_url, post_import(client, text))
    assert time.monotonic() - started < 5
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["code"] == "too_large"


@pytest.mark.parametrize("value", ["a" * 10_000 + "!", "a" * 40 + "!"])
def test_a_catastrophic_pattern_at_render(
    client: httpx.Client, server_url: str, value: str
) -> None:
    doc = numbered("regex")
    doc["spec"]["parameters"] = [{"name": "zone", "type": "string", "pattern": "^(a+)+$"}]
    created = client.post(f"{PROFILES}/import", content=yamlio.dump(doc), headers=YAML)
    assert created.status_code == 201, created.text
    profile_id = created.json()["profile"]["id"]
    url = f"{PROFILES}/{profile_id}/versions/1/render"
    body = {"parameters": [{"name": "zone", "value": value}]}
    answer = while_healthy(server_url, lambda: client.post(url, json=body))
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["code"] == "pattern_mismatch"
    fits = client.post(url, json={"parameters": [{"name": "zone", "value": "a" * 10_000}]})
    assert fits.status_code == 200, fits.text


def test_a_multi_megabyte_json_draft_is_decoded_off_the_event_loop(
    client: httpx.Client, server_url: str
) -> None:
    draft = client.post(f"{PROFILES}/drafts", json={"name": "bulky"}).json()
    # Many small nested values (the costly kind to decode and validate), within the limits.
    doc = numbered("bulky", layers=400)
    for layer in doc["spec"]["layers"]:
        rows = [{"a": i, "b": [1, 2], "c": {"d": True}} for i in range(170)]
        layer["manifests"][0]["spec"] = {"items": rows}
    body = {
        "spec": {k: v for k, v in doc["spec"].items() if k != "parameters"},
        "parameters": doc["spec"]["parameters"],
        "metadata": doc["metadata"],
        "version": draft["version"],
    }
    assert len(json.dumps(body)) > 2_500_000
    url = f"{PROFILES}/drafts/{draft['id']}"

    # The JSON decoder and the validator hold the GIL while they run, whatever thread they
    # run in, so this bound is loose; tests/api/test_offloop.py shows where the work runs.
    def post() -> httpx.Response:  # at the draft's current edit, so that a second try saves
        current = client.get(url).json()["version"]
        return client.post(url, json={**body, "version": current}, timeout=120)

    answer = while_healthy(server_url, post, bound=2.0)
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] > draft["version"]
    small = client.post(f"{PROFILES}/drafts", json={"name": "small"})
    assert small.status_code == 201, small.text
