"""Palette cluster profiles mapped to Lamina documents: every rule and unmappable case,
each with its report entry and its path into the source."""

from __future__ import annotations

from typing import Any

import pytest

from lamina.adapters import yamlio
from lamina.domain.errors import InvalidInput
from lamina.domain.importers import palette
from lamina.domain.importers.report import Context, Imported, KnownRegistry
from tests import importers

REGISTRIES = (
    KnownRegistry("charts", "http://127.0.0.1:1/charts"),
    KnownRegistry("aws", "https://REGISTRY.example.com/v1/"),
)


def imported(name: str, **context: Any) -> Imported:
    return palette.import_profile(
        importers.palette(name),
        Context(load_yaml=yamlio.load, registries=REGISTRIES, **context),
    )


def entries(result: Imported) -> set[tuple[str, str, str]]:
    """The report as (status, code, path)."""
    return {(n.status.value, n.code, n.path) for n in result.notes}


def layer(result: Imported, name: str) -> dict[str, Any]:
    return next(x for x in result.document["spec"]["layers"] if x["name"] == name)


def test_an_add_on_profile_with_variables_maps_to_typed_parameters_and_references() -> None:
    result = imported("palette-addon.json")
    doc = result.document
    assert doc["metadata"] == {
        "name": "web-addon",
        "description": "Web application with its settings",
        "changelog": "Imported from the Palette cluster profile 'web-addon' version 1.2.0",
    }
    assert doc["spec"]["type"] == "add-on"
    assert doc["spec"]["parameters"] == [
        {"name": "replicas", "type": "number", "default": 2, "description": "Replicas"},
        {"name": "image_tag", "type": "string", "pattern": "^[0-9.]+$", "default": "1.25"},
        {"name": "login", "type": "boolean", "default": True},
        {"name": "domain", "type": "string", "required": True, "description": "Public host"},
        {"name": "tier", "type": "enum", "enum": ["dev", "prod"], "default": "dev"},
        {"name": "admin_password", "type": "secret", "required": True},
    ]
    # Install priority -5 puts the manifest pack before the chart (priority 10).
    assert [x["name"] for x in doc["spec"]["layers"]] == ["web-settings", "webapp"]
    assert layer(result, "webapp") == {
        "name": "webapp",
        "namespace": "web",
        "chart": {"repository": "charts", "name": "webapp", "version": "1.0.0"},
        "values": {
            "replicaCount": "${{ params.replicas }}",
            "image": {"tag": "${{ params.image_tag }}"},
            "config": {
                "greeting": "hello from ${{ cluster.name }}",
                "features": {"login": "${{ params.login }}"},
            },
            "ingress": {"enabled": False, "host": "${{ params.domain }}"},
        },
    }
    settings = layer(result, "web-settings")
    assert settings["namespace"] == "web"
    assert [o["kind"] for o in settings["manifests"]] == ["ConfigMap", "Secret"]
    assert settings["manifests"][0]["data"] == {
        "tier": "${{ params.tier }}",
        "cluster-uid": "{{ .spectro.system.cluster.uid }}",
        "web-namespace": "{{ .spectro.pack.webapp.namespace }}",
    }
    assert settings["manifests"][1]["stringData"] == {"password": "${{ params.admin_password }}"}


def test_the_add_on_report_names_each_rule_at_its_source_path() -> None:
    found = entries(imported("palette-addon.json"))
    chart, manifest = "spec.published.packs[0]", "spec.published.packs[1]"
    content = f"{manifest}.manifests[0].content"
    assert {
        ("mapped", "packs_section", "spec.published"),
        ("mapped", "profile_name", "metadata.name"),
        ("mapped", "description", "metadata.annotations.description"),
        ("approximated", "version_in_changelog", "spec.version"),
        ("mapped", "profile_type", "spec.published.type"),
        ("mapped", "chart_layer", chart),
        ("mapped", "registry_matched", f"{chart}.registryName"),
        ("mapped", "values_parsed", f"{chart}.values"),
        ("mapped", "pack_namespace", f"{chart}.values.pack.namespace"),
        ("mapped", "install_priority", f'{chart}.values.pack["spectrocloud.com/install-priority"]'),
        ("unmapped", "pack_setting", f"{chart}.values.pack.content"),
        ("mapped", "variable_reference", f"{chart}.values.replicaCount"),
        ("mapped", "variable_reference", f"{chart}.values.config.features.login"),
        ("mapped", "system_macro", f"{chart}.values.config.greeting"),
        ("mapped", "manifest_layer", manifest),
        ("mapped", "manifest_object", f"{content}[0]"),
        ("mapped", "manifest_object", f"{content}[1]"),
        ("mapped", "variable_reference", f"{content}[1].stringData.password"),
        ("unmapped", "macro_unmapped", f"{content}[0].data.cluster-uid"),
        ("unmapped", "macro_unmapped", f"{content}[0].data.web-namespace"),
        ("mapped", "variable", "spec.variables[0]"),
        ("approximated", "display_name", "spec.variables[0].displayName"),
        ("unmapped", "variable_flag", "spec.variables[3].hidden"),
        ("approximated", "name_changed", "spec.variables[5].name"),
    } <= found


def test_a_cluster_profile_maps_infra_packs_and_reports_what_does_not_map() -> None:
    result = imported("palette-cluster.json")
    doc = result.document
    assert doc["metadata"]["name"] == "aws-production"
    assert doc["spec"]["type"] == "full"
    names = [x["name"] for x in doc["spec"]["layers"]]
    assert names[:4] == ["ubuntu-aws", "kubernetes", "cni-calico", "csi-aws-ebs"]
    # Add-ons by install priority: none written (0), 5, then 20; ties as written.
    assert names[4:] == [
        "broken-values",
        "kernel-tuning",
        "ingress-nginx",
        "ingress-nginx-manifests",
        "cert-manager",
    ]
    assert layer(result, "ubuntu-aws") == {
        "name": "ubuntu-aws",
        "category": "os",
        "os": {"name": "ubuntu-aws", "version": "22.04"},
    }
    assert layer(result, "kubernetes")["kubernetes"] == {
        "distribution": "kubernetes",
        "version": "1.29.0",
    }
    assert layer(result, "csi-aws-ebs")["chart"]["repository"] == "aws"
    assert layer(result, "cni-calico")["chart"]["repository"] == "palette-oci"
    assert layer(result, "cert-manager")["chart"]["repository"] == "unresolved"
    assert layer(result, "cert-manager")["values"] == {"installCRDs": True}
    assert layer(result, "cert-manager")["category"] == "security"
    ingress = layer(result, "ingress-nginx")
    assert ingress["chart"] == {
        "repository": "https://kubernetes.github.io/ingress-nginx",
        "name": "Ingress_NGINX",
        "version": "*",
    }
    assert ingress["values"]["controller"] == {
        "replicaCount": "{{ .spectro.var.ingress-replicas | default 2 }}",
        "service": {"annotations": "${{ params.lb_annotations }}"},
        "config": {"literal": "$${{ not a lamina reference }}"},
    }
    assert layer(result, "ingress-nginx-manifests")["dependsOn"] == ["ingress-nginx"]
    assert "values" not in layer(result, "broken-values")
    assert doc["spec"]["parameters"] == [
        {"name": "lb_annotations", "type": "string"},
        {"name": "cidr", "type": "string", "default": "10.0.0.0/16"},
        {"name": "api_token", "type": "secret"},
        {"name": "workers", "type": "number"},
    ]


def test_the_cluster_report_lists_every_unmappable_case() -> None:
    found = entries(imported("palette-cluster.json"))
    p = "spec.template.packs"
    assert {
        ("mapped", "packs_section", "spec.template"),
        ("approximated", "name_changed", "metadata.name"),
        ("mapped", "profile_type", "spec.template.type"),
        ("approximated", "spectro_pack", f"{p}[0]"),
        ("approximated", "chart_values", f"{p}[0].values.charts.cert-manager"),
        ("unmapped", "subchart_values", f"{p}[0].values.charts.cert-manager-webhook"),
        ("unmapped", "registry_unresolved", f"{p}[0].registryUid"),
        ("mapped", "registry_matched", f"{p}[1].registryUrl"),
        ("approximated", "name_changed", f"{p}[2].name"),
        ("approximated", "chart_version_any", f"{p}[2].tag"),
        ("approximated", "registry_unresolved", f"{p}[2].registryUrl"),
        ("unmapped", "macro_unmapped", f"{p}[2].values.controller.replicaCount"),
        ("mapped", "reference_escaped", f"{p}[2].values.controller.config.literal"),
        ("approximated", "pack_manifests", f"{p}[2].manifests"),
        ("unmapped", "macro_unmapped", f"{p}[2].manifests[0].content[0].data.owner"),
        ("approximated", "infra_pack", f"{p}[3]"),
        ("unmapped", "infra_pack_values", f"{p}[3].values"),
        ("unmapped", "registry_unresolved", f"{p}[4].registryName"),
        ("approximated", "infra_pack", f"{p}[5]"),
        ("unmapped", "infra_pack_values", f"{p}[5].values"),
        ("unmapped", "invalid_yaml", f"{p}[6].values"),
        ("unmapped", "empty_manifest_pack", f"{p}[7]"),
        ("unmapped", "invalid_manifest", f"{p}[8].manifests[0].content[0]"),
        ("unmapped", "missing_field", f"{p}[8].manifests[1].content"),
        ("unmapped", "empty_manifest_pack", f"{p}[8]"),
        ("approximated", "layer_kind", f"{p}[9].layer"),
        ("unmapped", "pack_type", f"{p}[10].type"),
        ("approximated", "variable_format", "spec.variables[1].format"),
        ("unmapped", "variable_flag", "spec.variables[1].immutable"),
        ("approximated", "secret_default_dropped", "spec.variables[2].defaultValue"),
        ("unmapped", "default_wrong_type", "spec.variables[3].defaultValue"),
        ("unmapped", "duplicate_variable", "spec.variables[4]"),
        ("unmapped", "missing_field", "spec.variables[5]"),
    } <= found
    assert ("mapped", "variable", "spec.variables[4]") not in found


def test_a_referenced_variable_nobody_declared_becomes_an_optional_string() -> None:
    source = {
        "metadata": {"name": "x"},
        "spec": {
            "template": {
                "type": "add-on",
                "packs": [
                    {
                        "name": "webapp",
                        "tag": "1.0.0",
                        "type": "helm",
                        "registryName": "charts",
                        "values": "host: {{ .spectro.var.host }}\n",
                    }
                ],
            }
        },
    }
    context = Context(load_yaml=yamlio.load, registries=REGISTRIES, name="renamed")
    result = palette.import_profile(source, context)
    assert result.document["spec"]["parameters"] == [{"name": "host", "type": "string"}]
    assert result.document["metadata"]["name"] == "renamed"
    found = entries(result)
    assert ("approximated", "variable_undeclared", "spec.variables") in found
    assert ("mapped", "profile_name", "metadata.name") in found


@pytest.mark.parametrize(
    ("source", "path", "code"),
    [
        ([], "", "wrong_type"),
        ({"metadata": {"name": "x"}}, "spec", "missing_field"),
        ({"spec": {"template": {"packs": "none"}}}, "spec", "missing_field"),
    ],
)
def test_a_document_that_is_no_cluster_profile_is_refused_with_a_path(
    source: Any, path: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        palette.import_profile(source, Context(load_yaml=yamlio.load))
    assert [(i.path, i.code) for i in refused.value.issues] == [(path, code)]
