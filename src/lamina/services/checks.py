"""Deep validation of a profile: its charts exist and fit, it renders, its objects are valid.

Runs after the structural rules pass, on validate and on publish, and yields the lock that
pins every chart of the version to an exact version and digest.
"""

from __future__ import annotations

from typing import Any

from lamina.domain import scope, semver, validation
from lamina.domain.errors import InvalidInput, Issue, RegistryUnavailable
from lamina.domain.objects import duplicates, identity, shown
from lamina.ports import ObjectValidator, Store
from lamina.services import publishing
from lamina.services.charts import ChartLibrary
from lamina.services.render import ClusterFacts, RenderService, StackRender, kubernetes_version_of

# Schemas used when a profile names no Kubernetes version.
NEWEST = "1.99.0"  # maps to the newest schemas the validator ships


class DocumentChecker:
    def __init__(
        self,
        *,
        store: Store,
        charts: ChartLibrary,
        render: RenderService,
        objects: ObjectValidator | None,
    ) -> None:
        self._store = store
        self._charts = charts
        self._render = render
        self._objects = objects

    def check(self, org_id: int, doc: Any) -> tuple[validation.Report, dict[str, Any]]:
        """The full report for `doc`, and its lock when it is valid."""
        with self._store.unit_of_work() as uow:
            report = publishing.validate(uow, org_id, doc)
            if not report.valid:
                return report, {}
            spec = doc["spec"]
            inputs = self._render.gather(uow, org_id, spec, None)
        kube = kubernetes_version_of(spec)
        errors = self._charts_fit(org_id, spec, kube)
        if errors:
            return validation.Report(errors=errors, warnings=report.warnings), {}
        try:
            result = self._render.render(
                inputs, {}, ClusterFacts(kubernetes_version=kube), placeholders=True
            )
        except InvalidInput as error:
            return validation.Report(errors=error.issues, warnings=report.warnings), {}
        problems, unknown = self._object_issues(result, kube)
        return validation.Report(errors=problems, warnings=report.warnings + unknown), result.lock

    def _charts_fit(self, org_id: int, spec: dict[str, Any], kube: str | None) -> list[Issue]:
        """Every direct chart layer resolves, loads, and accepts the Kubernetes version."""
        issues: list[Issue] = []
        for index, layer in enumerate(spec.get("layers") or []):
            if not isinstance(layer, dict) or not isinstance(layer.get("chart"), dict):
                continue
            path = f"spec.layers[{index}].chart"
            try:
                with self._store.unit_of_work() as uow:
                    resolved = self._charts.resolve(uow, org_id, layer["chart"], path=path)
                chart, _ = self._charts.load(resolved)
            except RegistryUnavailable as error:
                issues.append(Issue(f"{path}.repository", "registry_unavailable", error.detail))
                continue
            except InvalidInput as error:
                issues += [Issue(i.path or path, i.code, i.message) for i in error.issues]
                continue
            issues += _kube_fit(chart.metadata, kube, path, layer["name"])
        return issues

    def _object_issues(
        self, result: StackRender, kube: str | None
    ) -> tuple[list[Issue], list[Issue]]:
        errors = duplicates(result.layers)
        unknown: list[Issue] = []
        if self._objects is None:
            return errors, unknown
        bodies = [item.body for layer in result.layers for item in layer.objects]
        crds = [body for body in bodies if scope.is_crd(body)]
        for layer in result.layers:
            for item in layer.objects:
                problems, known = self._objects.validate(item.body, kube_version=kube or NEWEST)
                what = f"{shown(identity(item.body, layer.namespace))} ({item.source})"
                custom = None if known else _custom_schema(crds, item.body)
                if custom is not None:
                    problems, known = self._objects.validate_custom(item.body, custom), True
                if not known:
                    unknown.append(
                        Issue(layer.name, "unknown_kind", f"{what}: no schema known; not checked")
                    )
                errors += [Issue(layer.name, "invalid_object", f"{what}: {p}") for p in problems]
        return errors, unknown


def _custom_schema(crds: list[dict[str, Any]], obj: dict[str, Any]) -> dict[str, Any] | None:
    """The schema a CRD of the stack gives the object's kind and apiVersion, if any."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return None
    return scope.crd_schema(crds, api_version, kind)


def _kube_fit(metadata: dict[str, Any], kube: str | None, path: str, layer: str) -> list[Issue]:
    wanted = str(metadata.get("kubeVersion") or "")
    if not wanted or not kube:
        return []
    try:
        fits = semver.parse_constraint(wanted).allows(
            semver.parse_version(kube), include_prerelease=True
        )
    except ValueError:
        return []
    if fits:
        return []
    message = (
        f"layer '{layer}': chart {metadata.get('name')} {metadata.get('version')} requires "
        f"Kubernetes {wanted}; the profile's k8s layer runs {kube}"
    )
    return [Issue(path, "kube_version_incompatible", message)]
