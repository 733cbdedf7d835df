"""ports.CatalogReader: catalog sources read from Git (the git program) and over HTTP.

Git: each read is a shallow, single-branch bare clone into a temporary folder, removed
afterwards; only the files under the source's path that end in .yaml, .yml or .json are
read. git runs as the delivery adapter runs it: no system or global configuration, an empty
HOME, no prompts, no hooks, only the file, http(s) and ssh transports, no redirects, and a
time limit after which its process group is killed.

HTTP: urllib with only the http(s) handlers; every URL opened, each redirect hop included,
first passes the `guard` (the server's target policy). Bodies are capped while they are read.
Any failure to reach a target gives one message, so that answers do not tell which ports
listen; an HTTP status from a server that answered is named.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from http.client import HTTPMessage
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from lamina.adapters import yamlio
from lamina.domain import paths
from lamina.domain.catalog import CatalogUnavailable
from lamina.domain.errors import InvalidInput, Issue, ToolMissing

TIMEOUT_SECONDS = 60.0
MAX_FILE_BYTES = yamlio.MAX_BYTES
MAX_TOTAL_BYTES = 64 * 1024 * 1024
MAX_FILES = 2_000
_SUFFIXES = (".yaml", ".yml", ".json")
_CHUNK = 64 * 1024
_USER_AGENT = "lamina (catalog source client)"

Guard = Callable[[str], None]
"""Raises InvalidInput when the server may not connect to the URL."""


class CatalogSources:
    """Reads Git and HTTP catalog sources; `guard` checks every HTTP URL opened."""

    def __init__(self, *, guard: Guard, timeout: float = TIMEOUT_SECONDS) -> None:
        self._guard = guard
        self._timeout = timeout
        self._opener = urllib.request.OpenerDirector()
        for handler in (
            urllib.request.ProxyHandler(),
            urllib.request.HTTPHandler(),
            urllib.request.HTTPSHandler(),
            urllib.request.HTTPDefaultErrorHandler(),
            _GuardedRedirects(self._check),
            urllib.request.HTTPErrorProcessor(),
        ):
            self._opener.add_handler(handler)

    # -- HTTP -------------------------------------------------------------------------------

    def http_document(self, url: str) -> Any:
        return _parse(self._download(url), "")

    def _check(self, url: str) -> None:
        """_Refused unless `url` is http(s) and the guard allows it."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise _Refused("not an http(s) URL")
        try:
            self._guard(url)
        except InvalidInput as error:
            raise _Refused(error.issues[0].message if error.issues else error.detail) from None

    def _download(self, url: str) -> bytes:
        shown = _safe_url(url)
        try:
            self._check(url)
        except _Refused as refused:
            raise CatalogUnavailable(f"Refusing to read {shown}: {refused}") from None
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return _read_capped(response, MAX_FILE_BYTES, shown)
        except _Refused as refused:
            raise CatalogUnavailable(
                f"{shown} redirected to a target that is not allowed: {refused}"
            ) from None
        except urllib.error.HTTPError as error:
            raise CatalogUnavailable(
                f"Cannot read {shown}: HTTP {error.code} {error.reason}"
            ) from None
        except (urllib.error.URLError, OSError, ValueError):
            raise CatalogUnavailable(f"Cannot reach {shown}") from None

    # -- Git --------------------------------------------------------------------------------

    def git_files(self, *, url: str, branch: str, path: str) -> dict[str, Any]:
        shown = _safe_url(url)
        with tempfile.TemporaryDirectory(prefix="lamina-catalog-") as scratch:
            work = Path(scratch)
            (work / "home").mkdir()
            repo = work / "repo.git"
            clone = [
                "clone", "--bare", "--quiet", "--depth", "1", "--no-tags", "--single-branch",
                "--template=", "--branch", branch, "--", url, str(repo),
            ]  # fmt: skip
            done = self._git(clone, cwd=work, home=work / "home")
            if done.returncode != 0:
                raise CatalogUnavailable(
                    f"Cannot read branch '{branch}' of {shown}: {_first_line(done.stderr)}"
                )
            return self._read_tree(repo, work / "home", path.strip("/"))

    def _read_tree(self, repo: Path, home: Path, path: str) -> dict[str, Any]:
        listing = ["ls-tree", "-r", "-z", "-l", "--full-tree", "HEAD"]
        listed = self._git([*listing, "--", path] if path else listing, cwd=repo, home=home)
        wanted: list[tuple[str, str]] = []
        total = 0
        for entry in listed.stdout.decode("utf-8", "replace").split("\0"):
            meta, _, name = entry.partition("\t")
            fields = meta.split()
            if len(fields) != 4 or fields[1] != "blob" or not name.endswith(_SUFFIXES):
                continue
            if path and not (name == path or name.startswith(path + "/")):
                continue
            size = int(fields[3]) if fields[3].isdigit() else 0
            if size > MAX_FILE_BYTES:
                raise _too_large(name, f"is over {MAX_FILE_BYTES} bytes")
            total += size
            wanted.append((name, fields[2]))
        if len(wanted) > MAX_FILES or total > MAX_TOTAL_BYTES:
            raise _too_large(path or "the repository", "holds too many or too large files")
        if not wanted:
            return {}
        request = "".join(f"{sha}\n" for _, sha in wanted).encode()
        batch = self._git(["cat-file", "--batch"], cwd=repo, home=home, stdin=request)
        blobs = _parse_batch(batch.stdout)
        return {name: _parse(blobs[sha], paths.child("", name)) for name, sha in wanted}

    def _git(
        self, args: list[str], *, cwd: Path, home: Path, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(home),
            "LC_ALL": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_LITERAL_PATHSPECS": "1",
            "GIT_ALLOW_PROTOCOL": "file:http:https:ssh",
            "GIT_SSH_COMMAND": "ssh -o BatchMode=yes",
        }
        options = ["-c", f"core.hooksPath={os.devnull}", "-c", "http.followRedirects=false"]
        try:
            return _run(["git", *options, *args], cwd, env, stdin, self._timeout)
        except subprocess.TimeoutExpired:
            raise CatalogUnavailable(
                f"git did not finish within {self._timeout:g} seconds"
            ) from None
        except FileNotFoundError:
            raise ToolMissing("git is not installed: install git and put it on PATH") from None


class _Refused(Exception):
    """A URL the policy refuses."""


class _GuardedRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to a URL `check` allows."""

    def __init__(self, check: Callable[[str], None]) -> None:
        self._check_url = check

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        try:
            self._check_url(newurl)
        except _Refused:
            fp.close()
            raise
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _run(
    argv: list[str], cwd: Path, env: dict[str, str], stdin: bytes | None, timeout: float
) -> subprocess.CompletedProcess[bytes]:
    """Run `argv`; on timeout its whole process group is killed and TimeoutExpired raised."""
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def _parse(data: bytes, where: str) -> Any:
    """The YAML or JSON document in `data`; InvalidInput with paths under `where`."""
    try:
        return yamlio.load(data, max_bytes=MAX_FILE_BYTES)
    except InvalidInput as error:
        issues = [Issue(paths.join(where, i.path), i.code, i.message) for i in error.issues]
        raise InvalidInput(error.detail, issues=issues) from None


def _parse_batch(output: bytes) -> dict[str, bytes]:
    """{sha: content} of `git cat-file --batch` output."""
    found: dict[str, bytes] = {}
    position = 0
    while position < len(output):
        header_end = output.index(b"\n", position)
        sha, _kind, size = output[position:header_end].decode().split()
        start = header_end + 1
        found[sha] = output[start : start + int(size)]
        position = start + int(size) + 1
    return found


def _read_capped(response: Any, max_bytes: int, shown: str) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(shown, f"is over {max_bytes} bytes")
    body = bytearray()
    while chunk := response.read(min(_CHUNK, max_bytes + 1 - len(body))):
        body += chunk
        if len(body) > max_bytes:
            raise _too_large(shown, f"is over {max_bytes} bytes")
    return bytes(body)


def _too_large(what: str, why: str) -> CatalogUnavailable:
    return CatalogUnavailable(f"The catalog source cannot be read: {what} {why}")


def _safe_url(url: str) -> str:
    """`url` without user information, so that no credential reaches a message."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl()


def _first_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    meaningful = [line for line in lines if line and not line.startswith("hint:")]
    return meaningful[0] if meaningful else "git failed"
