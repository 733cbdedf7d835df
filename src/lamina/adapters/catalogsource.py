"""ports.CatalogReader: catalog sources read from Git (the git program) and over HTTP.

Git: each read is a shallow, single-branch bare clone into a temporary folder, removed
afterwards; only the files under the source's path that end in .yaml, .yml or .json are
read. git runs through the delivery adapter's runner (`git.run`, `git.environment`): no
system or global configuration, an empty HOME, no prompts, no hooks, only the file, http(s)
and ssh transports, no redirects, and a time limit after which its process group is killed.

HTTP: webfetch.HttpGetter: only the http(s) handlers; every URL opened, each redirect hop
included, first passes the `guard` (the server's target policy). Bodies are capped while they
are read. Any failure to reach a target gives one message, so that answers do not tell which
ports listen; an HTTP status from a server that answered is named.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lamina.adapters import git, webfetch, yamlio
from lamina.adapters.webfetch import Guard
from lamina.domain import paths
from lamina.domain.catalog import CatalogUnavailable
from lamina.domain.errors import InvalidInput, Issue

TIMEOUT_SECONDS = 60.0
MAX_FILE_BYTES = yamlio.MAX_BYTES
MAX_TOTAL_BYTES = 64 * 1024 * 1024
MAX_FILES = 2_000
_SUFFIXES = (".yaml", ".yml", ".json")
_USER_AGENT = "lamina (catalog source client)"


class CatalogSources:
    """Reads Git and HTTP catalog sources; `guard` checks every HTTP URL opened."""

    def __init__(self, *, guard: Guard, timeout: float = TIMEOUT_SECONDS) -> None:
        self._timeout = timeout
        self._http = webfetch.HttpGetter(guard=guard, user_agent=_USER_AGENT, timeout=timeout)

    # -- HTTP -------------------------------------------------------------------------------

    def http_document(self, url: str) -> Any:
        return _parse(self._download(url), "")

    def _download(self, url: str) -> bytes:
        shown = _safe_url(url)
        try:
            return self._http.get(url, max_bytes=MAX_FILE_BYTES)
        except webfetch.Refused as refused:
            raise CatalogUnavailable(f"Refusing to read {shown}: {refused}") from None
        except webfetch.RedirectRefused as refused:
            raise CatalogUnavailable(
                f"{shown} redirected to a target that is not allowed: {refused}"
            ) from None
        except webfetch.HttpStatus as error:
            raise CatalogUnavailable(f"Cannot read {shown}: {error}") from None
        except webfetch.Unreachable:
            raise CatalogUnavailable(f"Cannot reach {shown}") from None
        except webfetch.TooLarge:
            raise _too_large(shown, f"is over {MAX_FILE_BYTES} bytes") from None

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
        blobs = git.parse_batch(batch.stdout)
        return {name: _parse(blobs[sha], paths.child("", name)) for name, sha in wanted}

    def _git(
        self, args: list[str], *, cwd: Path, home: Path, stdin: bytes | None = None
    ) -> git.Result:
        """Run git in the delivery adapter's locked-down environment; the scratch folder that
        holds `home` is the ceiling above which no repository is looked for."""
        env = git.environment(home, ceiling=home.parent)
        try:
            return git.run(args, cwd=cwd, env=env, stdin=stdin, timeout=self._timeout)
        except subprocess.TimeoutExpired:
            raise CatalogUnavailable(
                f"git did not finish within {self._timeout:g} seconds"
            ) from None


def _parse(data: bytes, where: str) -> Any:
    """The YAML or JSON document in `data`; InvalidInput with paths under `where`."""
    try:
        return yamlio.load(data, max_bytes=MAX_FILE_BYTES)
    except InvalidInput as error:
        issues = [Issue(paths.join(where, i.path), i.code, i.message) for i in error.issues]
        raise InvalidInput(error.detail, issues=issues) from None


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
