"""`lamina render`: preview a draft or a published version for one cluster, or one chart
layer's effective values."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lamina.adapters import yamlio
from lamina.cli import output, parameters
from lamina.cli.client import EXIT_USAGE, ApiClient, CliError
from lamina.cli.common import (
    DEFAULT_SERVER,
    DRAFTS,
    PROFILES,
    OutputOption,
    ServerOption,
    TokenOption,
    connect,
    load_document,
    pairs,
    read_source,
    segment,
)
from lamina.cli.output import OutputFormat
from lamina.cli.parameters import ParamFileOption

PairsOption = list[str] | None


def render(
    draft: Annotated[
        str | None,
        typer.Option(
            "--draft", metavar="DRAFT", help="Name or id of a draft to render (see `drafts list`)."
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", metavar="PROFILE", help="Name or id of a profile whose version to render."
        ),
    ] = None,
    version: Annotated[
        int | None,
        typer.Option(
            "--version", min=1, help="Version of --profile (default: its latest version)."
        ),
    ] = None,
    params: Annotated[
        PairsOption,
        typer.Option(
            "--param",
            "-p",
            metavar="NAME=VALUE",
            help="A parameter value (repeatable); text is converted to the parameter's type; "
            "NAME=@FILE reads the value from FILE.",
        ),
    ] = None,
    param_file: ParamFileOption = None,
    cluster: Annotated[
        str | None, typer.Option("--cluster", help="Name of the target cluster.")
    ] = None,
    labels: Annotated[
        PairsOption,
        typer.Option(
            "--label", metavar="KEY=VALUE", help="A label of the target cluster (repeatable)."
        ),
    ] = None,
    kube_version: Annotated[
        str | None,
        typer.Option(
            "--kube-version", help="Kubernetes version to render for (default: the profile's)."
        ),
    ] = None,
    values_file: Annotated[
        str | None,
        typer.Option(
            "--values",
            metavar="FILE",
            help="YAML mapping of chart layer name to value overrides; '-' reads stdin.",
        ),
    ] = None,
    layer: Annotated[
        str | None,
        typer.Option("--layer", help="The chart layer of --effective-values."),
    ] = None,
    effective_values: Annotated[
        bool,
        typer.Option(
            "--effective-values",
            help="Print the --layer's effective values (chart defaults + profile values) instead.",
        ),
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Render a draft (--draft) or a published version (--profile) for one cluster.

    The table lists each layer with its object count and files; -o yaml prints the
    rendered manifests as one multi-document stream (for `kubectl apply -f -`); -o json
    prints the API's answer. Secret parameters always render as "<redacted>".
    """
    _check_target(draft, profile, version)
    supplied = parameters.supplied(params, param_file)
    if effective_values:
        chart_layer = _check_effective(layer, cluster, labels, kube_version, values_file)
        with connect(server, token) as api:
            target = _target(api, draft, profile, version)
            # Parameters go in the body: a secret in a URL would reach access logs.
            data = parameters.sending(
                supplied,
                lambda given: api.post(
                    f"{target}/effective-values",
                    request_body(given, None, {}, None),
                    params={"layer": chart_layer},
                ),
            )
        output.emit(data, fmt, _render_effective)
        return
    if layer is not None:
        raise CliError("--layer goes with --effective-values", exit_code=EXIT_USAGE)
    facts = (cluster, pairs(labels or [], "--label"), kube_version)
    extra = {} if values_file is None else {"values": overrides(values_file)}
    with connect(server, token) as api:
        path = f"{_target(api, draft, profile, version)}/render"
        if fmt is OutputFormat.YAML:
            text: bytes = parameters.sending(
                supplied,
                lambda given: api.post_bytes(
                    path, request_body(given, *facts) | extra, {"format": "yaml"}
                ),
            )
            typer.echo(text.decode(), nl=False)
            return
        data = parameters.sending(
            supplied, lambda given: api.post(path, request_body(given, *facts) | extra)
        )
    output.emit(data, fmt, _render_layers)


def _check_target(draft: str | None, profile: str | None, version: int | None) -> None:
    if (draft is None) == (profile is None):
        raise CliError(
            "Give either --draft DRAFT or --profile PROFILE",
            hint="For example: lamina render --profile web-platform -p domain=example.org",
            exit_code=EXIT_USAGE,
        )
    if draft is not None and version is not None:
        raise CliError("--version goes with --profile, not --draft", exit_code=EXIT_USAGE)


def _check_effective(
    layer: str | None,
    cluster: str | None,
    labels: list[str] | None,
    kube_version: str | None,
    values_file: str | None,
) -> str:
    """The --layer of --effective-values, refusing the options that do not apply to it."""
    if layer is None:
        raise CliError("--effective-values needs --layer NAME", exit_code=EXIT_USAGE)
    given = [
        option
        for option, value in (
            ("--cluster", cluster),
            ("--label", labels),
            ("--kube-version", kube_version),
            ("--values", values_file),
        )
        if value
    ]
    if given:
        raise CliError(
            f"{', '.join(given)} cannot be combined with --effective-values",
            "the API computes effective values from the chart and the profile only",
            exit_code=EXIT_USAGE,
        )
    return layer


def _target(api: ApiClient, draft: str | None, profile: str | None, version: int | None) -> str:
    """The API path of the draft, or of the profile's version (default: its latest)."""
    if draft is not None:
        return f"{DRAFTS}/{segment(draft)}"
    assert profile is not None
    if version is None:
        version = int(api.get(f"{PROFILES}/{segment(profile)}")["profile"]["latest_version"])
        output.step(f"using version {version} of profile {profile} (its latest)")
    return f"{PROFILES}/{segment(profile)}/versions/{version}"


def request_body(
    supplied: dict[str, Any],
    cluster: str | None,
    labels: dict[str, str],
    kube_version: str | None,
) -> dict[str, Any]:
    """The render request: parameters as text (the API converts them to their types)."""
    body: dict[str, Any] = {"parameters": parameters.as_list(supplied)}
    if cluster is not None or labels or kube_version is not None:
        facts: dict[str, Any] = {"name": cluster or "", "labels": labels}
        if kube_version is not None:
            facts["kubernetes_version"] = kube_version
        body["cluster"] = facts
    return body


def overrides(source: str) -> dict[str, Any]:
    """The --values file: a mapping of chart layer name to a mapping of value overrides."""
    doc = load_document(read_source(source), source)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        issue = {"path": "", "code": "wrong_type", "message": "Expected a mapping of layer names"}
        raise CliError(f"{source} is not a values file", errors=[issue])
    wrong = [
        {"path": str(name), "code": "wrong_type", "message": "Expected a mapping of values"}
        for name, layer_values in doc.items()
        if not isinstance(layer_values, dict)
    ]
    if wrong:
        raise CliError(f"{source} is not a values file", errors=wrong)
    return {str(name): layer_values for name, layer_values in doc.items()}


def _render_layers(data: dict[str, Any]) -> None:
    layers = data["layers"]
    objects = sum(layer["objects_count"] for layer in layers)
    kube = data["kubernetes_version"]
    target = f"Kubernetes {kube}" if kube else "the default Kubernetes version"
    output.message(
        f"rendered {len(layers)} layer{'s' if len(layers) != 1 else ''}, "
        f"{objects} object{'s' if objects != 1 else ''} for {target}"
    )
    rows = [(layer["name"], layer["objects_count"], sorted(layer["files"])) for layer in layers]
    output.show(output.table(("LAYER", "OBJECTS", "FILES"), rows, wrap=("FILES",)))
    if data["warnings"]:
        output.show(output.issues_table("Warnings", data["warnings"]))


def _render_effective(data: dict[str, Any]) -> None:
    typer.echo(yamlio.dump(data["values"]), nl=False)
    chart = data["chart"]
    source = f"{chart.get('name')} {chart.get('version')} from {chart.get('repository')}"
    title = f"Layer {data['layer']} (chart {source}): keys set above the chart's defaults"
    if not data["origins"]:
        output.message(f"\nLayer {data['layer']} uses the chart's defaults ({source}).")
        return
    rows = [(o["path"], o["level"], output.compact(o["value"])) for o in data["origins"]]
    output.show(
        "", output.table(("PATH", "LEVEL", "VALUE"), rows, title=title, wrap=("PATH", "VALUE"))
    )
