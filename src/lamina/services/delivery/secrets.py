"""Secret parameter values on their way to a cluster's Git repository.

For a cluster with an age key (`gitops.age_recipient`), every Kubernetes `Secret` a layer
writes gets the real secret values back and is SOPS-encrypted for that key (only `data` and
`stringData`); a chart layer Flux installs gets its secret values from an encrypted Secret
written next to its HelmRelease. Objects of other kinds keep their `${lamina_secret_NAME}`
placeholders, with a warning. Without an age key every value stays a placeholder (only
Flux's postBuild substitution fills them), with a warning.

Encryption is random, so a Secret is encrypted again only when its plain content (or the
key) changed: its keyed digest sits in an annotation, and the committed stack's Secret is
kept when the digest matches. That keeps an unchanged stack committing nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from lamina.domain import gitops, secrets
from lamina.domain.errors import Issue, ToolMissing
from lamina.domain.models import Cluster
from lamina.domain.objects import identity
from lamina.ports import Cipher, ManifestCodec, SecretEncryptor, Store


class SecretSealer:
    def __init__(
        self,
        *,
        store: Store,
        cipher: Cipher,
        codec: ManifestCodec,
        encryptor: SecretEncryptor | None,
    ) -> None:
        self._store = store
        self._cipher = cipher
        self._codec = codec
        self._encryptor = encryptor

    def for_cluster(self, cluster: Cluster, warnings: list[Issue]) -> ClusterSealing:
        """How one composition of `cluster`'s stack treats secret values; what it cannot
        deliver encrypted is appended to `warnings`."""
        return ClusterSealing(self, cluster, warnings)

    def committed(self, cluster_id: int) -> dict[str, str]:
        """{"kind/namespace/name": YAML text} of the cluster's committed stack."""
        with self._store.unit_of_work() as uow:
            last = uow.stacks.last_revision(cluster_id)
        return {key: entry[1] for key, entry in (last.objects if last else {}).items()}

    def encrypted(self, plain: dict[str, Any], recipient: str, previous: str | None) -> Any:
        """`plain` (a Secret) encrypted for `recipient`, or the previous encryption when it
        holds the same plain content for the same key."""
        digest = self._cipher.digest(f"{recipient}\n{self._codec.dump(plain)}")
        if previous is not None:
            before = self._codec.load_all(previous, "committed Secret")
            if before and secrets.annotation(before[0], secrets.DIGEST_ANNOTATION) == digest:
                return before[0]
        annotated = secrets.with_annotation(plain, secrets.DIGEST_ANNOTATION, digest)
        if self._encryptor is None:
            raise ToolMissing("No SOPS encryptor is configured to encrypt Secrets")
        text = self._encryptor.encrypt(self._codec.dump(annotated), recipient=recipient)
        return self._codec.load_all(text, "encrypted Secret")[0]


class ClusterSealing:
    def __init__(self, sealer: SecretSealer, cluster: Cluster, warnings: list[Issue]) -> None:
        self._sealer = sealer
        self._cluster = cluster
        self._recipient = cluster.gitops.age_recipient or ""
        self._warnings = warnings
        self._committed: dict[str, str] | None = None

    def layers(
        self, outputs: list[gitops.LayerOutput], values: dict[str, str]
    ) -> list[gitops.LayerOutput]:
        """One add-on's layers as they may reach Git; `values` are its secret values."""
        if not values:
            return outputs
        if not self._recipient:
            self._warn(
                "gitops.age_recipient",
                "secrets_as_placeholders",
                f"Cluster '{self._cluster.name}' has no age key: secret values of "
                f"'{outputs[0].name.split('/')[0] if outputs else ''}' are committed as "
                "${lamina_secret_NAME} placeholders that only Flux postBuild substitution "
                "fills; set gitops.age_recipient to commit them SOPS-encrypted",
            )
            return outputs
        return [self._layer(output, values) for output in outputs]

    def _layer(self, output: gitops.LayerOutput, values: dict[str, str]) -> gitops.LayerOutput:
        namespace = output.namespace or "default"
        objects: list[dict[str, Any]] = []
        left: set[str] = set()
        sealed = False
        for obj in output.objects:
            if secrets.is_secret(obj):
                filled, unknown = secrets.fill(_placed(obj, namespace), values)
                left |= unknown
                objects.append(self._encrypted(filled, namespace))
                sealed = True
                continue
            names = secrets.placeholders(obj)
            if names:
                self._kept(output.name, obj, names)
                left |= names
            objects.append(obj)
        chart = output.chart
        if chart is not None and chart.secret_values:
            name = f"{gitops.release_name(output.name)}-secrets"
            stored = {key: values.get(key, "") for _, key in chart.secret_values}
            objects.append(self._encrypted(_secret(name, namespace, stored), namespace))
            chart = dataclasses.replace(chart, secret_name=name)
            sealed = True
        return dataclasses.replace(
            output,
            objects=objects,
            chart=chart,
            secret_name=output.secret_name if left else "",
            sealed=sealed,
        )

    def _encrypted(self, plain: dict[str, Any], namespace: str) -> Any:
        if self._committed is None:
            self._committed = self._sealer.committed(self._cluster.id)
        key = "/".join(identity(plain, namespace))
        return self._sealer.encrypted(plain, self._recipient, self._committed.get(key))

    def _kept(self, layer: str, obj: dict[str, Any], names: set[str]) -> None:
        kind, _, name = identity(obj, "")
        self._warn(
            layer,
            "secret_outside_secret",
            f"{kind} '{name}' holds secret parameter(s) {', '.join(sorted(names))} outside a "
            "Secret: committed as ${lamina_secret_NAME} placeholders (never in plain text), "
            "which only Flux postBuild substitution fills; pass secret values through a "
            "Secret instead",
        )

    def _warn(self, path: str, code: str, message: str) -> None:
        issue = Issue(path, code, message)
        if issue not in self._warnings:
            self._warnings.append(issue)


def _placed(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The Secret with its namespace written in before encryption (the encrypted file is
    never changed afterwards: SOPS's MAC covers every value)."""
    metadata = obj.get("metadata")
    metadata = dict(metadata) if isinstance(metadata, dict) else {}
    if metadata.get("namespace"):
        return obj
    return {**obj, "metadata": {**metadata, "namespace": namespace}}


def _secret(name: str, namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
        "stringData": data,
    }
