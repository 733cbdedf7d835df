"""`kustomize build` through the kustomize binary, or `kubectl kustomize` when only kubectl is
installed. The files are written into a fresh temporary directory that is removed afterwards.

The tool runs with a scrubbed environment that points HTTP(S) proxies at a closed port and
allows git no protocol, so remote bases fail fast instead of reaching the network; exec and
helm plugins stay off (neither `--enable-alpha-plugins` nor `--enable-helm` is passed).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from lamina.domain.errors import Issue, RenderFailed, ToolMissing

TIMEOUT_SECONDS = 60.0
MAX_MESSAGE = 2000
MISSING_MESSAGE = (
    "kustomize is not installed: install kustomize or kubectl (which includes it) "
    "and make sure it is on PATH"
)
_CLOSED_PROXY = "http://127.0.0.1:9"
_KLOG_PREFIX = r'^[EWIF]\d{4} [^\]\n]*\] "command failed" err='
_KLOG_QUOTED = re.compile(_KLOG_PREFIX + r'(".*")$')
_KLOG_BLOCK = re.compile(_KLOG_PREFIX + r"<\n(.*?)\n\s*>$", re.DOTALL)


class KustomizeBuilder:
    """Implements `ports.Kustomizer` by running an external kustomize.

    `search_path` lists the directories searched for the tools (None: the PATH of the
    process, read when first needed). A tool once found is remembered; a missing one is
    looked for again on the next call, so installing it needs no restart.
    """

    def __init__(
        self, *, search_path: Sequence[str] | None = None, timeout: float = TIMEOUT_SECONDS
    ) -> None:
        self._search_path = None if search_path is None else list(search_path)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._command: tuple[str, ...] | None = None

    def available(self) -> str | None:
        """The name of the tool `build` runs ("kustomize" or "kubectl"), or None if neither."""
        command = self._find()
        return None if command is None else Path(command[0]).name

    def build(self, files: dict[str, str]) -> str:
        """The YAML stream that `kustomize build` prints for a directory holding `files`.

        Keys are relative POSIX paths (RenderFailed `kustomize_path_escape` for absolute
        paths or `..` segments, `kustomize_path_invalid` for empty or unwritable ones).
        RenderFailed `kustomize_failed` carries the tool's error output, `kustomize_timeout`
        a run over the time limit; ToolMissing when neither kustomize nor kubectl is found.
        """
        relative = {_checked_path(name): text for name, text in files.items()}
        command = self._find()
        if command is None:
            raise ToolMissing(MISSING_MESSAGE)
        with tempfile.TemporaryDirectory(
            prefix="lamina-kustomize-", ignore_cleanup_errors=True
        ) as scratch:
            stack, home = Path(scratch, "stack"), Path(scratch, "home")
            stack.mkdir()
            home.mkdir()
            _write(stack, relative)
            return self._run(command, str(stack), str(home))

    def _find(self) -> tuple[str, ...] | None:
        """The cached command prefix, looked up once found."""
        if self._command is None:
            with self._lock:
                if self._command is None:
                    self._command = _locate(self._search_path)
        return self._command

    def _run(self, command: tuple[str, ...], root: str, home: str) -> str:
        try:
            returncode, stdout, stderr = _execute([*command, root], root, home, self._timeout)
        except subprocess.TimeoutExpired as error:
            message = f"kustomize did not finish within {self._timeout:g} seconds"
            raise _failed("kustomize_timeout", message) from error
        except OSError as error:
            with self._lock:
                self._command = None
            raise ToolMissing(f"{MISSING_MESSAGE} ({error})") from error
        if returncode != 0:
            raise _failed("kustomize_failed", _tool_message(stderr, root, returncode))
        return stdout


def available() -> str | None:
    """The name of the tool ("kustomize" or "kubectl") a builder would run on PATH, or None."""
    return KustomizeBuilder().available()


def _execute(argv: list[str], cwd: str, home: str, timeout: float) -> tuple[int, str, str]:
    """(status, stdout, stderr) of `argv`; on timeout its whole process group is killed."""
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=_environment(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    return process.returncode, stdout, stderr


def _locate(search_path: list[str] | None) -> tuple[str, ...] | None:
    """`(kustomize, "build")` or `(kubectl, "kustomize")` found in `search_path`."""
    path = (
        os.environ.get("PATH", os.defpath) if search_path is None else os.pathsep.join(search_path)
    )
    kustomize = shutil.which("kustomize", path=path)
    if kustomize:
        return (kustomize, "build")
    kubectl = shutil.which("kubectl", path=path)
    return (kubectl, "kustomize") if kubectl else None


def _checked_path(name: str) -> PurePosixPath:
    """`name` as a path inside the build directory, or RenderFailed."""
    if not name or "\0" in name or name.endswith("/"):
        raise _failed("kustomize_path_invalid", f"Invalid file name {name!r}")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or _has_drive(name):
        raise _failed(
            "kustomize_path_escape", f"File name {name!r} must be a relative path inside the stack"
        )
    return path


def _has_drive(name: str) -> bool:
    return len(name) > 1 and name[1] == ":" and name[0].isalpha()


def _write(root: Path, files: dict[PurePosixPath, str]) -> None:
    for relative, text in files.items():
        target = root.joinpath(*relative.parts)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as error:
            message = f"Cannot write {relative.as_posix()!r}: {error.strerror or error}"
            raise _failed("kustomize_path_invalid", message) from error


def _environment(home: str) -> dict[str, str]:
    """A minimal environment for the tool, with every network route closed."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": home,
        "HTTP_PROXY": _CLOSED_PROXY,
        "HTTPS_PROXY": _CLOSED_PROXY,
        "http_proxy": _CLOSED_PROXY,
        "https_proxy": _CLOSED_PROXY,
        "NO_PROXY": "",
        "no_proxy": "",
        "GIT_ALLOW_PROTOCOL": "none",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "KUBECONFIG": os.devnull,
    }


def _tool_message(stderr: str, root: str, returncode: int) -> str:
    """The tool's error output, readable and short.

    kubectl's log prefix is dropped, the temporary directory is hidden (the stack is `.`)
    and the text is cut to MAX_MESSAGE characters.
    """
    text = _readable(stderr.strip())
    scratch = os.path.dirname(root)
    text = text.replace(root + os.sep, "").replace(root, ".").replace(scratch, "..").strip()
    if not text:
        return f"kustomize exited with status {returncode}"
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1].rstrip() + "…"


def _readable(text: str) -> str:
    """The error without kubectl's log prefix and Go quoting, or kustomize's `Error: `."""
    block = _KLOG_BLOCK.match(text)
    if block:
        return "\n".join(line.removeprefix("\t") for line in block.group(1).splitlines())
    quoted = _KLOG_QUOTED.match(text)
    if not quoted:
        return text.removeprefix("Error: ")
    try:
        return str(json.loads(quoted.group(1)))
    except ValueError:
        return quoted.group(1)[1:-1]


def _failed(code: str, message: str) -> RenderFailed:
    return RenderFailed("kustomize build failed", issues=[Issue("", code, message)])
