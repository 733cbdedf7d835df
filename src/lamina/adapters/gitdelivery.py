"""ports.GitRepository on the Git adapter: one writer (and working clones) per process."""

from __future__ import annotations

from pathlib import Path

from lamina.adapters.git import GitTarget, GitUnavailable, GitWriter, PushRejected
from lamina.domain.errors import DeliveryFailed


class GitDelivery:
    def __init__(self, workdir: Path) -> None:
        self._writer = GitWriter(workdir=workdir)

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
        try:
            target = GitTarget(url=url, branch=branch, username=username, token=token)
            return self._writer.commit_tree(
                target, directory=directory, files=files, message=message
            )
        except (PushRejected, GitUnavailable) as error:
            raise DeliveryFailed(f"{error.title}: {error.detail}") from error
        except ValueError as error:  # a target Git refuses before anything runs
            raise DeliveryFailed(f"Bad Git target: {error}") from error
