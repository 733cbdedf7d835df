"""The versions of the programs and engines Lamina renders and delivers with, each asked of
its own adapter, for `lamina version`, `lamina serve` and `GET /api/v1/version`."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from lamina.adapters import git, helm, sops
from lamina.adapters.kustomize import KustomizeBuilder, tool_version
from lamina.domain.errors import ToolMissing


@dataclass(frozen=True)
class Tool:
    """One tool: its version (None when missing), where it runs from, and what is wrong."""

    name: str
    version: str | None
    path: str | None = None
    problem: str | None = None


def report(kustomizer: KustomizeBuilder) -> list[Tool]:
    """kustomize (checked against its pinned version), the Helm engine, git and sops."""
    return [
        kustomize(kustomizer),
        Tool("helm", helm.engine_version()),
        _program("git", git.program_version()),
        _program("sops", sops.program_version()),
    ]


def kustomize(kustomizer: KustomizeBuilder) -> Tool:
    """The pinned kustomize, or what runs instead and why it does not do."""
    try:
        return Tool("kustomize", kustomizer.check(), kustomizer.tool)
    except ToolMissing as error:
        try:
            found = tool_version(kustomizer.tool)
        except (OSError, subprocess.TimeoutExpired):
            found = None
        return Tool("kustomize", found, kustomizer.tool, error.detail)


def _program(name: str, version: str | None) -> Tool:
    return Tool(name, version, problem=None if version else f"{name} is not installed")
