"""Effective values: typed parameters, each level's origin, and the cluster level."""

from __future__ import annotations

import httpx

from tests.api.test_journey import DRAFTS, import_doc
from tests.documents import web_platform


def test_effective_values_levels_and_types(client: httpx.Client) -> None:
    draft = import_doc(client, web_platform(), as_draft="true").json()
    url = f"{DRAFTS}/{draft['id']}/effective-values"

    in_url = client.get(
        url, params={"layer": "ingress", "param": ["replicas=3", "admin_password=s3cret"]}
    )
    assert in_url.status_code == 422, in_url.text
    assert in_url.json()["errors"] == [
        {
            "path": "param",
            "code": "secret_in_url",
            "message": "'admin_password' is a secret parameter: send it in the body of a POST "
            "to this endpoint, never in a URL",
        }
    ]
    assert "s3cret" not in in_url.text

    found = client.get(url, params={"layer": "ingress", "param": ["replicas=3"]})
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["values"]["replicaCount"] == 3  # typed like a render, not the text "3"
    assert body["values"]["image"]["repository"] == "nginx"  # chart defaults included
    assert body["values"]["config"]["password"] == "<redacted>"
    assert "s3cret" not in found.text
    assert {o["path"] for o in body["origins"]} == {
        "replicaCount",
        "config.greeting",
        "config.password",
    }
    assert {o["level"] for o in body["origins"]} == {"profile"}
    assert body["chart"]["name"] == "webapp" and body["chart"]["version"] == "1.0.0"

    wrong = client.get(url, params={"layer": "ingress", "param": "replicas=many"})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["path"] == "parameters.replicas"

    for_cluster = client.post(
        url,
        params={"layer": "ingress"},
        json={"values": {"ingress": {"replicaCount": 7, "service": {"port": 8080}}}},
    ).json()
    origins = {o["path"]: o["level"] for o in for_cluster["origins"]}
    assert for_cluster["values"]["replicaCount"] == 7
    assert origins["replicaCount"] == "cluster" and origins["service.port"] == "cluster"
    assert origins["config.greeting"] == "profile"

    missing = client.get(url, params={"layer": "nowhere"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["code"] == "unknown_layer"
