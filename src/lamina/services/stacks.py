"""A cluster's stack: instantiate, upgrade or remove profiles as reviewed stack drafts,
then commit the rendered stack to the cluster's GitOps repository in one commit."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from lamina.domain import gitops, hooks, params, scope, stackdiff
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
from lamina.domain.objects import Namespaced, RenderedLayer, identity
from lamina.ports import (
    Cipher,
    Clock,
    GitRepository,
    ManifestCodec,
    ScopeLookup,
    SecretEncryptor,
    Store,
    UnitOfWork,
)
from lamina.services.access import require
from lamina.services.clusters import ClusterService
from lamina.services.commits import Committed, Committer, TargetCheck
from lamina.services.render import ClusterFacts, Inputs, RenderService, release_name
from lamina.services.secrets import SecretSealer

SECRET_FORMAT = gitops.SECRET_PLACEHOLDER
INPUTS_KEPT = 256
NEWEST = "1.99.0"  # the newest schemas decide scope for a cluster without a Kubernetes version


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
        encryptor: SecretEncryptor | None = None,
        scopes: ScopeLookup | None = None,
    ) -> None:
        self._store = store
        self._scopes = scopes
        self._secrets = SecretSealer(store=store, cipher=cipher, codec=codec, encryptor=encryptor)
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
        warnings = list(warnings or [])
        files, objects = self.compose(principal.org_id, cluster, addons, warnings)
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
        self,
        org_id: int,
        cluster: Cluster,
        addons: list[dict[str, Any]],
        warnings: list[Issue] | None = None,
    ) -> tuple[dict[str, str], dict[str, list[str]]]:
        """The cluster directory's files and the stack's objects for `addons`; what the
        cluster's delivery cannot do as asked is appended to `warnings`."""
        warnings = [] if warnings is None else warnings
        loaded = self._load(org_id, addons)
        _one_base_stack(loaded)
        facts = ClusterFacts(cluster.name, cluster.labels, cluster.kubernetes_version or None)
        outputs: list[gitops.LayerOutput] = []
        objects: dict[str, list[str]] = {}
        owners: dict[tuple[str, str, str], str] = {}
        issues: list[Issue] = []
        sealing = self._secrets.for_cluster(cluster, warnings)
        stack: list[tuple[str, gitops.LayerOutput]] = []
        for addon in loaded:
            rendered = self._render_addon(org_id, addon, facts, cluster.gitops.mode, warnings)
            rendered = sealing.layers(rendered, self._unsealed(addon.spec["secrets_sealed"]))
            stack += [(addon.profile.name, output) for output in rendered]
        namespaced = self._namespaced(cluster, [output for _, output in stack])
        for profile, output in stack:
            issues += _claim(output, profile, owners, objects, self._codec, namespaced)
            warnings += _hooks_left_out(output)
            outputs.append(output)
        if issues:
            raise InvalidInput("Two instantiations render the same object", issues=issues)
        records = [_record(a) for a in loaded]
        build = gitops.flux_tree if cluster.gitops.mode is GitMode.FLUX else gitops.rendered_tree
        kwargs: dict[str, Any] = {"root": _directory(cluster)} if build is gitops.flux_tree else {}
        files = build(
            cluster=cluster.name,
            addons=records,
            layers=outputs,
            dump=self._codec.dump,
            namespaced=namespaced,
            **kwargs,
        )
        return files, objects

    def _namespaced(self, cluster: Cluster, outputs: list[gitops.LayerOutput]) -> Namespaced:
        """The scope decision for the stack: its CRDs, then the cluster version's schemas."""
        lookup = None
        if self._scopes is not None:
            scopes, kube = self._scopes, cluster.kubernetes_version or NEWEST

            def lookup(api_version: str, kind: str) -> bool | None:
                return scopes.namespaced(api_version, kind, kube_version=kube)

        return scope.stack_scope((o for out in outputs for o in out.objects), lookup)

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
        self,
        org_id: int,
        addon: _Addon,
        facts: ClusterFacts,
        mode: GitMode,
        warnings: list[Issue],
    ) -> list[gitops.LayerOutput]:
        inputs = self._inputs_for(org_id, addon)
        supplied = {**addon.spec["bindings"], **self._unsealed(addon.spec["secrets_sealed"])}
        result = self._render.render(
            inputs,
            supplied,
            facts,
            addon.spec.get("values") or {},
            secret_format=SECRET_FORMAT,
            persist=True,
        )
        outputs = []
        secret_name = f"lamina-{addon.profile.name}-secrets"
        creates = {step.layer.name: step.layer.create_namespace for step in inputs.plan()}
        for layer in result.layers:
            chart = None
            if mode is GitMode.FLUX and layer.values is not None:
                chart = self._release(inputs, addon, layer, result.lock, warnings)
            bodies = [item.body for item in layer.objects]
            outputs.append(
                gitops.LayerOutput(
                    name=f"{addon.profile.name}/{layer.name}",
                    namespace=layer.namespace,
                    objects=[] if chart else bodies,
                    chart=chart,
                    secret_name=secret_name if addon.spec["secrets_sealed"] else "",
                    create_namespace=creates.get(layer.name, True),
                )
            )
        return outputs

    def _release(
        self,
        inputs: Inputs,
        addon: _Addon,
        layer: RenderedLayer,
        lock: dict[str, Any],
        warnings: list[Issue],
    ) -> gitops.ChartRelease | None:
        """What Flux needs to install a chart layer itself, with the very values rendering
        gave the chart (None, with a warning: Flux cannot fetch the chart, e.g. from a local
        directory, so the rendered objects are written instead)."""
        entry = (lock.get("charts") or {}).get(layer.name)
        if entry is None or layer.values is None:
            return None
        where = f"{addon.profile.name}/{layer.name}"
        url = self._repository_url(inputs.org_id, str(entry["repository"]))
        if url is None:
            warnings.append(
                Issue(
                    where,
                    "flux_cannot_fetch",
                    f"Flux cannot fetch chart '{entry['name']}' from registry "
                    f"'{entry['repository']}' (a local directory): its rendered objects are "
                    "committed instead of a HelmRelease",
                )
            )
            return None
        values, secret_values, embedded = gitops.split_secret_values(layer.values)
        if embedded:
            raise InvalidInput(
                "Flux can only pass whole secret values to a chart",
                issues=[
                    Issue(
                        f"{where}.values.{path}",
                        "secret_inside_text",
                        f"Secret parameter '{name}' is part of a longer string; Flux's "
                        "valuesFrom sets whole values: make this value exactly "
                        f"'${{{{ params.{name} }}}}', or deliver the cluster in rendered mode",
                    )
                    for path, name in embedded
                ],
            )
        return gitops.ChartRelease(
            repository_url=url,
            chart=str(entry["name"]),
            version=str(entry["version"]),
            values=values,
            secret_values=secret_values,
            secret_name=f"lamina-{addon.profile.name}-secrets",
            release=release_name(layer.name),
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
        changes = stackdiff.diff_objects(before, after, self._hook_of)
        return StackDiff(changes, _parameter_changes(last.addons if last else [], draft.addons))

    def _hook_of(self, text: str) -> list[str]:
        bodies = self._codec.load_all(text, "")
        return hooks.hook_types(bodies[0]) if bodies and isinstance(bodies[0], dict) else []

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


def _claim(
    output: gitops.LayerOutput,
    profile: str,
    owners: dict[tuple[str, str, str], str],
    objects: dict[str, list[str]],
    codec: ManifestCodec,
    namespaced: Namespaced,
) -> list[Issue]:
    """Record each object the layer commits (`hooks.committed`) as the layer's, or an issue
    when another layer already renders it."""
    issues = []
    for body in hooks.committed(output.objects):
        key = identity(body, output.namespace, namespaced)
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


def _hooks_left_out(output: gitops.LayerOutput) -> list[Issue]:
    """A warning for each delete or rollback hook the tree leaves out (test hooks are left
    out silently: no GitOps engine runs them)."""
    return [
        Issue(
            output.name,
            "hook_not_committed",
            f"{obj.get('kind')} {(obj.get('metadata') or {}).get('name')} is a Helm "
            f"{','.join(types)} hook, which GitOps never runs: it is not committed",
        )
        for obj, types in hooks.dropped(output.objects)
        if not hooks.TESTS.intersection(types)
    ]


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
