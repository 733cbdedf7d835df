"""Clusters: deployment targets with labels, a Kubernetes version and a GitOps target."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from lamina.domain import refs, selectors, targets
from lamina.domain.errors import Conflict, InvalidInput, Issue, NotFound
from lamina.domain.models import Cluster, GitMode, GitOps, Page, Principal, Role
from lamina.ports import Cipher, Clock, Store
from lamina.services import usage
from lamina.services.access import require
from lamina.services.targets import TargetPolicy

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$")
_VERSION = re.compile(r"^v?\d+\.\d+(\.\d+)?([-+].*)?$")
# An X25519 age recipient: "age1" and 58 bech32 characters (a 32-byte key and a checksum).
_AGE_RECIPIENT = re.compile(r"^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$")


class ClusterService:
    def __init__(self, *, store: Store, clock: Clock, cipher: Cipher, policy: TargetPolicy) -> None:
        self._store = store
        self._clock = clock
        self._cipher = cipher
        self._policy = policy

    def list_clusters(
        self, principal: Principal, *, selector: str = "", page: int = 1, page_size: int = 50
    ) -> Page[Cluster]:
        """The org's clusters matching a label selector (`env=prod,region in (eu,us)`)."""
        chosen = selectors.parse_selector(selector)
        with self._store.unit_of_work() as uow:
            matching = [c for c in uow.clusters.all(principal.org_id) if chosen.matches(c.labels)]
        start = (page - 1) * page_size
        return Page(matching[start : start + page_size], len(matching), page, page_size)

    def get(self, principal: Principal, cluster_id: int) -> Cluster:
        with self._store.unit_of_work() as uow:
            cluster = uow.clusters.get(principal.org_id, cluster_id)
        if cluster is None:
            raise NotFound(f"Cluster {cluster_id} does not exist")
        return cluster

    def create(self, principal: Principal, fields: dict[str, Any]) -> Cluster:
        """Register a cluster; it carries its GitOps target, so only admins may."""
        require(principal, Role.ADMIN)
        now = self._clock.now()
        cluster = self._build(principal, fields, now, previous=None)
        with self._store.unit_of_work(write=True) as uow:
            if uow.clusters.get_by_name(principal.org_id, cluster.name):
                raise _taken(cluster.name)
            return uow.clusters.create(cluster)

    def update(self, principal: Principal, cluster_id: int, fields: dict[str, Any]) -> Cluster:
        """Change a cluster; editors may change its facts, only admins its Git settings."""
        require(principal, Role.ADMIN if "gitops" in fields else Role.EDITOR)
        current = self.get(principal, cluster_id)
        merged = _fields_of(current) | fields
        if "gitops" in fields and current.gitops:
            merged["gitops"] = _gitops_fields(current.gitops) | (fields["gitops"] or {})
        cluster = self._build(principal, merged, self._clock.now(), previous=current)
        with self._store.unit_of_work(write=True) as uow:
            other = uow.clusters.get_by_name(principal.org_id, cluster.name)
            if other is not None and other.id != current.id:
                raise _taken(cluster.name)
            return uow.clusters.update(cluster)

    def delete(self, principal: Principal, cluster_id: int, *, force: bool = False) -> None:
        """Forget a cluster that runs nothing (Conflict naming the profiles it runs). With
        `force`, forget it anyway: its Git repository is left exactly as it is."""
        require(principal, Role.ADMIN)
        with self._store.unit_of_work(write=True) as uow:
            cluster = uow.clusters.get(principal.org_id, cluster_id, for_update=True)
            if cluster is None:
                raise NotFound(f"Cluster {cluster_id} does not exist")
            users = None if force else usage.cluster_users(uow, cluster.id, cluster.name)
            if users is not None:
                raise Conflict(f"{users}; uninstall them first, or forget it with force=true")
            uow.clusters.delete(principal.org_id, cluster_id)

    def git_token(self, cluster: Cluster) -> str | None:
        sealed = cluster.gitops.token_sealed
        return self._cipher.open(sealed) if sealed else None

    def _build(
        self, principal: Principal, fields: dict[str, Any], now: Any, previous: Cluster | None
    ) -> Cluster:
        issues = _check(fields)
        renamed = previous is None or fields.get("name") != previous.name
        clash = renamed and refs.name_problem(str(fields.get("name") or ""), "cluster")
        if clash:
            issues.append(Issue("name", "invalid_name", clash))
        if not any(issue.path == "gitops.url" for issue in issues):
            try:
                self._policy.check_git_url(principal.org_slug, fields["gitops"]["url"])
            except InvalidInput as refused:
                issues += refused.issues
        if issues:
            raise InvalidInput("The cluster is invalid", issues=issues)
        git = fields["gitops"]
        token = git.get("token")
        sealed = self._cipher.seal(token) if token else git.get("token_sealed")
        if token == "":  # an empty token clears the stored one
            sealed = None
        gitops = GitOps(
            url=git["url"],
            branch=targets.normalise_branch(str(git.get("branch") or "main")),
            path=(git.get("path") or "clusters").strip("/"),
            mode=GitMode(git.get("mode") or "rendered"),
            username=git.get("username") or None,
            token_sealed=sealed,
            age_recipient=str(git.get("age_recipient") or "").strip() or None,
        )
        base = previous or Cluster(0, principal.org_id, "", {}, "", gitops, 0, None, now, now)
        return replace(
            base,
            name=fields["name"],
            labels=dict(fields.get("labels") or {}),
            kubernetes_version=str(fields.get("kubernetes_version") or ""),
            gitops=gitops,
            updated_at=now,
        )


def _check(fields: dict[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    if not _NAME.match(str(fields.get("name") or "")):
        issues.append(Issue("name", "invalid_name", "A cluster name is a DNS-1123 label"))
    for key, value in (fields.get("labels") or {}).items():
        if not _LABEL_KEY.match(key) or not _LABEL_VALUE.match(str(value)):
            issues.append(Issue(f"labels.{key}", "invalid_value", "Not a Kubernetes label"))
    version = fields.get("kubernetes_version")
    if version and not _VERSION.match(str(version)):
        issues.append(Issue("kubernetes_version", "invalid_value", "Expected e.g. 1.31.2"))
    git = fields.get("gitops")
    url = git.get("url") if isinstance(git, dict) else None
    if not isinstance(url, str) or targets.parse_target(url) is None:
        issues.append(Issue("gitops.url", "invalid_value", "A Git URL (https://, ssh://)"))
    elif isinstance(git, dict):
        issues += _check_git(git)
    if isinstance(git, dict) and git.get("mode") not in (None, "rendered", "flux"):
        issues.append(Issue("gitops.mode", "invalid_value", "rendered or flux"))
    recipient = str(git.get("age_recipient") or "").strip() if isinstance(git, dict) else ""
    if recipient and not _AGE_RECIPIENT.match(recipient):
        issues.append(
            Issue(
                "gitops.age_recipient", "invalid_value", "An age public key: age1 and 58 characters"
            )
        )
    return issues


_USERINFO = re.compile(r"^[a-z+]+://[^/@]*:[^/@]*@")


def _check_git(git: dict[str, Any]) -> list[Issue]:
    issues = []
    if _USERINFO.match(str(git["url"])):
        issues.append(
            Issue("gitops.url", "invalid_value", "Put credentials in username/token, not the URL")
        )
    path_problem = targets.folder_problem(str(git.get("path") or ""))
    if path_problem:
        issues.append(Issue("gitops.path", "invalid_value", f"The path {path_problem}"))
    branch = targets.normalise_branch(str(git.get("branch") or "main"))
    branch_problem = targets.branch_problem(branch)
    if branch_problem:
        issues.append(
            Issue(
                "gitops.branch",
                "invalid_value",
                f"'{branch}' is no branch name: it {branch_problem}",
            )
        )
    return issues


def _fields_of(cluster: Cluster) -> dict[str, Any]:
    return {
        "name": cluster.name,
        "labels": cluster.labels,
        "kubernetes_version": cluster.kubernetes_version,
        "gitops": _gitops_fields(cluster.gitops),
    }


def _gitops_fields(git: GitOps) -> dict[str, Any]:
    return {
        "url": git.url,
        "branch": git.branch,
        "path": git.path,
        "mode": git.mode.value,
        "username": git.username,
        "token_sealed": git.token_sealed,
        "age_recipient": git.age_recipient,
    }


def _taken(name: str) -> InvalidInput:
    return InvalidInput(
        "Name taken", issues=[Issue("name", "duplicate_name", f"A cluster named '{name}' exists")]
    )
