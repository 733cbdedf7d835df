"""ports.GitRepository on the Git adapter: one writer (and working clones) per process."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from lamina.adapters import datadir
from lamina.adapters.git import GitTarget, GitUnavailable, GitWriter, PushRejected
from lamina.domain.errors import DeliveryFailed


class GitDelivery:
    def __init__(self, workdir: Path) -> None:
        self._writer = GitWriter(workdir=workdir)
        self._workdir = workdir

    def commit_tree(
        self,
        *,
        url: str,
        branch: str,
        username: str | None,
        token: str | None,
        directory: str,
        files: dict[str, str],
        message: str,
    ) -> str | None:
        with datadir.guard(self._workdir), _delivery_errors():
            target = GitTarget(url=url, branch=branch, username=username, token=token)
            return self._writer.commit_tree(
                target, directory=directory, files=files, message=message
            )

    def commit_trees(
        self,
        *,
        url: str,
        branch: str,
        username: str | None,
        token: str | None,
        trees: dict[str, dict[str, str]],
        message: str,
    ) -> str | None:
        with datadir.guard(self._workdir), _delivery_errors():
            target = GitTarget(url=url, branch=branch, username=username, token=token)
            return self._writer.commit_trees(target, trees=trees, message=message)

    def find_commit(
        self,
        *,
        url: str,
        branch: str,
        username: str | None,
        token: str | None,
        marker: str,
        since: str | None,
    ) -> str | None:
        with datadir.guard(self._workdir), _delivery_errors():
            target = GitTarget(url=url, branch=branch, username=username, token=token)
            return self._writer.find_commit(target, marker=marker, since=since)


@contextlib.contextmanager
def _delivery_errors() -> Iterator[None]:
    try:
        yield
    except (PushRejected, GitUnavailable) as error:
        raise DeliveryFailed(f"{error.title}: {error.detail}") from error
    except ValueError as error:  # a target Git refuses before anything runs
        raise DeliveryFailed(f"Bad Git target: {error}") from error
