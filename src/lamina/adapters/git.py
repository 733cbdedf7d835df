"""Writes rendered stacks to GitOps repositories through the `git` command line.

Each (url, branch) gets one working clone under the writer's `workdir`, in a folder named by
a hash of both: `<hash>/repo` (the clone), `<hash>/lock` (an flock held while the clone is in
use) and `<hash>/state` (the remote head the clean clone stands on). `commit_tree` makes one
directory of the branch hold exactly the given files, commits that in one commit and pushes it.

Speed: the state file says the working tree is clean and its HEAD is the remote head as last
seen (after a fetch or our own push). When it is there, no fetch is made before a commit; the
push carries `--force-with-lease=refs/heads/<branch>:<that head>`, so it lands only if the
remote still points where the new commit's parent does. When someone else moved the branch the
lease fails, and the clone is fetched, reset and the commit made again, once. The state file
is removed before the working tree is touched and written back when it is consistent again,
so a failure or a crash (of any process sharing the workdir) leads to a fetch, hard reset and
`git clean` next time.

Safety: git runs with a minimal environment (no system or global configuration, an empty
HOME, no terminal prompts, `core.hooksPath=/dev/null`, only the file, http(s) and ssh
transports), a time limit per call after which its whole process group is killed. A token is
handed over through GIT_ASKPASS and environment variables of the git process only: never in a
URL, an argument, a file or a message; error texts are masked before they are raised.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import fcntl
import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import threading
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lamina.domain.errors import Conflict, LaminaError, ToolMissing

TIMEOUT_SECONDS = 60.0
MAX_MESSAGE = 2000
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
    "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_DATE",
)
_GIT_OPTIONS = (
    "-c",
    "gc.auto=0",
    "-c",
    "maintenance.auto=false",
    "-c",
    f"core.hooksPath={os.devnull}",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.autocrlf=false",
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
_URL_USERINFO = re.compile(r"(://)[^/\s@]+@")
_AUTH_FAILURE = re.compile(
    r"authentication failed|could not read (username|password)|permission denied"
    r"|returned error: 40[13]|access denied|access forbidden|unauthori[sz]ed",
    re.IGNORECASE,
)
_STALE = ("stale info", "fetch first", "non-fast-forward")

_clone_locks: dict[Path, threading.Lock] = {}
_clone_locks_guard = threading.Lock()


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
    """The folder of one working clone; only used while its locks are held."""

    folder: Path
    url: str
    branch: str
    just_cloned: bool = False
    """True when the clone was made by this call: its state is fresh from the remote."""

    @property
    def repo(self) -> Path:
        return self.folder / "repo"

    @property
    def ref(self) -> str:
        return f"refs/heads/{self.branch}"

    def read_state(self) -> str | None:
        """The remote head the clean clone stands on ("" unborn), None when unknown."""
        try:
            text = (self.folder / "state").read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            return None
        if not text.endswith("\n") or not re.fullmatch(r"[0-9a-f]{40,64}|", text[:-1]):
            return None
        return text[:-1]

    def write_state(self, head: str) -> None:
        scratch = self.folder / f"state.{uuid.uuid4().hex}"
        scratch.write_text(head + "\n", encoding="ascii")
        os.replace(scratch, self.folder / "state")

    def forget_state(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.folder / "state").unlink()


@dataclass(frozen=True)
class _Result:
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
class _Plan:
    """What to change so that a directory holds exactly the wanted files."""

    base: Path
    remove: list[Path]
    folders: list[Path]
    write: dict[tuple[str, ...], bytes]


class GitWriter:
    """Commits rendered stacks into branches of GitOps repositories, one commit per call.

    Thread-safe: calls on one clone are serialised (a lock per clone shared by every writer
    of the process, plus an flock on `<clone>/lock` for other processes); calls on different
    repositories or branches run in parallel. Author and committer are `author_name
    <author_email>`; the dates are git's (GIT_AUTHOR_DATE / GIT_COMMITTER_DATE are passed on
    from the environment untouched). `timeout` bounds each git call in seconds.
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
        self._identity = ("-c", f"user.name={author_name}", "-c", f"user.email={author_email}")
        self._timeout = timeout
        self._support = self._workdir / ".lamina-git"
        self._support_lock = threading.Lock()
        self._support_ready = False

    def commit_tree(
        self, target: GitTarget, *, directory: str, files: Mapping[str, str], message: str
    ) -> str | None:
        """Make `directory` hold exactly `files` on the target branch, in one pushed commit.

        `directory` is a relative POSIX path ("clusters/eu-1"), `files` maps paths relative
        to it to their text (written as UTF-8). The directory's other files are deleted;
        the rest of the branch is untouched. A missing branch is created (from an empty tree).
        Returns the new commit's SHA, or None when the directory on the remote head already
        held exactly `files` (nothing is committed then).

        ValueError, before anything is written: a directory or file path that is empty,
        absolute, has `.`/`..`/`.git` segments, a backslash or a NUL; two paths where one is
        the folder of the other; an empty message. Conflict: a parent of `directory` is a file
        or a symbolic link in the branch. PushRejected: the remote refused (hook, the branch
        moved again after one retry, authentication); nothing was pushed and the clone is
        reset to the remote head. GitUnavailable: the repository is unreachable, git timed
        out or failed locally. ToolMissing: no git program.
        """
        base = _checked_path(directory, "directory")
        wanted = _checked_files(files)
        if not message.strip() or "\0" in message:
            raise ValueError("The commit message must not be empty")
        with self._clone(target) as clone:
            return self._commit(clone, target, base, wanted, message)

    def read_tree(self, target: GitTarget, *, directory: str) -> dict[str, str]:
        """{path relative to `directory`: text} of the regular files under `directory` at the
        branch head (fetched first when it moved); empty when the branch or the directory
        does not exist. Text is decoded as UTF-8, undecodable bytes replaced; symbolic links
        and submodules are left out. ValueError for a bad `directory` (as in `commit_tree`),
        GitUnavailable when the repository cannot be read.
        """
        base = _checked_path(directory, "directory")
        with self._clone(target) as clone:
            head = self._remote_head(clone, target)
            if head != clone.read_state():
                head = self._sync(clone, target)
            if head == _UNBORN:
                return {}
            return self._files_at(clone, target, head, "/".join(base))

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
        base: tuple[str, ...],
        wanted: dict[tuple[str, ...], bytes],
        message: str,
    ) -> str | None:
        expected = clone.read_state()
        fresh = expected is None or clone.just_cloned
        if expected is None:
            expected = self._sync(clone, target)
        while True:
            plan = _plan(clone.repo, base, wanted)
            sha = None
            if plan is not None:
                clone.forget_state()
                _apply(plan)
                sha = self._record(clone, target, "/".join(base), message)
            if sha is None:
                # Nothing to commit here; only trust that when the remote agrees.
                if fresh or self._remote_head(clone, target) == expected:
                    if plan is not None:
                        clone.write_state(expected)
                    return None
                expected, fresh = self._sync(clone, target), True
                continue
            failure = self._push(clone, target, expected)
            if failure is None:
                clone.write_state(sha)
                return sha
            self._reset(clone, target, expected)
            if isinstance(failure, _Stale) and not fresh:
                expected, fresh = self._sync(clone, target), True
                continue
            clone.write_state(expected)
            raise failure.error

    def _record(self, clone: _Clone, target: GitTarget, directory: str, message: str) -> str | None:
        """Stage `directory` and commit the index; the new HEAD, or None if nothing changed."""
        self._git(target, ["add", "-A", "--", directory], cwd=clone.repo)
        committed = self._git(
            target,
            [
                *self._identity,
                "commit",
                "-q",
                "--no-verify",
                "--no-gpg-sign",
                "--cleanup=whitespace",
                "-F",
                "-",
            ],
            cwd=clone.repo,
            stdin=message.encode("utf-8"),
            check=False,
        )
        if committed.returncode != 0:
            staged = self._git(target, ["diff", "--cached", "--quiet"], cwd=clone.repo, check=False)
            if staged.returncode == 0:
                return None
            raise self._unavailable(target, "git commit failed", committed)
        return (
            _loose_ref(clone.repo / ".git", clone.ref)
            or self._git(target, ["rev-parse", "--verify", "HEAD"], cwd=clone.repo).out.strip()
        )

    def _push(self, clone: _Clone, target: GitTarget, expected: str) -> _Failure | None:
        """Push HEAD if the remote branch is still at `expected`; None when it landed."""
        args = [
            "push",
            "--porcelain",
            "--no-verify",
            f"--force-with-lease={clone.ref}:{expected}",
        ]
        if expected == _UNBORN:
            args.append("--set-upstream")
        pushed = self._git(
            target, [*args, "origin", f"HEAD:{clone.ref}"], cwd=clone.repo, check=False
        )
        statuses = [
            line.split("\t")
            for line in pushed.out.splitlines()
            if line[:1] in "!*+= -" and line.count("\t") >= 2
        ]
        ours = [parts for parts in statuses if parts[1].endswith(f":{clone.ref}")]
        if ours and ours[0][0] != "!":
            return None
        where = f"{_mask(clone.url, target.secrets())} (branch {clone.branch})"
        if ours:
            reason = ours[0][2].strip()
            detail = _detail(f"Push to {where} was rejected: {reason}", pushed.err, target)
            error = PushRejected(detail)
            if "[rejected]" in reason and any(word in reason for word in _STALE):
                return _Stale(error)
            return _Failure(error)
        if _AUTH_FAILURE.search(pushed.err):
            return _Failure(
                PushRejected(_detail(f"Push to {where} was refused", pushed.err, target))
            )
        return _Failure(GitUnavailable(_detail(f"Cannot push to {where}", pushed.err, target)))

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
                    if not (clone.repo / ".git").is_dir():
                        self._create(clone, target)
                        clone = dataclasses.replace(clone, just_cloned=True)
                    yield clone
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _create(self, clone: _Clone, target: GitTarget) -> None:
        """Clone the branch; when it does not exist, start an empty clone that will make it."""
        clone.forget_state()
        for leftover in (clone.repo, *clone.folder.glob("repo.*")):
            shutil.rmtree(leftover, ignore_errors=True)
        scratch = clone.folder / f"repo.{uuid.uuid4().hex}"
        cloned = self._git(
            target,
            [
                "clone",
                "-q",
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
            head = self._git(target, ["rev-parse", "--verify", "HEAD"], cwd=scratch).out.strip()
        else:
            shutil.rmtree(scratch, ignore_errors=True)
            head = self._ls_remote(target, clone.url, cwd=clone.folder)
            if head != _UNBORN:
                raise self._unavailable(target, f"Cannot clone {clone.url}", cloned)
            self._git(
                target,
                ["init", "-q", "--template=", "-b", clone.branch, str(scratch)],
                cwd=clone.folder,
            )
            self._git(
                target,
                ["remote", "add", "--no-tags", "-t", clone.branch, "origin", clone.url],
                cwd=scratch,
            )
        os.replace(scratch, clone.repo)
        clone.write_state(head)

    def _sync(self, clone: _Clone, target: GitTarget) -> str:
        """Fetch the branch and hard-reset the clean clone to it; the remote head ("" unborn)."""
        clone.forget_state()
        refspec = f"+{clone.ref}:refs/remotes/origin/{clone.branch}"
        fetched = self._git(
            target,
            ["fetch", "-q", "--no-tags", "--no-write-fetch-head", "origin", refspec],
            cwd=clone.repo,
            check=False,
        )
        if fetched.returncode == 0:
            head = self._git(
                target,
                ["rev-parse", "--verify", f"refs/remotes/origin/{clone.branch}^{{commit}}"],
                cwd=clone.repo,
            ).out.strip()
        else:
            head = self._remote_head(clone, target)
            if head != _UNBORN:
                raise self._unavailable(target, f"Cannot fetch {clone.url}", fetched)
        self._reset(clone, target, head)
        clone.write_state(head)
        return head

    def _reset(self, clone: _Clone, target: GitTarget, head: str) -> None:
        """Make the working tree, index and branch exactly `head` ("" an unborn branch)."""
        if head == _UNBORN:
            for ref in (clone.ref, f"refs/remotes/origin/{clone.branch}"):
                self._git(target, ["update-ref", "-d", ref], cwd=clone.repo)
            self._git(target, ["read-tree", "--empty"], cwd=clone.repo)
        else:
            self._git(target, ["reset", "-q", "--hard", head], cwd=clone.repo)
        self._git(target, ["clean", "-q", "-ffdx"], cwd=clone.repo)

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
        contents = _parse_batch(batch.stdout)
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
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(self._support / "home"),
            "LC_ALL": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CEILING_DIRECTORIES": str(self._workdir),
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_LITERAL_PATHSPECS": "1",
            "GIT_ALLOW_PROTOCOL": _ALLOWED_PROTOCOLS,
            "GIT_SSH_COMMAND": "ssh -o BatchMode=yes",
        }
        env.update({name: os.environ[name] for name in _PASS_THROUGH if name in os.environ})
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
    ) -> _Result:
        """Run git; GitUnavailable on a timeout (or a failure when `check`), ToolMissing
        when there is no git."""
        argv = ["git", *_GIT_OPTIONS, *args]
        try:
            result = _execute(argv, cwd, self._environment(target), stdin, self._timeout)
        except subprocess.TimeoutExpired as error:
            command = next((a for a in args if not a.startswith("-") and "=" not in a), "")
            message = f"git {command} did not finish within {self._timeout:g} seconds"
            raise GitUnavailable(message) from error
        except FileNotFoundError as error:
            if not cwd.is_dir():
                raise
            raise ToolMissing("git is not installed: install git and put it on PATH") from error
        if check and result.returncode != 0:
            raise self._unavailable(target, f"git {args[0]} failed", result)
        return result

    def _unavailable(self, target: GitTarget, summary: str, result: _Result) -> GitUnavailable:
        return GitUnavailable(_detail(_mask(summary, target.secrets()), result.err, target))


@dataclass(frozen=True)
class _Failure:
    error: LaminaError


class _Stale(_Failure):
    """The lease failed: the remote branch is not where the clone thought it was."""


@contextlib.contextmanager
def _clone_lock(folder: Path) -> Iterator[None]:
    """The process-wide lock of one clone folder (shared by every GitWriter)."""
    with _clone_locks_guard:
        lock = _clone_locks.setdefault(folder, threading.Lock())
    with lock:
        yield


def _execute(
    argv: list[str], cwd: Path, env: dict[str, str], stdin: bytes | None, timeout: float
) -> _Result:
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
    return _Result(process.returncode, stdout, stderr)


def _loose_ref(git_dir: Path, ref: str) -> str | None:
    """The SHA in the loose file of `ref` (where `git commit` writes it), None if not there;
    reading it saves a `git rev-parse` per commit."""
    try:
        text = git_dir.joinpath(*ref.split("/")).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None
    sha = text.strip()
    return sha if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", sha) else None


def _remote_url(url: str) -> str:
    """`url` as git is given it: a relative local path made absolute."""
    if _SCHEME.match(url) or _SCP_LIKE.match(url):
        return url
    return os.path.abspath(url)


def _check_branch(branch: str) -> None:
    parts = branch.split("/")
    if (
        branch == "HEAD"
        or ".." in branch
        or branch.endswith((".lock", "."))
        or not all(_BRANCH_PART.match(part) for part in parts)
    ):
        raise ValueError(f"Invalid branch name {branch!r}")


def _checked_path(name: str, what: str) -> tuple[str, ...]:
    """The segments of a relative POSIX path that stays inside the repository's work tree."""
    trimmed = name[:-1] if what == "directory" and name.endswith("/") else name
    parts = tuple(trimmed.split("/"))
    if (
        not trimmed
        or "\\" in trimmed
        or "\0" in trimmed
        or any(part in ("", ".", "..") or part.casefold() == ".git" for part in parts)
    ):
        raise ValueError(
            f"The {what} {name!r} must be a relative path inside the repository "
            "(no empty, '.', '..' or '.git' segments, no backslash)"
        )
    return parts


def _checked_files(files: Mapping[str, str]) -> dict[tuple[str, ...], bytes]:
    checked = {
        _checked_path(name, "file path"): text.encode("utf-8") for name, text in files.items()
    }
    for parts in checked:
        for end in range(1, len(parts)):
            if parts[:end] in checked:
                raise ValueError(
                    f"{'/'.join(parts[:end])!r} cannot be both a file and the folder of "
                    f"{'/'.join(parts)!r}"
                )
    return checked


def _plan(root: Path, base: tuple[str, ...], wanted: dict[tuple[str, ...], bytes]) -> _Plan | None:
    """The changes that make `root/base` hold exactly `wanted`, None when it already does.

    Reads only. Conflict when a parent of `base` is a file or a symbolic link; entries under
    `base` that are not regular files (symbolic links among them) are always removed.
    """
    for end in range(1, len(base)):
        parent = root.joinpath(*base[:end])
        try:
            mode = os.lstat(parent).st_mode
        except FileNotFoundError:
            break
        if not stat.S_ISDIR(mode):
            raise Conflict(
                f"Cannot write {'/'.join(base)!r}: {'/'.join(base[:end])!r} is a file or a "
                "symbolic link in the repository"
            )
    folder = root.joinpath(*base)
    regular: dict[tuple[str, ...], tuple[Path, int]] = {}
    remove: list[Path] = []
    folders: list[Path] = []
    try:
        mode = os.lstat(folder).st_mode
    except FileNotFoundError:
        pass
    else:
        if stat.S_ISDIR(mode):
            _walk(folder, (), regular, remove, folders)
        else:
            remove.append(folder)
    remove.extend(path for key, (path, _) in regular.items() if key not in wanted)
    write = {
        key: data
        for key, data in wanted.items()
        if key not in regular or not _same(regular[key], data)
    }
    if not remove and not write:
        return None
    return _Plan(folder, remove, folders, write)


def _walk(
    folder: Path,
    prefix: tuple[str, ...],
    regular: dict[tuple[str, ...], tuple[Path, int]],
    other: list[Path],
    folders: list[Path],
) -> None:
    """Collect regular files (with sizes), other entries, and sub-folders deepest first."""
    with os.scandir(folder) as entries:
        for entry in entries:
            key = (*prefix, entry.name)
            if entry.is_dir(follow_symlinks=False):
                _walk(Path(entry.path), key, regular, other, folders)
                folders.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                regular[key] = (Path(entry.path), entry.stat(follow_symlinks=False).st_size)
            else:
                other.append(Path(entry.path))


def _same(existing: tuple[Path, int], data: bytes) -> bool:
    path, size = existing
    return size == len(data) and path.read_bytes() == data


def _apply(plan: _Plan) -> None:
    for path in plan.remove:
        path.unlink()
    for folder in plan.folders:
        with contextlib.suppress(OSError):
            folder.rmdir()
    for key, data in plan.write.items():
        path = plan.base.joinpath(*key)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)


def _parse_batch(output: bytes) -> dict[str, bytes]:
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


def _detail(summary: str, stderr: str, target: GitTarget) -> str:
    """`summary` and git's trimmed error output, with credentials masked and length capped."""
    lines = [line.rstrip() for line in stderr.strip().splitlines() if line.strip()]
    text = summary if not lines else summary + ":\n" + "\n".join(lines)
    text = _mask(text, target.secrets())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1].rstrip() + "…"


def _mask(text: str, secrets: Sequence[str]) -> str:
    """`text` with every secret and every URL user-info replaced by `***`."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return _URL_USERINFO.sub(r"\1***@", text)
