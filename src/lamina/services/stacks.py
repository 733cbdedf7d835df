"""A cluster's stack: instantiate, upgrade or remove profiles as reviewed stack drafts,
then commit the rendered stack to the cluster's GitOps repository in one commit."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from lamina.domain import effective, gitops, params, stackdiff, values
from lamina.domain.errors import Conflict, InvalidInput, Issue, LaminaError, NotFound
from lamina.domain.models import (
    Cluster,
    GitMode,
    Instantiation,
    Principal,
    Profile,
    ProfileType,
    ProfileVersion,
    Role,
    StackDraft,
)
from lamina.domain.objects import identity
from lamina.ports import Cipher, Clock, GitRepository, ManifestCodec, Store, UnitOfWork
from lamina.services.access import require
from lamina.services.clusters import ClusterService
from lamina.services.commits import Committed, Committer, TargetCheck
from lamina.services.render import ClusterFacts, Inputs, RenderService

SECRET_FORMAT = "${{lamina_secret_{name}}}"
INPUTS_KEPT = 256


@dataclass(frozen=True)
class DraftResult:
    draft: StackDraft
    profile_version: int | None
    warnings: list[Issue]
    addons_count: int
    manifests_count: int


@dataclass(frozen=True)
class StackDiff:
    objects: list[stackdiff.ObjectChange]
    parameters: list[dict[str, Any]]


@dataclass
class _Addon:
    """One instantiation as the stack will hold it, with its version read from the store."""

    spec: dict[str, Any]
    profile: Profile
    version: ProfileVersion


class StackService:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        cipher: Cipher,
        render: RenderService,
        codec: ManifestCodec,
        git: GitRepository,
        clusters: ClusterService,
        check_target: TargetCheck | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._cipher = cipher
        self._render = render
        self._codec = codec
        self._git = git
        self._clusters = clusters
        self._inputs: OrderedDict[tuple[int, int], Inputs] = OrderedDict()
        self._inputs_lock = threading.Lock()
        self.timings: dict[str, float] = {"render": 0.0, "git": 0.0, "database": 0.0}
        self._committer = Committer(
            store=store,
            clock=clock,
            git=git,
            clusters=clusters,
            timings=self.timings,
            check_target=check_target,
        )

    # -- drafts -------------------------------------------------------------------------

    def instantiate(
        self,
        principal: Principal,
        cluster_id: int,
        *,
        profile_id: int,
        version: int | None,
        parameters: dict[str, Any],
        values: dict[str, dict[str, Any]],
    ) -> DraftResult:
        """A stack draft adding profile `profile_id` (default: its current version)."""
        require(principal, Role.EDITOR)
        with self._store.unit_of_work() as uow:
            cluster = _cluster(uow, principal, cluster_id)
            profile, chosen = _version(uow, principal, profile_id, version)
            current = [_spec_of(i) for i in uow.stacks.instantiations(cluster.id)]
        running = next((a for a in current if a["profile_id"] == profile.id), None)
        if running is not None:
            raise Conflict(
                f"Cluster '{cluster.name}' already runs '{profile.name}' at version "
                f"{running['version']} (instantiation {running['instantiation_id']}); upgrade it"
            )
        bound, sealed = self._bind(chosen, parameters)
        addon = {
            "instantiation_id": None,
            "profile_id": profile.id,
            "version": chosen.version,
            "bindings": bound,
            "secrets_sealed": sealed,
            "values": values,
        }
        return self._draft(principal, cluster, [*current, addon], "instantiate", chosen.version)

    def upgrade(
        self,
        principal: Principal,
        cluster_id: int,
        instantiation_id: int,
        *,
        version: int | None,
        parameters: dict[str, Any] | None,
    ) -> DraftResult:
        """A stack draft moving one instantiation to another version with its old bindings;
        parameters new and required there must be given, removed ones are dropped."""
        require(principal, Role.EDITOR)
        with self._store.unit_of_work() as uow:
            cluster = _cluster(uow, principal, cluster_id)
            existing = _instantiation(uow, principal, cluster, instantiation_id)
            _, chosen = _version(uow, principal, existing.profile_id, version)
            current = [_spec_of(i) for i in uow.stacks.instantiations(cluster.id)]
        old = {**existing.bindings, **self._unsealed(existing.secrets_sealed)}
        declared = params.parse_parameters(_declared(chosen.spec))
        names = {p.name for p in declared}
        dropped = sorted(set(old) - names)
        supplied = {k: v for k, v in old.items() if k in names} | (parameters or {})
        bound, sealed = self._bind(chosen, supplied)
        unchanged = {
            name: existing.secrets_sealed[name]
            for name in sealed
            if name in existing.secrets_sealed and old.get(name) == supplied.get(name)
        }
        sealed |= unchanged  # same secret, same sealed text: the review shows no change
        warnings = [
            Issue(
                f"parameters.{name}",
                "parameter_dropped",
                f"'{name}' is gone in version {chosen.version}",
            )
            for name in dropped
        ]
        addons = [
            {**a, "version": chosen.version, "bindings": bound, "secrets_sealed": sealed}
            if a["instantiation_id"] == existing.id
            else a
            for a in current
        ]
        return self._draft(principal, cluster, addons, "upgrade", chosen.version, warnings)

    def uninstall(
        self, principal: Principal, cluster_id: int, instantiation_id: int
    ) -> DraftResult:
        """A stack draft removing one instantiation's objects."""
        require(principal, Role.EDITOR)
        with self._store.unit_of_work() as uow:
            cluster = _cluster(uow, principal, cluster_id)
            existing = _instantiation(uow, principal, cluster, instantiation_id)
            current = [_spec_of(i) for i in uow.stacks.instantiations(cluster.id)]
        remaining = [a for a in current if a["instantiation_id"] != existing.id]
        return self._draft(principal, cluster, remaining, "remove", None)

    def _bind(
        self, version: ProfileVersion, supplied: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        declared = params.parse_parameters(_declared(version.spec))
        bound = params.bind(declared, supplied)
        secrets = {p.name for p in declared if p.type == "secret"}
        sealed = {
            k: self._cipher.seal(str(v)) for k, v in bound.items() if k in secrets and v is not None
        }
        return {k: v for k, v in bound.items() if k not in secrets}, sealed

    def _unsealed(self, sealed: dict[str, str]) -> dict[str, str]:
        return {name: self._cipher.open(value) for name, value in sealed.items()}

    def _draft(
        self,
        principal: Principal,
        cluster: Cluster,
        addons: list[dict[str, Any]],
        action: str,
        version: int | None,
        warnings: list[Issue] | None = None,
    ) -> DraftResult:
        started = time.perf_counter()
        files, objects = self.compose(principal.org_id, cluster, addons)
        self.timings["render"] += time.perf_counter() - started
        started = time.perf_counter()
        draft = StackDraft(
            id=0,
            org_id=principal.org_id,
            cluster_id=cluster.id,
            base_revision=cluster.revision,
            action=action,
            addons=addons,
            files=files,
            objects=objects,
            warnings=[w.as_dict() for w in warnings or []],
            created_at=self._clock.now(),
        )
        with self._store.unit_of_work(write=True) as uow:
            stored = uow.stacks.create_draft(draft)
        self.timings["database"] += time.perf_counter() - started
        return DraftResult(stored, version, warnings or [], len(addons), len(objects))

    # -- composing the stack -------------------------------------------------------------

    def compose(
        self, org_id: int, cluster: Cluster, addons: list[dict[str, Any]]
    ) -> tuple[dict[str, str], dict[str, list[str]]]:
        """The cluster directory's files and the stack's objects for `addons`."""
        loaded = self._load(org_id, addons)
        _one_base_stack(loaded)
        facts = ClusterFacts(cluster.name, cluster.labels, cluster.kubernetes_version or None)
        outputs: list[gitops.LayerOutput] = []
        objects: dict[str, list[str]] = {}
        owners: dict[tuple[str, str, str], str] = {}
        issues: list[Issue] = []
        for addon in loaded:
            for output in self._render_addon(org_id, addon, facts, cluster.gitops.mode):
                issues += _claim(output, addon.profile.name, owners, objects, self._codec)
                outputs.append(output)
        if issues:
            raise InvalidInput("Two instantiations render the same object", issues=issues)
        records = [_record(a) for a in loaded]
        build = gitops.flux_tree if cluster.gitops.mode is GitMode.FLUX else gitops.rendered_tree
        kwargs: dict[str, Any] = {"root": _directory(cluster)} if build is gitops.flux_tree else {}
        files = build(
            cluster=cluster.name,
            revision=cluster.revision + 1,
            addons=records,
            layers=outputs,
            dump=self._codec.dump,
            **kwargs,
        )
        return files, objects

    def _load(self, org_id: int, addons: list[dict[str, Any]]) -> list[_Addon]:
        loaded: list[_Addon] = []
        with self._store.unit_of_work() as uow:
            for spec in addons:
                profile = uow.profiles.get(org_id, spec["profile_id"], include_public=True)
                version = uow.versions.get(spec["profile_id"], spec["version"]) if profile else None
                if profile is None or version is None:
                    raise NotFound(f"Profile {spec['profile_id']} has no version {spec['version']}")
                loaded.append(_Addon(spec, profile, version))
        return loaded

    def _render_addon(
        self, org_id: int, addon: _Addon, facts: ClusterFacts, mode: GitMode
    ) -> list[gitops.LayerOutput]:
        inputs = self._inputs_for(org_id, addon)
        supplied = {**addon.spec["bindings"], **self._unsealed(addon.spec["secrets_sealed"])}
        result = self._render.render(
            inputs, supplied, facts, addon.spec.get("values") or {}, secret_format=SECRET_FORMAT
        )
        outputs = []
        secret_name = f"lamina-{addon.profile.name}-secrets"
        for layer in result.layers:
            chart = None
            if mode is GitMode.FLUX:
                chart = self._release(inputs, addon, layer.name, result.lock)
            bodies = [item.body for item in layer.objects]
            outputs.append(
                gitops.LayerOutput(
                    name=f"{addon.profile.name}/{layer.name}",
                    namespace=layer.namespace,
                    objects=[] if chart else bodies,
                    chart=chart,
                    secret_name=secret_name if addon.spec["secrets_sealed"] else "",
                )
            )
        return outputs

    def _release(
        self, inputs: Inputs, addon: _Addon, layer: str, lock: dict[str, Any]
    ) -> gitops.ChartRelease | None:
        """What Flux needs to install a chart layer itself (None: Flux cannot reach its
        repository, e.g. a local directory; the rendered objects are written instead)."""
        entry = (lock.get("charts") or {}).get(layer)
        step = next((s for s in inputs.plan() if s.layer.name == layer), None)
        if entry is None or step is None:
            return None
        url = self._repository_url(inputs.org_id, str(entry["repository"]))
        if url is None:
            return None
        declared = params.parse_parameters(_declared(addon.version.spec))
        secrets = {p.name for p in declared if p.type == "secret"}
        values, secret_values = gitops_values(
            step.layer.values,
            (addon.spec.get("values") or {}).get(layer, {}),
            addon.spec["bindings"],
            secrets,
        )
        return gitops.ChartRelease(
            repository_url=url,
            chart=str(entry["name"]),
            version=str(entry["version"]),
            values=values,
            secret_values=secret_values,
            secret_name=f"lamina-{addon.profile.name}-secrets",
        )  # the same Secret as the layer's postBuild substitution

    def _repository_url(self, org_id: int, repository: str) -> str | None:
        if repository.startswith(("https://", "http://", "oci://")):
            return repository
        with self._store.unit_of_work() as uow:
            registry = uow.registries.get_by_name(org_id, repository)
        if registry is None or registry.kind.value == "local":
            return None
        return registry.url

    def _inputs_for(self, org_id: int, addon: _Addon) -> Inputs:
        """Inputs (and their render plan) per profile version, shared by every cluster."""
        key = (addon.profile.id, addon.version.version)
        with self._inputs_lock:
            held = self._inputs.get(key)
        if held is not None:
            return held
        with self._store.unit_of_work() as uow:
            inputs = self._render.gather(
                uow, addon.profile.org_id, addon.version.spec, addon.version.lock
            )
        with self._inputs_lock:
            self._inputs[key] = inputs
            while len(self._inputs) > INPUTS_KEPT:
                self._inputs.popitem(last=False)
        return inputs

    # -- review and commit ----------------------------------------------------------------

    def commit_or_discard(
        self, principal: Principal, cluster_id: int, draft_id: int, message: str | None = None
    ) -> Committed:
        """Commit a draft nobody reviews (deploy, rollout); a failed commit discards it
        (unless the remote cannot tell yet whether it landed: then it stays to be settled)."""
        try:
            return self.commit(principal, cluster_id, draft_id, message)
        except Exception:
            with contextlib.suppress(LaminaError):
                self._committer.discard(principal, cluster_id, draft_id)
            raise

    def get_draft(self, principal: Principal, cluster_id: int, draft_id: int) -> StackDraft:
        with self._store.unit_of_work() as uow:
            draft = uow.stacks.draft(principal.org_id, cluster_id, draft_id)
        if draft is None:
            raise NotFound(f"Stack draft {draft_id} does not exist on cluster {cluster_id}")
        return draft

    def diff(self, principal: Principal, cluster_id: int, draft_id: int) -> StackDiff:
        """Objects added, changed (unified diff) and removed against the committed stack,
        and parameter changes; secret values show as <redacted>."""
        draft = self.get_draft(principal, cluster_id, draft_id)
        with self._store.unit_of_work() as uow:
            last = uow.stacks.last_revision(cluster_id)
        before = {_key(k): (v[0], v[1]) for k, v in (last.objects if last else {}).items()}
        after = {_key(k): (v[0], v[1]) for k, v in draft.objects.items()}
        changes = stackdiff.diff_objects(before, after)
        return StackDiff(changes, _parameter_changes(last.addons if last else [], draft.addons))

    def discard(self, principal: Principal, cluster_id: int, draft_id: int) -> None:
        require(principal, Role.EDITOR)
        self._committer.discard(principal, cluster_id, draft_id)

    def commit(
        self, principal: Principal, cluster_id: int, draft_id: int, message: str | None = None
    ) -> Committed:
        """Write the draft's tree to Git in one commit, push, and record it exactly once (see
        services.commits); a draft made against an older revision is refused (409)."""
        require(principal, Role.EDITOR)
        return self._committer.commit(principal, cluster_id, draft_id, message)

    def reconcile_pending(self) -> int:
        """Settle commits interrupted by a crash; how many were settled."""
        return self._committer.reconcile_pending()


def gitops_values(
    layer_values: dict[str, Any],
    overrides: dict[str, Any],
    bindings: dict[str, Any],
    secrets: set[str],
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Chart values for Flux: references to secret parameters become `valuesFrom` entries
    (path, key); everything else is substituted with the non-secret bindings."""
    secret_paths: list[tuple[str, str]] = []

    def strip(tree: Any, path: str) -> Any:
        if isinstance(tree, dict):
            kept = {}
            for key, value in tree.items():
                inner = f"{path}.{key}" if path else str(key)
                if isinstance(value, str) and _secret_ref(value) in secrets:
                    secret_paths.append((inner, _secret_ref(value) or ""))
                    continue
                kept[key] = strip(value, inner)
            return kept
        return tree

    context = values.Context(
        params={**bindings, **{s: SECRET_FORMAT.format(name=s) for s in secrets}}
    )
    merged = effective.overlay(strip(layer_values, ""), strip(overrides, ""))
    return values.substitute(merged, context), secret_paths


def _secret_ref(text: str) -> str | None:
    """The parameter a string names when it is exactly one `${{ params.X }}` reference."""
    stripped = text.strip()
    if not (stripped.startswith("${{") and stripped.endswith("}}")) or stripped.count("${{") != 1:
        return None
    ref = values.parse_reference(stripped[3:-2])
    return ref.name if ref.valid and ref.scope == "params" else None


def _claim(
    output: gitops.LayerOutput,
    profile: str,
    owners: dict[tuple[str, str, str], str],
    objects: dict[str, list[str]],
    codec: ManifestCodec,
) -> list[Issue]:
    issues = []
    for body in output.objects:
        key = identity(body, output.namespace)
        if key in owners:
            issues.append(
                Issue(
                    output.name,
                    "duplicate_object",
                    f"{key[0]} {key[1]}/{key[2]} is rendered by '{owners[key]}' and by "
                    f"'{output.name}' (instantiations of two profiles, or of one twice)",
                )
            )
            continue
        owners[key] = output.name
        objects["/".join(key)] = [output.name, codec.dump(body)]
    if output.chart is not None:
        objects[f"HelmRelease/{output.namespace}/{output.name.replace('/', '-')}"] = [
            output.name,
            codec.dump(
                {
                    "chart": output.chart.chart,
                    "version": output.chart.version,
                    "values": output.chart.values,
                }
            ),
        ]
    return issues


def _one_base_stack(loaded: list[_Addon]) -> None:
    bases = [
        a.profile.name for a in loaded if a.profile.type in (ProfileType.INFRA, ProfileType.FULL)
    ]
    if len(bases) > 1:
        raise InvalidInput(
            "One infra or full profile per cluster",
            issues=[
                Issue(
                    "profile_id",
                    "second_base_stack",
                    f"A cluster holds one infra or full profile; it would hold {', '.join(bases)}",
                )
            ],
        )


def _record(addon: _Addon) -> gitops.AddonRecord:
    return gitops.AddonRecord(
        profile=addon.profile.name,
        profile_id=addon.profile.id,
        version=addon.version.version,
        instantiation_id=addon.spec.get("instantiation_id") or 0,
        bindings=dict(addon.spec["bindings"]),
        secrets=sorted(addon.spec["secrets_sealed"]),
    )


def _spec_of(instantiation: Instantiation) -> dict[str, Any]:
    return {
        "instantiation_id": instantiation.id,
        "profile_id": instantiation.profile_id,
        "version": instantiation.version,
        "bindings": instantiation.bindings,
        "secrets_sealed": instantiation.secrets_sealed,
        "values": instantiation.values,
    }


def _parameter_changes(
    before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Binding changes per instantiation (new ones from nothing, removed ones to nothing);
    secret values only ever show as <redacted>."""
    old = {a["instantiation_id"]: a for a in before if a.get("instantiation_id")}
    seen: set[int] = set()
    changes: list[dict[str, Any]] = []
    for addon in after:
        previous = old.get(addon.get("instantiation_id") or 0, {})
        seen.add(addon.get("instantiation_id") or 0)
        changes += _binding_changes(addon["profile_id"], previous, addon)
    for key, removed in old.items():
        if key not in seen:
            changes += _binding_changes(removed["profile_id"], removed, {})
    return changes


def _binding_changes(
    profile_id: int, before: dict[str, Any], after: dict[str, Any]
) -> list[dict[str, Any]]:
    changes = []
    plain_before, plain_after = before.get("bindings", {}), after.get("bindings", {})
    for name in sorted(set(plain_before) | set(plain_after)):
        if plain_before.get(name) != plain_after.get(name):
            changes.append(
                {
                    "profile_id": profile_id,
                    "name": name,
                    "from": plain_before.get(name),
                    "to": plain_after.get(name),
                }
            )
    sealed_before, sealed_after = before.get("secrets_sealed", {}), after.get("secrets_sealed", {})
    for name in sorted(set(sealed_before) | set(sealed_after)):
        if sealed_before.get(name) != sealed_after.get(name):
            changes.append(
                {
                    "profile_id": profile_id,
                    "name": name,
                    "from": "<redacted>" if name in sealed_before else None,
                    "to": "<redacted>" if name in sealed_after else None,
                }
            )
    return changes


def _key(text: str) -> tuple[str, str, str]:
    kind, namespace, name = text.split("/", 2)
    return kind, namespace, name


def _directory(cluster: Cluster) -> str:
    return f"{cluster.gitops.path}/{cluster.name}".strip("/")


def _declared(spec: dict[str, Any]) -> list[Any]:
    declared = spec.get("parameters")
    return declared if isinstance(declared, list) else []


def _cluster(uow: UnitOfWork, principal: Principal, cluster_id: int) -> Cluster:
    cluster = uow.clusters.get(principal.org_id, cluster_id)
    if cluster is None:
        raise NotFound(f"Cluster {cluster_id} does not exist")
    return cluster


def _instantiation(
    uow: UnitOfWork, principal: Principal, cluster: Cluster, instantiation_id: int
) -> Instantiation:
    found = uow.stacks.instantiation(principal.org_id, instantiation_id)
    if found is None or found.cluster_id != cluster.id:
        raise NotFound(f"Instantiation {instantiation_id} is not on cluster {cluster.name}")
    return found


def _version(
    uow: UnitOfWork, principal: Principal, profile_id: int, number: int | None
) -> tuple[Profile, ProfileVersion]:
    profile = uow.profiles.get(principal.org_id, profile_id, include_public=True)
    if profile is None:
        raise NotFound(f"Profile {profile_id} does not exist")
    chosen = number or profile.current_version
    if chosen is None:
        raise Conflict(f"Profile '{profile.name}' has no version on the stable channel; name one")
    version = uow.versions.get(profile.id, chosen)
    if version is None:
        raise NotFound(f"Profile '{profile.name}' has no version {chosen}")
    deprecation = uow.stacks.deprecations(profile.id).get(chosen)
    if deprecation is not None:
        raise Conflict(
            f"Version {chosen} of '{profile.name}' is deprecated: {deprecation['reason']}"
        )
    return profile, version
