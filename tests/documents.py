"""Profile documents shared by the tests."""

from __future__ import annotations

import copy
from typing import Any

# The chart repository the documents point at; the session fixture in tests/conftest.py
# sets it to the live test repository.
CHART_REPO = "http://127.0.0.1:9/unset"

WEB_PLATFORM: dict[str, Any] = {
    "apiVersion": "lamina.dev/v1",
    "kind": "StackProfile",
    "metadata": {
        "name": "web-platform",
        "description": "Ingress and monitoring for web workloads",
        "category": "platform",
        "tags": ["web", "prod"],
        "visibility": "organisation",
        "changelog": "First cut",
    },
    "spec": {
        "type": "add-on",
        "parameters": [
            {
                "name": "domain",
                "type": "string",
                "required": True,
                "pattern": "^[a-z0-9.-]+$",
                "description": "Public DNS zone",
            },
            {"name": "replicas", "type": "number", "default": 2},
            {"name": "tier", "type": "enum", "enum": ["dev", "prod"], "default": "dev"},
            {"name": "admin_password", "type": "secret", "required": True},
        ],
        "layers": [
            {
                "name": "ingress",
                "category": "ingress",
                "namespace": "ingress",
                "chart": {
                    "repository": "<chart repo>",
                    "name": "webapp",
                    "version": "1.0.0",
                },
                "values": {
                    "replicaCount": "${{ params.replicas }}",
                    "config": {
                        "greeting": "${{ params.tier }}",
                        "password": "${{ params.admin_password }}",
                    },
                },
            },
            {
                "name": "dashboards",
                "category": "monitoring",
                "namespace": "monitoring",
                "dependsOn": ["ingress"],
                "manifests": [
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": "dash"},
                        "data": {"zone": "${{ params.domain }}"},
                    }
                ],
            },
        ],
    },
}


def web_platform(**metadata: Any) -> dict[str, Any]:
    """A fresh copy of the example document (its chart from the test repository), with
    metadata overrides."""
    doc = copy.deepcopy(WEB_PLATFORM)
    doc["metadata"].update(metadata)
    doc["spec"]["layers"][0]["chart"]["repository"] = CHART_REPO
    return doc


def numbered(name: str, layers: int = 1) -> dict[str, Any]:
    """A small valid add-on profile with `layers` inline-manifest layers."""
    return {
        "apiVersion": "lamina.dev/v1",
        "kind": "StackProfile",
        "metadata": {"name": name, "description": f"Profile {name}", "category": "apps"},
        "spec": {
            "type": "add-on",
            "parameters": [{"name": "zone", "type": "string", "default": "example.org"}],
            "layers": [
                {
                    "name": f"layer-{i}",
                    "category": "apps",
                    "namespace": "apps",
                    "manifests": [
                        {
                            "apiVersion": "v1",
                            "kind": "ConfigMap",
                            "metadata": {"name": f"cm-{i}"},
                            "data": {"zone": "${{ params.zone }}"},
                        }
                    ],
                }
                for i in range(layers)
            ],
        },
    }
