"""Writes rendered stacks to GitOps repositories through the `git` command line.

Each (url, branch) gets one clone under the writer's `workdir`, in a folder named by a hash
of both: `<hash>/repo.git` (a bare clone), `<hash>/lock` (an flock held while the clone is in
use) and `<hash>/state` (the remote head as last seen, after a fetch or our own push).

A commit is built without a working tree or index: `git fast-import` writes the new commit
from the parent's tree with `D <directory>` and one `M` per file, so its cost does not grow
with the size of the repository (a worktree `git add` + `git commit` re-stats every file of
the branch and was ~100 ms per commit at 1,000 clusters of 20 files). The directory's tree
id is computed in Python and compared with the parent's, so unchanged content costs one
`git cat-file` and makes no commit. Since nothing is ever left in a working tree or an index,
a failed or interrupted call cannot leak into the next commit.

No fetch is made before a commit when the state file knows the remote head: the push carries
`--force-with-lease=refs/heads/<branch>:<that head>`, so it lands only if the remote still
points at the new commit's parent. When someone else moved the branch, the lease fails, the
clone is fetched and the commit made again on the new head, once.

Safety: git runs with a minimal environment (no system or global configuration, an empty
HOME, no terminal prompts, `core.hooksPath=/dev/null`, only the file, http(s) and ssh
transports) and a time limit per call, after which its whole process group is killed. A
token is handed over through GIT_ASKPASS and environment variables of the git process only:
never in a URL, an argument, a file or a message; error texts are masked before they are
raised. `run` and `environment` are that runner and environment, for other adapters that run
git (catalog sources).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import fcntl
import hashlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import threading
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

from lamina.domain.errors import Conflict, LaminaError, ToolMissing

TIMEOUT_SECONDS = 60.0
MAX_MESSAGE = 2000
GC_EVERY = 100
"""Commits into one clone (per process) between two `git gc --auto` runs."""
DEFAULT_USERNAME = "x-access-token"
"""The HTTPS user name sent with a token when the target names none (GitHub's convention;
GitLab and Gitea accept any name with a token)."""

_ALLOWED_PROTOCOLS = "file:http:https:ssh"
_PASS_THROUGH = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "GIT_SSL_CAINFO",
)
_GIT_OPTIONS = (
    "-c",
    "gc.auto=0",
    "-c",
    "gc.autoDetach=false",
    "-c",
    "maintenance.auto=false",
    "-c",
    f"core.hooksPath={os.devnull}",
    # A redirect could lead a push to a host the target policy refuses.
    "-c",
    "http.followRedirects=false",
    # Packing (push, gc) and reading packs in bounded memory, whatever the repository's
    # size: one delta thread with a bounded window, and bounded pack mappings and caches.
    "-c",
    "pack.threads=1",
    "-c",
    "pack.windowMemory=64m",
    "-c",
    "pack.deltaCacheSize=32m",
    "-c",
    "core.packedGitLimit=128m",
    "-c",
    "core.packedGitWindowSize=16m",
    "-c",
    "core.deltaBaseCacheLimit=32m",
)
_USERNAME_VARIABLE = "LAMINA_GIT_USERNAME"
_TOKEN_VARIABLE = "LAMINA_GIT_TOKEN"
_ASKPASS = f"""#!/bin/sh
# Lamina's GIT_ASKPASS: answers git's prompts from the git process's own environment.
case "$1" in
  Username*) printf '%s\\n' "${_USERNAME_VARIABLE}" ;;
  *) printf '%s\\n' "${_TOKEN_VARIABLE}" ;;
esac
"""
_UNBORN = ""
"""The remote head of a branch that does not exist (yet)."""

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SCP_LIKE = re.compile(r"^[^/]+:")
_BRANCH_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_URL_USERINFO = re.compile(r"(://)[^/\s@]+@")
_AUTH_FAILURE = re.compile(
    r"authentication failed|could not read (username|password)|permission denied"
    r"|returned error: 40[13]|access denied|access forbidden|unauthori[sz]ed",
    re.IGNORECASE,
)
_STALE = ("stale info", "fetch first", "non-fast-forward")

_Node: TypeAlias = "dict[str, bytes | _Node]"

_clone_locks: dict[Path, threading.Lock] = {}
_clone_locks_guard = threading.Lock()
_commits_since_gc: dict[Path, int] = {}


class PushRejected(LaminaError):
    """The remote refused the push (a hook, a branch that moved, authentication). Nothing
    was pushed, and the local clone is back at the remote head."""

    title = "Push rejected"


class GitUnavailable(LaminaError):
    """The repository could not be reached (clone, fetch, ls-remote or push failed to
    connect), git did not finish in time, or git failed on the local clone."""

    title = "Git unavailable"


@dataclass(frozen=True)
class GitTarget:
    """A branch of a repository, and the HTTPS credentials to reach it.

    `url`: `file:///…`, `https://…`, `http://…`, `ssh://…`, `user@host:path` or a local path
    (a relative one is taken from the current directory). A URL carrying a password is
    refused (ValueError): the token belongs in `token`, which is never put in a URL, stored or
    shown (it is left out of `repr`). `username` defaults to DEFAULT_USERNAME with a token.
    """

    url: str
    branch: str = "main"
    username: str | None = None
    token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.url or self.url.startswith("-") or _CONTROL.search(self.url):
            raise ValueError(f"Invalid repository URL {_mask(self.url, self.secrets())!r}")
        if _SCHEME.match(self.url) and urllib.parse.urlsplit(self.url).password is not None:
            raise ValueError("Put credentials in GitTarget.username/token, not in the URL")
        _check_branch(self.branch)
        for name, value in (("username", self.username), ("token", self.token)):
            if value is not None and (not value or _CONTROL.search(value)):
                raise ValueError(f"GitTarget.{name} must be a non-empty line of text")

    def secrets(self) -> tuple[str, ...]:
        """Texts that must never be shown: the token in its plain and encoded forms."""
        if not self.token:
            return ()
        user = self.username or DEFAULT_USERNAME
        basic = base64.b64encode(f"{user}:{self.token}".encode()).decode()
        return (self.token, urllib.parse.quote(self.token, safe=""), basic)


@dataclass(frozen=True)
class _Clone:
    """The folder of one clone; only used while its locks are held."""

    folder: Path
    url: str
    branch: str
    just_cloned: bool = False
    """True when this call made the clone: its state is fresh from the remote."""

    @property
    def repo(self) -> Path:
        return self.folder / "repo.git"

    @property
    def ref(self) -> str:
        return f"refs/heads/{self.branch}"

    def read_state(self) -> str | None:
        """The remote head as last seen ("" unborn), None when unknown."""
        try:
            text = (self.folder / "state").read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            return None
        head = text.removesuffix("\n")
        return head if text.endswith("\n") and (not head or _SHA.fullmatch(head)) else None

    def write_state(self, head: str) -> None:
        scratch = self.folder / f"state.{uuid.uuid4().hex}"
        scratch.write_text(head + "\n", encoding="ascii")
        os.replace(scratch, self.folder / "state")


@dataclass(frozen=True)
class Result:
    """What one git call gave: its exit status and output."""

    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")


@dataclass(frozen=True)
class _Failure:
    error: LaminaError


class _Stale(_Failure):
    """The lease failed: the remote branch is not where the clone thought it was."""


class GitWriter:
    """Commits rendered stacks into branches of GitOps repositories, one commit per call.

    Thread-safe: calls on one clone are serialised (a lock per clone folder shared by every
    writer of the process, plus an flock on `<clone>/lock` for other processes); calls on
    different repositories or branches run in parallel. Author and committer are
    `author_name <author_email>`, dated when the commit is made. `timeout` bounds each git
    call, in seconds.
    """

    def __init__(
        self,
        *,
        workdir: Path,
        author_name: str = "Lamina",
        author_email: str = "lamina@localhost",
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        for label, value in (("author_name", author_name), ("author_email", author_email)):
            if not value.strip() or re.search(r"[<>\x00-\x1f\x7f]", value):
                raise ValueError(f"{label} must be a non-empty line without '<' or '>'")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._workdir = Path(workdir).resolve()
        self._identity = f"{author_name.strip()} <{author_email.strip()}>".encode()
        self._timeout = timeout
        self._support = self._workdir / ".lamina-git"
        self._support_lock = threading.Lock()
        self._support_ready = False

    def commit_tree(
        self, target: GitTarget, *, directory: str, files: Mapping[str, str], message: str
    ) -> str | None:
        """Make `directory` hold exactly `files` on the target branch, in one pushed commit.

        `directory` is a relative POSIX path ("clusters/eu-1"), `files` maps paths relative
        to it to their text (stored as UTF-8, mode 100644). Whatever else was under the
        directory is deleted; the rest of the branch is untouched. A missing branch is
        created, its first commit holding only this directory. The message is cleaned up
        like `git commit --cleanup=whitespace` does (lines starting with `#` are kept).
        Returns the new commit's SHA, or None when the directory at the remote head already
        held exactly `files` (nothing is committed then).

        ValueError, before anything is written: a directory or file path that is empty,
        absolute, has `.`/`..`/`.git` segments, a backslash or a control character; two
        paths where one is the folder of the other; an empty message. Conflict: a parent of
        `directory` is a file or a symbolic link in the branch. PushRejected: the remote
        refused (hook, authentication, or the branch moved again after one retry); nothing
        was pushed and the clone is back at the remote head. GitUnavailable: the repository
        is unreachable, git timed out or failed locally. ToolMissing: no git program.
        """
        return self.commit_trees(target, trees={directory: files}, message=message)

    def commit_trees(
        self, target: GitTarget, *, trees: Mapping[str, Mapping[str, str]], message: str
    ) -> str | None:
        """As `commit_tree`, for several directories in one commit: each of `trees`
        (directory: files) holds exactly its files afterwards. None when every directory
        already did. ValueError also when one directory is inside another."""
        if not trees:
            raise ValueError("No directory to commit")
        wanted: dict[str, dict[tuple[str, ...], bytes]] = {}
        for directory, files in trees.items():
            wanted["/".join(_checked_path(directory, "directory"))] = _checked_files(files)
        names = sorted(wanted)
        for outer, inner in itertools.pairwise(names):
            if inner.startswith(outer + "/"):
                raise ValueError(f"Directory {inner!r} is inside {outer!r}")
        text = _clean_message(message)
        with self._clone(target) as clone:
            return self._commit(clone, target, wanted, text)

    def read_tree(self, target: GitTarget, *, directory: str) -> dict[str, str]:
        """{path relative to `directory`: text} of the regular files under `directory` at the
        branch head (fetched first when it moved); empty when the branch or the directory
        does not exist. Text is decoded as UTF-8, undecodable bytes replaced; symbolic links
        and submodules are left out. ValueError for a bad `directory` (as in `commit_tree`),
        GitUnavailable when the repository cannot be read.
        """
        base = "/".join(_checked_path(directory, "directory"))
        with self._clone(target) as clone:
            head = self._remote_head(clone, target)
            if head != clone.read_state():
                head = self._sync(clone, target)
            if head == _UNBORN:
                return {}
            return self._files_at(clone, target, head, base)

    def find_commit(self, target: GitTarget, *, marker: str, since: str | None) -> str | None:
        """The SHA of the newest commit on the branch (fetched first) whose message holds the
        line `marker`, among the commits after `since` (every commit of the branch when
        `since` is None or not an ancestor of the head); None when no commit does.
        ValueError for a marker that is empty or not one line; GitUnavailable when the
        repository cannot be read."""
        if not marker.strip() or _CONTROL.search(marker):
            raise ValueError("A commit marker is one non-empty line")
        with self._clone(target) as clone:
            head = self._sync(clone, target)
            if head == _UNBORN:
                return None
            scope = head
            if since and _SHA.fullmatch(since) and self._is_ancestor(clone, target, since, head):
                scope = f"{since}..{head}"
            found = self._git(
                target,
                ["log", "--format=%H", "--fixed-strings", f"--grep={marker}", "-n", "1", scope],
                cwd=clone.repo,
            )
            sha = found.out.strip()
            return sha if _SHA.fullmatch(sha) else None

    def _is_ancestor(self, clone: _Clone, target: GitTarget, older: str, newer: str) -> bool:
        args = ["merge-base", "--is-ancestor", older, newer]
        return self._git(target, args, cwd=clone.repo, check=False).returncode == 0

    def head(self, target: GitTarget) -> str | None:
        """The SHA the branch points to on the remote (asked with `git ls-remote`, no clone
        needed), None when the branch does not exist; GitUnavailable when unreachable."""
        self._prepare_support()
        head = self._ls_remote(target, _remote_url(target.url), cwd=self._support / "home")
        return head or None

    # -- one commit ------------------------------------------------------------------------

    def _commit(
        self,
        clone: _Clone,
        target: GitTarget,
        trees: dict[str, dict[tuple[str, ...], bytes]],
        message: bytes,
    ) -> str | None:
        known = clone.read_state()
        fresh = known is None or clone.just_cloned
        expected = self._sync(clone, target) if known is None else known
        while True:
            changed = self._changed(clone, target, expected, trees)
            if not changed:
                # Unchanged as far as we know; trust that only when the remote agrees.
                if fresh or self._remote_head(clone, target) == expected:
                    return None
                expected, fresh = self._sync(clone, target), True
                continue
            sha = self._import(clone, target, expected, changed, message)
            failure = self._push(clone, target, sha, expected)
            if failure is None:
                clone.write_state(sha)
                self._collect_garbage(clone, target)
                return sha
            self._set_branch(clone, target, expected)
            if isinstance(failure, _Stale) and not fresh:
                expected, fresh = self._sync(clone, target), True
                continue
            raise failure.error

    def _changed(
        self,
        clone: _Clone,
        target: GitTarget,
        parent: str,
        trees: dict[str, dict[tuple[str, ...], bytes]],
    ) -> dict[str, dict[tuple[str, ...], bytes]]:
        """The directories whose content in commit `parent` is not exactly what is wanted
        (one `git cat-file` for them all). Conflict when a parent folder of one is a file or
        a symbolic link."""
        if parent == _UNBORN:
            return {directory: files for directory, files in trees.items() if files}
        asked: list[tuple[str, list[str]]] = []
        for directory in trees:
            parts = directory.split("/")
            asked.append((directory, ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]))
        request = "".join(f"{parent}:{name}\n" for _, names in asked for name in names).encode()
        listed = self._git(target, ["cat-file", "--batch-check"], cwd=clone.repo, stdin=request)
        found = [line.split() for line in listed.out.splitlines()]
        if len(found) != sum(len(names) for _, names in asked):
            raise GitUnavailable(f"git cat-file answered {listed.out!r}")
        algorithm = "sha256" if len(parent) == 64 else "sha1"
        changed: dict[str, dict[tuple[str, ...], bytes]] = {}
        start = 0
        for directory, names in asked:
            fields_of = found[start : start + len(names)]
            start += len(names)
            for name, fields in zip(names[:-1], fields_of[:-1], strict=True):
                if fields[-1] != "missing" and fields[1] != "tree":
                    raise Conflict(
                        f"Cannot write {directory!r}: {name!r} is a file or a symbolic link "
                        "in the repository"
                    )
            last = fields_of[-1]
            current = None if last[-1] == "missing" else (last[1], last[0])
            wanted = trees[directory]
            differs = (
                current is not None
                if not wanted
                else current != ("tree", _tree_id(wanted, algorithm))
            )
            if differs:
                changed[directory] = wanted
        return changed

    def _import(
        self,
        clone: _Clone,
        target: GitTarget,
        parent: str,
        trees: dict[str, dict[tuple[str, ...], bytes]],
        message: bytes,
    ) -> str:
        """Write the commit with `git fast-import` onto the local branch; its SHA."""
        stream = [
            f"reset {clone.ref}\n".encode(),
            f"commit {clone.ref}\nmark :1\n".encode(),
            b"author " + self._identity + b" now\n",
            b"committer " + self._identity + b" now\n",
            b"data %d\n" % len(message) + message + b"\n",
        ]
        if parent != _UNBORN:
            stream.append(f"from {parent}\n".encode())
        for directory, wanted in sorted(trees.items()):
            stream.append(b"D " + _quoted(directory) + b"\n")
            for key, data in sorted(wanted.items()):
                path = _quoted(directory + "/" + "/".join(key))
                stream.append(
                    b"M 100644 inline " + path + b"\ndata %d\n" % len(data) + data + b"\n"
                )
        stream.append(b"\nget-mark :1\ndone\n")
        imported = self._git(
            target,
            ["fast-import", "--quiet", "--force", "--done", "--date-format=now"],
            cwd=clone.repo,
            stdin=b"".join(stream),
        )
        sha = imported.out.strip()
        if not _SHA.fullmatch(sha):
            raise GitUnavailable(f"git fast-import answered {sha!r} instead of a commit")
        return sha

    def _push(self, clone: _Clone, target: GitTarget, sha: str, expected: str) -> _Failure | None:
        """Push `sha` if the remote branch is still at `expected`; None when it landed."""
        pushed = self._git(
            target,
            [
                "push",
                "--porcelain",
                "--no-verify",
                f"--force-with-lease={clone.ref}:{expected}",
                "origin",
                f"{sha}:{clone.ref}",
            ],
            cwd=clone.repo,
            check=False,
        )
        statuses = [
            line.split("\t")
            for line in pushed.out.splitlines()
            if line[:1] in ("!", "*", "+", "=", " ", "-") and line.count("\t") >= 2
        ]
        ours = [parts for parts in statuses if parts[1].endswith(f":{clone.ref}")]
        if ours and ours[0][0] != "!":
            return None
        where = f"{_mask(clone.url, target.secrets())} (branch {clone.branch})"
        if ours:
            reason = ours[0][2].strip()
            error = PushRejected(_detail(f"Push to {where} was rejected: {reason}", pushed, target))
            if "[rejected]" in reason and any(word in reason for word in _STALE):
                return _Stale(error)
            return _Failure(error)
        if _AUTH_FAILURE.search(pushed.err):
            return _Failure(PushRejected(_detail(f"Push to {where} was refused", pushed, target)))
        return _Failure(GitUnavailable(_detail(f"Cannot push to {where}", pushed, target)))

    def _collect_garbage(self, clone: _Clone, target: GitTarget) -> None:
        """Every GC_EVERY commits, let `git gc --auto` pack loose objects (errors ignored)."""
        count = _commits_since_gc.get(clone.folder, 0) + 1
        _commits_since_gc[clone.folder] = count % GC_EVERY
        if count >= GC_EVERY:
            self._git(
                target,
                ["-c", "gc.auto=6700", "gc", "--auto", "--quiet"],
                cwd=clone.repo,
                check=False,
            )

    # -- keeping the clone in step with the remote ------------------------------------------

    @contextlib.contextmanager
    def _clone(self, target: GitTarget) -> Iterator[_Clone]:
        """The clone of `target`, created when missing, locked for the block."""
        self._prepare_support()
        url = _remote_url(target.url)
        digest = hashlib.sha256(f"{url}\n{target.branch}".encode()).hexdigest()[:32]
        clone = _Clone(self._workdir / digest, url, target.branch)
        with _clone_lock(clone.folder):
            clone.folder.mkdir(parents=True, exist_ok=True)
            with open(clone.folder / "lock", "ab") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                try:
                    if not (clone.repo / "HEAD").is_file():
                        self._create(clone, target)
                        clone = dataclasses.replace(clone, just_cloned=True)
                    yield clone
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _create(self, clone: _Clone, target: GitTarget) -> None:
        """Clone the branch bare; when it does not exist, start an empty repository."""
        for leftover in (clone.repo, *clone.folder.glob("repo.*"), *clone.folder.glob("state*")):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        scratch = clone.folder / f"repo.{uuid.uuid4().hex}"
        cloned = self._git(
            target,
            [
                "clone",
                "--bare",
                "--quiet",
                "--no-tags",
                "--single-branch",
                "--template=",
                "--branch",
                clone.branch,
                "--",
                clone.url,
                str(scratch),
            ],
            cwd=clone.folder,
            check=False,
        )
        if cloned.returncode == 0:
            head = self._git(target, ["rev-parse", "--verify", clone.ref], cwd=scratch).out.strip()
        else:
            shutil.rmtree(scratch, ignore_errors=True)
            head = self._ls_remote(target, clone.url, cwd=clone.folder)
            if head != _UNBORN:
                raise self._unavailable(target, f"Cannot clone {clone.url}", cloned)
            init = ["init", "--bare", "--quiet", "--template=", "-b", clone.branch, str(scratch)]
            self._git(target, init, cwd=clone.folder)
            self._git(target, ["config", "remote.origin.url", clone.url], cwd=scratch)
        os.replace(scratch, clone.repo)
        clone.write_state(head)

    def _sync(self, clone: _Clone, target: GitTarget) -> str:
        """Fetch the branch into the local one; the remote head ("" when it does not exist)."""
        fetched = self._git(
            target,
            [
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "origin",
                f"+{clone.ref}:{clone.ref}",
            ],
            cwd=clone.repo,
            check=False,
        )
        if fetched.returncode == 0:
            head = self._git(target, ["rev-parse", "--verify", clone.ref], cwd=clone.repo)
            sha = head.out.strip()
        else:
            sha = self._remote_head(clone, target)
            if sha != _UNBORN:
                raise self._unavailable(target, f"Cannot fetch {clone.url}", fetched)
            self._set_branch(clone, target, _UNBORN)
        clone.write_state(sha)
        return sha

    def _set_branch(self, clone: _Clone, target: GitTarget, head: str) -> None:
        """Point the local branch back at `head` ("" deletes it)."""
        args = (
            ["update-ref", "-d", clone.ref] if head == _UNBORN else ["update-ref", clone.ref, head]
        )
        self._git(target, args, cwd=clone.repo)

    def _remote_head(self, clone: _Clone, target: GitTarget) -> str:
        return self._ls_remote(target, "origin", cwd=clone.repo, shown=clone.url)

    def _ls_remote(
        self, target: GitTarget, remote: str, *, cwd: Path, shown: str | None = None
    ) -> str:
        """The SHA of the branch on `remote`, "" when it does not exist."""
        listed = self._git(
            target,
            ["ls-remote", "--", remote, f"refs/heads/{target.branch}"],
            cwd=cwd,
            check=False,
        )
        if listed.returncode != 0:
            raise self._unavailable(target, f"Cannot reach {shown or remote}", listed)
        for line in listed.out.splitlines():
            sha, _, ref = line.partition("\t")
            if ref == f"refs/heads/{target.branch}":
                return sha
        return _UNBORN

    def _files_at(
        self, clone: _Clone, target: GitTarget, head: str, directory: str
    ) -> dict[str, str]:
        listed = self._git(
            target,
            ["ls-tree", "-r", "-z", "--full-tree", head, "--", directory],
            cwd=clone.repo,
        )
        blobs: list[tuple[str, str]] = []
        for entry in listed.out.split("\0"):
            meta, _, path = entry.partition("\t")
            fields = meta.split()
            regular = len(fields) == 3 and fields[:2] in (["100644", "blob"], ["100755", "blob"])
            if regular and path.startswith(directory + "/"):
                blobs.append((path[len(directory) + 1 :], fields[2]))
        if not blobs:
            return {}
        request = "".join(f"{sha}\n" for _, sha in blobs).encode()
        batch = self._git(target, ["cat-file", "--batch"], cwd=clone.repo, stdin=request)
        contents = parse_batch(batch.stdout)
        return {path: contents[sha].decode("utf-8", "replace") for path, sha in blobs}

    # -- running git -----------------------------------------------------------------------

    def _prepare_support(self) -> None:
        """Create the empty HOME and the askpass script shared by this workdir's writers."""
        if self._support_ready:
            return
        with self._support_lock:
            if self._support_ready:
                return
            self._support.mkdir(mode=0o700, parents=True, exist_ok=True)
            (self._support / "home").mkdir(exist_ok=True)
            askpass = self._support / "askpass"
            if not askpass.is_file() or askpass.read_text() != _ASKPASS:
                scratch = self._support / f"askpass.{uuid.uuid4().hex}"
                scratch.write_text(_ASKPASS)
                scratch.chmod(0o700)
                os.replace(scratch, askpass)
            self._support_ready = True

    def _environment(self, target: GitTarget) -> dict[str, str]:
        env = environment(self._support / "home", ceiling=self._workdir)
        if target.token:
            env["GIT_ASKPASS"] = str(self._support / "askpass")
            env[_USERNAME_VARIABLE] = target.username or DEFAULT_USERNAME
            env[_TOKEN_VARIABLE] = target.token
        return env

    def _git(
        self,
        target: GitTarget,
        args: Sequence[str],
        *,
        cwd: Path,
        stdin: bytes | None = None,
        check: bool = True,
    ) -> Result:
        """Run git; GitUnavailable on a timeout (or a failure when `check`), ToolMissing
        when there is no git."""
        command = next((arg for arg in args if not arg.startswith("-") and "=" not in arg), "")
        env = self._environment(target)
        try:
            result = run(args, cwd=cwd, env=env, stdin=stdin, timeout=self._timeout)
        except subprocess.TimeoutExpired as error:
            message = f"git {command} did not finish within {self._timeout:g} seconds"
            raise GitUnavailable(message) from error
        if check and result.returncode != 0:
            raise self._unavailable(target, f"git {command} failed", result)
        return result

    def _unavailable(self, target: GitTarget, summary: str, result: Result) -> GitUnavailable:
        return GitUnavailable(_detail(_mask(summary, target.secrets()), result, target))


@contextlib.contextmanager
def _clone_lock(folder: Path) -> Iterator[None]:
    """The process-wide lock of one clone folder (shared by every GitWriter)."""
    with _clone_locks_guard:
        lock = _clone_locks.setdefault(folder, threading.Lock())
    with lock:
        yield


def environment(home: Path, *, ceiling: Path) -> dict[str, str]:
    """The locked-down environment git runs in: no system or global configuration, `home`
    (an empty folder) as HOME, no terminal prompts, literal pathspecs, only the file, http(s)
    and ssh transports, ssh in batch mode, no repository looked for at or above `ceiling`;
    this process's proxy and CA settings are passed through."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CEILING_DIRECTORIES": str(ceiling),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_LITERAL_PATHSPECS": "1",
        "GIT_ALLOW_PROTOCOL": _ALLOWED_PROTOCOLS,
        "GIT_SSH_COMMAND": "ssh -o BatchMode=yes",
    }
    env.update({name: os.environ[name] for name in _PASS_THROUGH if name in os.environ})
    return env


def run(
    args: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    stdin: bytes | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> Result:
    """Run `git args` in `cwd` with `env` (see `environment`) and the locked-down options (no
    hooks, no HTTP redirects, no automatic gc or maintenance). On timeout its whole process
    group is killed and subprocess.TimeoutExpired raised; ToolMissing when there is no git."""
    try:
        return _execute(["git", *_GIT_OPTIONS, *args], cwd, env, stdin, timeout)
    except FileNotFoundError as error:
        if not cwd.is_dir():
            raise
        raise ToolMissing("git is not installed: install git and put it on PATH") from error


def _execute(
    argv: list[str], cwd: Path, env: dict[str, str], stdin: bytes | None, timeout: float
) -> Result:
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
    return Result(process.returncode, stdout, stderr)


def program_version() -> str | None:
    """The version `git --version` prints (`2.39.5`), None without git."""
    try:
        done = subprocess.run(
            ["git", "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip().removeprefix("git version ") or None


def _remote_url(url: str) -> str:
    """`url` as git is given it: a relative local path made absolute."""
    if _SCHEME.match(url) or _SCP_LIKE.match(url):
        return url
    return os.path.abspath(url)


def _check_branch(branch: str) -> None:
    if (
        branch == "HEAD"
        or ".." in branch
        or branch.endswith((".lock", "."))
        or not all(_BRANCH_PART.match(part) for part in branch.split("/"))
    ):
        raise ValueError(f"Invalid branch name {branch!r}")


def _checked_path(name: str, what: str) -> tuple[str, ...]:
    """The segments of a relative POSIX path that stays inside the repository."""
    trimmed = name[:-1] if what == "directory" and name.endswith("/") else name
    parts = tuple(trimmed.split("/"))
    if (
        not trimmed
        or "\\" in trimmed
        or _CONTROL.search(trimmed)
        or any(part in ("", ".", "..") or part.casefold() == ".git" for part in parts)
    ):
        raise ValueError(
            f"The {what} {name!r} must be a relative path inside the repository "
            "(no empty, '.', '..' or '.git' segments, no backslash or control character)"
        )
    return parts


def _checked_files(files: Mapping[str, str]) -> dict[tuple[str, ...], bytes]:
    checked = {_checked_path(name, "file path"): text.encode() for name, text in files.items()}
    for parts in checked:
        for end in range(1, len(parts)):
            if parts[:end] in checked:
                raise ValueError(
                    f"{'/'.join(parts[:end])!r} cannot be both a file and the folder of "
                    f"{'/'.join(parts)!r}"
                )
    return checked


def _clean_message(message: str) -> bytes:
    """`message` as `git stripspace` leaves it; ValueError when nothing is left."""
    lines: list[str] = []
    blank = False
    for line in message.replace("\0", "").splitlines():
        line = line.rstrip()
        if not line:
            blank = bool(lines)
            continue
        if blank:
            lines.append("")
            blank = False
        lines.append(line)
    if not lines:
        raise ValueError("The commit message must not be empty")
    return ("\n".join(lines) + "\n").encode()


def _quoted(path: str) -> bytes:
    """`path` as a C-style quoted fast-import path (control characters are refused earlier)."""
    return b'"' + path.encode().replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def _tree_id(files: dict[tuple[str, ...], bytes], algorithm: str) -> str:
    """The id git gives the tree holding `files` (mode 100644), computed without git."""
    root: _Node = {}
    for parts, data in files.items():
        node = root
        for name in parts[:-1]:
            child = node.setdefault(name, {})
            assert isinstance(child, dict)
            node = child
        node[parts[-1]] = data
    return _hash_tree(root, algorithm).hex()


def _hash_tree(node: _Node, algorithm: str) -> bytes:
    entries: list[tuple[bytes, bytes]] = []
    for name, value in node.items():
        encoded = name.encode()
        if isinstance(value, dict):
            oid = _hash_tree(value, algorithm)
            entries.append((encoded + b"/", b"40000 " + encoded + b"\0" + oid))
        else:
            oid = _object_id(b"blob", value, algorithm)
            entries.append((encoded, b"100644 " + encoded + b"\0" + oid))
    return _object_id(b"tree", b"".join(entry for _, entry in sorted(entries)), algorithm)


def _object_id(kind: bytes, body: bytes, algorithm: str) -> bytes:
    return hashlib.new(algorithm, kind + b" %d\0" % len(body) + body).digest()


def parse_batch(output: bytes) -> dict[str, bytes]:
    """{sha: content} from `git cat-file --batch` output."""
    contents: dict[str, bytes] = {}
    position = 0
    while position < len(output):
        header_end = output.index(b"\n", position)
        fields = output[position:header_end].decode("ascii").split()
        position = header_end + 1
        if len(fields) != 3:
            continue
        size = int(fields[2])
        contents[fields[0]] = output[position : position + size]
        position += size + 1
    return contents


def _detail(summary: str, result: Result, target: GitTarget) -> str:
    """`summary` and git's trimmed error output, with credentials masked and length capped."""
    lines = [line.rstrip() for line in result.err.strip().splitlines() if line.strip()]
    text = summary if not lines else summary + ":\n" + "\n".join(lines)
    text = _mask(text, target.secrets())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1].rstrip() + "…"


def _mask(text: str, secrets: Sequence[str]) -> str:
    """`text` with every secret and every URL user-info replaced by `***`."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return _URL_USERINFO.sub(r"\1***@", text)
