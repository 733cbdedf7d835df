"""Composing a cluster's stack: every instantiation rendered (through the shared render
service, so clusters share cached layers), its secrets sealed for the cluster, the scope of
every object decided, and the layers laid out as the cluster's Git tree."""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from lamina.domain import gitops, hooks, scope
from lamina.domain.caches import ByteLru
from lamina.domain.errors import InvalidInput, Issue, NotFound
from lamina.domain.models import Cluster, GitMode, Profile, ProfileType, ProfileVersion
from lamina.domain.objects import Namespaced, RenderedLayer, identity
from lamina.ports import Cipher, ManifestCodec, ScopeLookup, SecretEncryptor, Store
from lamina.services.delivery.secrets import SecretSealer
from lamina.services.render import ClusterFacts, Inputs, RenderService, release_name

SECRET_FORMAT = gitops.SECRET_PLACEHOLDER
INPUTS_KEPT = 256
NEWEST = "1.99.0"  # the newest schemas decide scope for a cluster without a Kubernetes version


@dataclass
class Addon:
    """One instantiation as the stack will hold it, with its version read from the store."""

    spec: dict[str, Any]
    profile: Profile
    version: ProfileVersion


class Composer:
    def __init__(
        self,
        *,
        store: Store,
        cipher: Cipher,
        render: RenderService,
        codec: ManifestCodec,
        encryptor: SecretEncryptor | None = None,
        scopes: ScopeLookup | None = None,
    ) -> None:
        self._store = store
        self._cipher = cipher
        self._render = render
        self._codec = codec
        self._scopes = scopes
        self._secrets = SecretSealer(store=store, cipher=cipher, codec=codec, encryptor=encryptor)
        self._inputs: OrderedDict[tuple[int, int], Inputs] = OrderedDict()
        self._texts = ObjectTexts(codec.dump)
        self._inputs_lock = threading.Lock()

    def unsealed(self, sealed: dict[str, str]) -> dict[str, str]:
        return {name: self._cipher.open(value) for name, value in sealed.items()}

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
            rendered = sealing.layers(rendered, self.unsealed(addon.spec["secrets_sealed"]))
            stack += [(addon.profile.name, output) for output in rendered]
        namespaced = self._namespaced(cluster, [output for _, output in stack])
        for profile, output in stack:
            issues += _claim(output, profile, owners, objects, self._texts, namespaced)
            warnings += _hooks_left_out(output)
            outputs.append(output)
        if issues:
            raise InvalidInput("Two instantiations render the same object", issues=issues)
        records = [_record(a) for a in loaded]
        if cluster.gitops.mode is GitMode.FLUX:
            files = gitops.flux_tree(
                cluster=cluster.name,
                addons=records,
                layers=outputs,
                dump=self._texts.dump,
                namespaced=namespaced,
                root=_directory(cluster),
                committed=self._texts.committed,
            )
        else:
            # Objects placed once (the same placed object for the same rendered one), so
            # their text is made once across clusters sharing a cached render.
            placed = [
                output
                if output.sealed
                else replace(
                    output,
                    objects=[
                        self._texts.place(o, output.namespace or "default", namespaced)
                        for o in output.objects
                    ],
                )
                for output in outputs
            ]
            files = gitops.rendered_tree(
                cluster=cluster.name,
                addons=records,
                layers=placed,
                dump=self._texts.dump,
                namespaced=namespaced,
                committed=self._texts.committed,
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

    def _load(self, org_id: int, addons: list[dict[str, Any]]) -> list[Addon]:
        loaded: list[Addon] = []
        with self._store.unit_of_work() as uow:
            for spec in addons:
                profile = uow.profiles.get(org_id, spec["profile_id"], include_public=True)
                version = uow.versions.get(spec["profile_id"], spec["version"]) if profile else None
                if profile is None or version is None:
                    raise NotFound(f"Profile {spec['profile_id']} has no version {spec['version']}")
                loaded.append(Addon(spec, profile, version))
        return loaded

    def _render_addon(
        self,
        org_id: int,
        addon: Addon,
        facts: ClusterFacts,
        mode: GitMode,
        warnings: list[Issue],
    ) -> list[gitops.LayerOutput]:
        inputs = self._inputs_for(org_id, addon)
        supplied = {**addon.spec["bindings"], **self.unsealed(addon.spec["secrets_sealed"])}
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
        addon: Addon,
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

    def _inputs_for(self, org_id: int, addon: Addon) -> Inputs:
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


class ObjectTexts:
    """The YAML text of objects, made once per distinct object.

    Objects of a cached render are the same objects for every cluster that shares it, so
    their text is too: it is found by the object's identity, with the object kept beside
    its text, so a key cannot name another object while it is remembered (rendered objects
    are never changed once made). An object made anew with the content of one seen before
    (a layer rendered again for another cluster, a hook marked for replacement, a
    Namespace) is found by a digest of its pickled content: equal pickles are equal values
    of equal types with keys in the same order, which dump to the same text. Both are
    bounded in bytes, least recently used first."""

    def __init__(self, dump: Callable[[Any], str], *, max_bytes: int = 64 * 2**20) -> None:
        self._dump = dump
        self._texts: ByteLru[int, tuple[Any, str]] = ByteLru(
            max_bytes, lambda held: 2 * len(held[1]) + 200
        )
        self._by_content: ByteLru[bytes, str] = ByteLru(
            max_bytes // 2, lambda text: 2 * len(text) + 120
        )
        self._placed: ByteLru[tuple[int, str, bool], tuple[Any, dict[str, Any]]] = ByteLru(
            max_bytes // 4, lambda _: 400
        )
        self._committed: ByteLru[tuple[int, ...], tuple[tuple[Any, ...], list[Any]]] = ByteLru(
            max_bytes // 8, lambda held: 150 * len(held[0]) + 200
        )

    def dump(self, value: Any) -> str:
        key = id(value)
        held = self._texts.get(key)
        if held is not None and held[0] is value:
            return held[1]
        digest = _content_digest(value)
        text = self._by_content.get(digest) if digest is not None else None
        if text is None:
            text = self._dump(value)
            if digest is not None:
                self._by_content.put(digest, text)
        self._texts.put(key, (value, text))
        return text

    def committed(self, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`hooks.committed`, the same committed objects (hooks marked for replacement
        included) for the same objects, so their text is found by identity."""
        key = tuple(map(id, objects))
        held = self._committed.get(key)
        if held is not None and all(a is b for a, b in zip(held[0], objects, strict=True)):
            return list(held[1])
        made = hooks.committed(objects)
        self._committed.put(key, (tuple(objects), made))
        return list(made)

    def place(self, obj: dict[str, Any], namespace: str, namespaced: Namespaced) -> dict[str, Any]:
        """`gitops.with_namespace`, the same placed object for the same object."""
        scoped = namespaced(obj)
        key = (id(obj), namespace, scoped)
        held = self._placed.get(key)
        if held is not None and held[0] is obj:
            return held[1]
        placed = gitops.with_namespace(obj, namespace, lambda _: scoped)
        self._placed.put(key, (obj, placed))
        return placed


def _content_digest(value: Any) -> bytes | None:
    """A digest of `value`'s content, or None for a value that cannot be pickled."""
    try:
        pickled = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, RecursionError):
        return None
    return hashlib.blake2b(pickled, digest_size=16).digest()


def _claim(
    output: gitops.LayerOutput,
    profile: str,
    owners: dict[tuple[str, str, str], str],
    objects: dict[str, list[str]],
    texts: ObjectTexts,
    namespaced: Namespaced,
) -> list[Issue]:
    """Record each object the layer commits (`hooks.committed`) as the layer's, or an issue
    when another layer already renders it."""
    issues = []
    dump = texts.dump
    for body in texts.committed(output.objects):
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
        objects["/".join(key)] = [output.name, dump(body)]
    if output.chart is not None:
        objects[f"HelmRelease/{output.namespace}/{output.name.replace('/', '-')}"] = [
            output.name,
            dump(
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


def _one_base_stack(loaded: list[Addon]) -> None:
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


def _record(addon: Addon) -> gitops.AddonRecord:
    return gitops.AddonRecord(
        profile=addon.profile.name,
        profile_id=addon.profile.id,
        version=addon.version.version,
        bindings=dict(addon.spec["bindings"]),
        secrets=sorted(addon.spec["secrets_sealed"]),
    )


def _directory(cluster: Cluster) -> str:
    return f"{cluster.gitops.path}/{cluster.name}".strip("/")


def declared_parameters(spec: dict[str, Any]) -> list[Any]:
    declared = spec.get("parameters")
    return declared if isinstance(declared, list) else []
