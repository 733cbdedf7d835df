"""Weaveworks profile definitions (with a subscription) mapped to Lamina documents: every
rule and unmappable case, each with its report entry and its path into the source."""

from __future__ import annotations

from typing import Any

import pytest

from lamina.adapters import yamlio
from lamina.domain.errors import InvalidInput
from lamina.domain.importers import weaveworks
from lamina.domain.importers.report import Context, Imported, KnownRegistry, split_stream
from tests import importers

REPO = "http://127.0.0.1:1/charts"


def documents(text: str) -> list[Any]:
    return [yamlio.load(part) for part in split_stream(text)]


def imported(text: str, **profiles: int) -> Imported:
    context = Context(
        load_yaml=yamlio.load,
        registries=(KnownRegistry("charts", REPO + "/"),),
        profiles=profiles,
    )
    return weaveworks.import_profile(documents(text), context)


def entries(result: Imported) -> set[tuple[str, str, str]]:
    return {(n.status.value, n.code, n.path) for n in result.notes}


def test_a_definition_with_its_subscription_maps_to_layers() -> None:
    source = importers.text("weaveworks-profile.yaml", chart_repo=REPO)
    assert weaveworks.nested_profile_names(documents(source)) == ["base-platform", "monitoring"]
    result = imported(source, **{"base-platform": 3})
    doc = result.document
    assert doc["metadata"] == {
        "name": "web-stack",
        "description": "A web application with its settings and a base profile",
        "changelog": "Imported from the Weaveworks profile 'web-stack'",
    }
    assert doc["spec"]["type"] == "add-on" and doc["spec"]["parameters"] == []
    assert doc["spec"]["layers"] == [
        {"name": "base", "profile": {"name": "base-platform", "version": 3}},
        {
            "name": "webapp",
            "chart": {"repository": "charts", "name": "webapp", "version": "1.0.0"},
            # defaultValues, with the subscription's values laid over them
            "values": {"replicaCount": 2, "config": {"greeting": "hello from the subscription"}},
            "dependsOn": ["base", "settings"],
        },
        {
            "name": "settings",
            "kustomize": {
                "path": "https://git.example.com/profiles/web-stack//web-stack/webapp/settings"
                "?ref=main"
            },
        },
        {
            "name": "odd-name",
            "chart": {
                "repository": "https://charts.example.org/stable",
                "name": "tool",
                "version": "*",
            },
            "values": {"config": {"greeting": "hello from the subscription"}},
        },
    ]


def test_the_report_names_each_rule_and_unmappable_case_at_its_path() -> None:
    result = imported(
        importers.text("weaveworks-profile.yaml", chart_repo=REPO), **{"base-platform": 3}
    )
    a = "spec.artifacts"
    assert {
        ("mapped", "profile_name", "metadata.name"),
        ("mapped", "description", "spec.description"),
        ("unmapped", "maintainer", "spec.maintainer"),
        ("unmapped", "prerequisites", "spec.prerequisites"),
        ("approximated", "nested_profile", f"{a}[0].profile"),
        ("mapped", "chart_layer", f"{a}[1].chart"),
        ("mapped", "registry_matched", f"{a}[1].chart.url"),
        ("mapped", "default_values", f"{a}[1].chart.defaultValues"),
        ("mapped", "depends_on", f"{a}[1].dependsOn[0]"),
        ("mapped", "depends_on", f"{a}[1].dependsOn[1]"),
        ("unmapped", "dependency_dropped", f"{a}[1].dependsOn[2]"),
        ("mapped", "kustomize_remote", f"{a}[2].kustomize.path"),
        ("unmapped", "chart_path", f"{a}[3].chart.path"),
        ("unmapped", "nested_profile_unknown", f"{a}[4].profile"),
        ("approximated", "name_changed", f"{a}[5].name"),
        ("approximated", "chart_version_any", f"{a}[5].chart.version"),
        ("approximated", "registry_unresolved", f"{a}[5].chart.url"),
        ("unmapped", "wrong_type", f"{a}[5].chart.defaultValues"),
        ("unmapped", "artifact_unknown", f"{a}[6]"),
        ("mapped", "profile_repository", "subscription.spec.profileURL"),
        ("mapped", "subscription_values", "subscription.spec.values"),
        ("unmapped", "values_from", "subscription.spec.valuesFrom[0]"),
    } <= entries(result)


def test_without_a_subscription_kustomize_paths_are_left_out() -> None:
    definition = importers.text("weaveworks-profile.yaml", chart_repo=REPO).split("\n---\n")[0]
    result = imported(definition + "\n---\nkind: Something\n")
    names = [layer["name"] for layer in result.document["spec"]["layers"]]
    assert names == ["webapp", "odd-name"]
    webapp = result.document["spec"]["layers"][0]
    assert webapp["values"] == {"replicaCount": 2, "config": {"greeting": "hello"}}
    assert "dependsOn" not in webapp  # base and settings were left out
    found = entries(result)
    assert {
        ("unmapped", "kustomize_path", "spec.artifacts[2].kustomize.path"),
        ("unmapped", "nested_profile_unknown", "spec.artifacts[0].profile"),
        ("unmapped", "dependency_dropped", "spec.artifacts[1].dependsOn[0]"),
        ("unmapped", "extra_document", "documents[1]"),
    } <= found


def test_bad_default_values_and_subscription_values_without_charts_are_reported() -> None:
    source = """\
kind: ProfileDefinition
metadata: {name: broken}
spec:
  artifacts:
    - name: a
      chart: {url: https://charts.example.org, name: a, version: 1.0.0, defaultValues: "x: [1"}
---
kind: ProfileSubscription
spec: {values: {a: 1}}
"""
    result = imported(source)
    found = entries(result)
    assert ("unmapped", "invalid_yaml", "spec.artifacts[0].chart.defaultValues") in found
    assert result.document["spec"]["layers"][0]["values"] == {"a": 1}
    only_kustomize = source.replace(
        'chart: {url: https://charts.example.org, name: a, version: 1.0.0, defaultValues: "x: [1"}',
        "kustomize: {path: base}",
    )
    assert ("unmapped", "subscription_values", "subscription.spec.values") in entries(
        imported(only_kustomize)
    )


@pytest.mark.parametrize(
    ("source", "path", "code"),
    [
        ("kind: ProfileSubscription\nspec: {}\n", "kind", "invalid_value"),
        ("kind: ProfileDefinition\nspec: {}\n", "spec.artifacts", "missing_field"),
    ],
)
def test_a_document_that_is_no_definition_is_refused_with_a_path(
    source: str, path: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        imported(source)
    assert [(i.path, i.code) for i in refused.value.issues] == [(path, code)]


def test_yaml_streams_split_at_document_markers() -> None:
    stream = "# comment\n---\na: 1\n--- \nb: |\n  text\n...\n---\n\n---\nc: 3\n"
    assert split_stream(stream) == ["a: 1\n", "b: |\n  text\n", "c: 3\n"]
