"""The Git adapter against real bare repositories (and fake HTTP servers for the failures)."""

from __future__ import annotations

import base64
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lamina.adapters import git as git_adapter
from lamina.adapters.git import GitTarget, GitUnavailable, GitWriter, PushRejected
from lamina.domain.errors import Conflict
from tests.fixtures.gitrepos import BareRepo, bare_repo, git_environment  # noqa: F401

TOKEN = "tok-Zq8Xv2-SECRET-do-not-show"
STACK = {
    "kustomization.yaml": "resources:\n- app/deployment.yaml\n- app/service.yaml\n",
    "app/deployment.yaml": "kind: Deployment\nmetadata:\n  name: web\n",
    "app/service.yaml": "kind: Service\nmetadata:\n  name: web\n",
}


@pytest.fixture
def writer(tmp_path: Path) -> GitWriter:
    return GitWriter(workdir=tmp_path / "work", timeout=30)


@pytest.fixture
def target(bare_repo: BareRepo) -> GitTarget:  # noqa: F811
    return GitTarget(bare_repo.url)


def clone_of(writer_workdir: Path) -> Path:
    """The single (bare) clone in a writer's workdir."""
    (repo,) = [path for path in writer_workdir.glob("*/repo.git") if path.is_dir()]
    return repo


def git_in(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        env=git_environment(repo),
        input="",
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def changed_paths(repo: BareRepo, old: str, new: str) -> set[str]:
    return set(repo.git("diff", "--name-only", old, new).decode().splitlines())


def push_from_scratch(repo: BareRepo, scratch: Path, files: dict[str, str], message: str) -> None:
    """Commit `files` (added to the branch's content) as a third party, outside GitWriter."""
    env = git_environment(scratch)
    if not (scratch / ".git").exists():
        subprocess.run(["git", "clone", "-q", repo.url, str(scratch)], env=env, check=True)
    else:
        for args in (["fetch", "-q", "origin"], ["reset", "-q", "--hard", "origin/main"]):
            subprocess.run(["git", *args], cwd=scratch, env=env, check=True)
    for name, text in files.items():
        path = scratch / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for args in (
        ["add", "-A"],
        ["-c", "user.name=Someone", "-c", "user.email=s@x", "commit", "-qm", message],
        ["push", "-q", "origin", "HEAD:refs/heads/main"],
    ):
        subprocess.run(["git", *args], cwd=scratch, env=env, check=True, capture_output=True)


# -- commits ---------------------------------------------------------------------------------


def test_the_first_commit_creates_the_branch_in_an_empty_repository(
    writer: GitWriter,
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
) -> None:
    assert writer.head(target) is None
    sha = writer.commit_tree(
        target, directory="clusters/eu-1", files=STACK, message="Render eu-1\n\n# body kept"
    )

    assert sha is not None and sha == bare_repo.head() == writer.head(target)
    assert bare_repo.log() == ["Render eu-1"]
    assert bare_repo.files_at("main", "clusters/eu-1") == STACK
    body = bare_repo.git("log", "-1", "--format=%an <%ae>|%cn <%ce>|%b").decode().strip()
    assert body == "Lamina <lamina@localhost>|Lamina <lamina@localhost>|# body kept"


def test_a_second_commit_changes_only_its_directory(
    writer: GitWriter,
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
) -> None:
    first = writer.commit_tree(target, directory="clusters/eu-1", files=STACK, message="one")
    other = writer.commit_tree(target, directory="clusters/us-1", files=STACK, message="two")
    changed = {**STACK, "app/deployment.yaml": "kind: Deployment\nmetadata:\n  name: api\n"}
    second = writer.commit_tree(target, directory="clusters/eu-1", files=changed, message="three")

    assert first and other and second
    assert changed_paths(bare_repo, other, second) == {"clusters/eu-1/app/deployment.yaml"}
    assert bare_repo.files_at(second, "clusters/us-1") == STACK
    assert bare_repo.git("rev-parse", f"{second}^").decode().strip() == other
    assert bare_repo.log() == ["three", "two", "one"]


def test_removed_files_and_folders_disappear(
    writer: GitWriter,
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
) -> None:
    writer.commit_tree(target, directory="clusters/eu-1", files=STACK, message="one")
    writer.commit_tree(
        target,
        directory="clusters/eu-1",
        files={"kustomization.yaml": "resources: []\n", "app": "now a file\n"},
        message="two",
    )
    assert bare_repo.files_at("main", "clusters/eu-1") == {
        "kustomization.yaml": "resources: []\n",
        "app": "now a file\n",
    }
    writer.commit_tree(target, directory="clusters/eu-1", files={}, message="three")
    assert bare_repo.files_at("main", "clusters/eu-1") == {}
    assert bare_repo.log() == ["three", "two", "one"]


def test_unchanged_content_makes_no_commit(
    writer: GitWriter,
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
    tmp_path: Path,
) -> None:
    sha = writer.commit_tree(target, directory="clusters/eu-1", files=STACK, message="one")
    again = writer.commit_tree(target, directory="clusters/eu-1", files=dict(STACK), message="x")
    fresh = GitWriter(workdir=tmp_path / "other")
    from_scratch = fresh.commit_tree(target, directory="clusters/eu-1", files=STACK, message="y")
    nothing = writer.commit_tree(target, directory="clusters/none", files={}, message="z")

    assert again is None and from_scratch is None and nothing is None
    assert bare_repo.head() == sha
    assert bare_repo.log() == ["one"]


def test_two_clusters_in_one_repository_stay_independent(
    writer: GitWriter,
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
) -> None:
    eu = {"a.yaml": "eu\n"}
    us = {"b.yaml": "us\n", "sub/c.yaml": "us c\n"}
    writer.commit_tree(target, directory="clusters/eu-1", files=eu, message="eu")
    writer.commit_tree(target, directory="clusters/us-1", files=us, message="us")
    writer.commit_tree(target, directory="clusters/eu-1", files={"d.yaml": "eu2\n"}, message="eu2")

    assert bare_repo.files_at("main", "clusters/us-1") == us
    assert bare_repo.files_at("main", "clusters/eu-1") == {"d.yaml": "eu2\n"}
    assert writer.read_tree(target, directory="clusters/us-1") == us


def test_a_missing_branch_starts_from_an_empty_tree(
    writer: GitWriter,
    bare_repo: BareRepo,  # noqa: F811
) -> None:
    main = writer.commit_tree(GitTarget(bare_repo.url), directory="a", files=STACK, message="m")
    prod = GitTarget(bare_repo.url, branch="env/prod")
    sha = writer.commit_tree(prod, directory="b", files={"x": "1\n"}, message="p")

    assert sha is not None and bare_repo.head("env/prod") == sha
    assert bare_repo.git("rev-list", "--parents", "-n1", sha).decode().split() == [sha]
    assert bare_repo.files_at("env/prod", "a") == {}
    assert bare_repo.head("main") == main
    assert writer.read_tree(prod, directory="b") == {"x": "1\n"}


# -- failures and recovery -----------------------------------------------------------------


def test_a_rejected_push_leaves_the_remote_alone_and_the_clone_recovers(
    writer: GitWriter,
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
    tmp_path: Path,
) -> None:
    before = writer.commit_tree(target, directory="clusters/eu-1", files=STACK, message="one")
    bare_repo.reject_pushes("policy: clusters/eu-1 is frozen")

    with pytest.raises(PushRejected) as caught:
        writer.commit_tree(
            target, directory="clusters/eu-1", files={"leak.yaml": "x\n"}, message="rejected"
        )
    assert "policy: clusters/eu-1 is frozen" in caught.value.detail
    assert "pre-receive hook declined" in caught.value.detail
    assert bare_repo.head() == before
    assert git_in(clone_of(tmp_path / "work"), "rev-parse", "refs/heads/main").strip() == before

    bare_repo.allow_pushes()
    after = writer.commit_tree(target, directory="clusters/us-1", files=STACK, message="two")
    assert after is not None and bare_repo.log() == ["two", "one"]
    assert changed_paths(bare_repo, before, after) == {f"clusters/us-1/{n}" for n in STACK}
    assert bare_repo.files_at("main", "clusters/eu-1") == STACK


def test_an_unreachable_repository_is_unavailable_quickly(
    writer: GitWriter, tmp_path: Path
) -> None:
    started = time.monotonic()
    missing = GitTarget((tmp_path / "nowhere.git").as_uri())
    with pytest.raises(GitUnavailable, match=r"nowhere\.git"):
        writer.commit_tree(missing, directory="c", files=STACK, message="m")
    with pytest.raises(GitUnavailable):
        writer.read_tree(missing, directory="c")
    with pytest.raises(GitUnavailable):
        writer.head(missing)
    assert time.monotonic() - started < 10


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_token_never_appears_in_errors_or_reprs(writer: GitWriter, tmp_path: Path) -> None:
    target = GitTarget(f"https://127.0.0.1:{closed_port()}/org/fleet.git", token=TOKEN)
    started = time.monotonic()
    for call in (
        lambda: writer.commit_tree(target, directory="c", files=STACK, message="m"),
        lambda: writer.read_tree(target, directory="c"),
        lambda: writer.head(target),
    ):
        with pytest.raises(GitUnavailable) as caught:
            call()
        assert "127.0.0.1" in caught.value.detail
        assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)
    assert time.monotonic() - started < 10
    assert TOKEN not in repr(target)
    assert_nowhere_on_disk(tmp_path / "work", TOKEN)


def assert_nowhere_on_disk(root: Path, secret: str) -> None:
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert secret.encode() not in path.read_bytes(), path


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request 401, remembering the Authorization headers it was sent."""

    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="fleet"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/org/fleet.git", seen
    server.shutdown()
    server.server_close()


def test_the_token_is_sent_through_askpass_and_masked_when_refused(
    writer: GitWriter, refusing_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, seen = refusing_server
    target = GitTarget(url, username="deployer", token=TOKEN)
    basic = base64.b64encode(f"deployer:{TOKEN}".encode()).decode()

    with pytest.raises(GitUnavailable) as caught:
        writer.commit_tree(target, directory="c", files=STACK, message="m")
    with pytest.raises(GitUnavailable) as listed:
        writer.head(target)

    assert f"Basic {basic}" in seen
    for error in (caught.value, listed.value):
        assert "Authentication failed" in error.detail
        assert TOKEN not in error.detail and basic not in error.detail
    assert_nowhere_on_disk(tmp_path / "work", TOKEN)


def test_a_hanging_remote_times_out_and_its_git_is_killed(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        writer = GitWriter(workdir=tmp_path / "work", timeout=1.5)
        started = time.monotonic()
        url = f"http://127.0.0.1:{port}/org/fleet.git"
        with pytest.raises(GitUnavailable, match=r"did not finish within 1\.5 seconds"):
            writer.head(GitTarget(url))
        assert time.monotonic() - started < 8
    assert processes_mentioning(url) == []


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that contain `text` (git's remote helpers, here)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        if text in command:
            found.append(command)
    return found


@pytest.mark.parametrize("forget_state", [False, True])
def test_a_local_branch_left_elsewhere_never_leaks_into_a_commit(
    writer: GitWriter,
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
    tmp_path: Path,
    forget_state: bool,
) -> None:
    first = writer.commit_tree(target, directory="clusters/eu-1", files=STACK, message="one")
    clone = clone_of(tmp_path / "work")
    junk_tree = git_in(clone, "mktree").strip()
    junk = git_in(
        clone, "-c", "user.name=x", "-c", "user.email=y", "commit-tree", junk_tree, "-m", "junk"
    ).strip()
    git_in(clone, "update-ref", "refs/heads/main", junk)
    if forget_state:
        (clone.parent / "state").unlink()

    second = writer.commit_tree(target, directory="clusters/us-1", files=STACK, message="two")
    assert second is not None and bare_repo.log() == ["two", "one"]
    assert changed_paths(bare_repo, first or "", second) == {f"clusters/us-1/{n}" for n in STACK}


def test_a_commit_made_elsewhere_is_fetched_not_overwritten(
    writer: GitWriter,
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
    tmp_path: Path,
) -> None:
    writer.commit_tree(target, directory="clusters/eu-1", files=STACK, message="one")
    push_from_scratch(bare_repo, tmp_path / "human", {"README.md": "hello\n"}, "by hand")

    sha = writer.commit_tree(target, directory="clusters/us-1", files=STACK, message="two")
    assert bare_repo.log() == ["two", "by hand", "one"] and bare_repo.head() == sha
    assert bare_repo.git("show", "main:README.md").decode() == "hello\n"

    # The other party rewrites our directory; unchanged input is then a real change again.
    push_from_scratch(bare_repo, tmp_path / "human", {"clusters/us-1/extra.yaml": "x\n"}, "edit")
    assert writer.read_tree(target, directory="clusters/us-1") == {**STACK, "extra.yaml": "x\n"}
    push_from_scratch(bare_repo, tmp_path / "human", {"clusters/eu-1/extra.yaml": "x\n"}, "edit2")
    fixed = writer.commit_tree(target, directory="clusters/eu-1", files=STACK, message="three")
    assert fixed is not None and bare_repo.files_at("main", "clusters/eu-1") == STACK


def test_writers_with_separate_clones_take_turns_without_losing_commits(
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
    tmp_path: Path,
) -> None:
    one = GitWriter(workdir=tmp_path / "one")
    two = GitWriter(workdir=tmp_path / "two")
    for index in range(3):
        one.commit_tree(target, directory=f"a/{index}", files={"f": "1\n"}, message=f"a{index}")
        two.commit_tree(target, directory=f"b/{index}", files={"f": "2\n"}, message=f"b{index}")
    assert len(bare_repo.log()) == 6
    for index in range(3):
        assert bare_repo.files_at("main", f"a/{index}") == {"f": "1\n"}
        assert bare_repo.files_at("main", f"b/{index}") == {"f": "2\n"}


def test_a_parent_that_is_a_symbolic_link_is_a_conflict(
    writer: GitWriter,
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
    tmp_path: Path,
) -> None:
    scratch = tmp_path / "human"
    push_from_scratch(bare_repo, scratch, {"README.md": "x\n"}, "init")
    (scratch / "clusters").symlink_to("/tmp")
    push_from_scratch(bare_repo, scratch, {}, "link")
    head = bare_repo.head()

    with pytest.raises(Conflict, match="symbolic link"):
        writer.commit_tree(target, directory="clusters/eu-1", files=STACK, message="m")
    assert bare_repo.head() == head


# -- concurrency -----------------------------------------------------------------------------


def test_eight_threads_committing_eight_directories_all_land(
    writer: GitWriter,
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
) -> None:
    results: dict[int, str | None] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def commit(index: int) -> None:
        try:
            barrier.wait()
            results[index] = writer.commit_tree(
                target,
                directory=f"clusters/c{index}",
                files={"id.yaml": f"id: {index}\n", "common.yaml": "x: 1\n"},
                message=f"cluster {index}",
            )
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=commit, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(bare_repo.log()) == 8 and all(results.values())
    for index in range(8):
        assert bare_repo.files_at("main", f"clusters/c{index}") == {
            "id.yaml": f"id: {index}\n",
            "common.yaml": "x: 1\n",
        }


def test_concurrent_commits_to_one_directory_never_lose_an_update_silently(
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
    tmp_path: Path,
) -> None:
    writers = [GitWriter(workdir=tmp_path / "shared"), GitWriter(workdir=tmp_path / "own")]
    versions = [{"v.yaml": f"version: {index}\n"} for index in range(4)]
    landed: list[dict[str, str]] = []
    rejected: list[PushRejected] = []
    barrier = threading.Barrier(4)

    def commit(index: int) -> None:
        barrier.wait()
        try:
            sha = writers[index % 2].commit_tree(
                target, directory="clusters/eu-1", files=versions[index], message=f"v{index}"
            )
        except PushRejected as error:
            rejected.append(error)
        else:
            if sha is not None:
                landed.append(versions[index])

    threads = [threading.Thread(target=commit, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(landed) + len(rejected) == 4
    assert len(bare_repo.log()) == len(landed)
    final = bare_repo.files_at("main", "clusters/eu-1")
    assert final in versions and final in landed
    subjects = bare_repo.log()
    assert final == versions[int(subjects[0][1:])]


def test_two_writers_in_one_process_share_a_workdir_safely(
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
    tmp_path: Path,
) -> None:
    writers = [GitWriter(workdir=tmp_path / "work") for _ in range(2)]
    errors: list[BaseException] = []

    def run(which: int) -> None:
        try:
            for index in range(4):
                writers[which].commit_tree(
                    target, directory=f"w{which}/c{index}", files={"f": "x\n"}, message="m"
                )
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(which,)) for which in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(bare_repo.log()) == 8


_CHILD = """
import sys
from pathlib import Path
from lamina.adapters.git import GitTarget, GitWriter

workdir, url, name = sys.argv[1:]
writer = GitWriter(workdir=Path(workdir))
for index in range(4):
    writer.commit_tree(
        GitTarget(url), directory=f"{name}/c{index}", files={"f": name}, message=name
    )
"""


def test_processes_sharing_a_workdir_are_serialised_by_the_file_lock(
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "work"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(workdir), bare_repo.url, name],
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("p1", "p2", "p3")
    ]
    failures = [child.communicate(timeout=120)[1] for child in children if child.wait(120)]
    assert failures == []
    assert len(bare_repo.log()) == 12


# -- input checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "directory", ["", "/clusters/eu-1", "../eu-1", "clusters/../../x", ".git", "a/.GIT/b", "a\\b"]
)
def test_a_directory_escaping_the_repository_is_refused(
    writer: GitWriter,
    target: GitTarget,
    directory: str,
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError):
        writer.commit_tree(target, directory=directory, files=STACK, message="m")
    with pytest.raises(ValueError):
        writer.read_tree(target, directory=directory)
    assert not (tmp_path / "work").exists() or not list((tmp_path / "work").glob("*/repo.git"))


@pytest.mark.parametrize(
    "files",
    [
        {"../escape.yaml": "x"},
        {"/etc/passwd": "x"},
        {"a/../../b": "x"},
        {".git/config": "x"},
        {"a/./b": "x"},
        {"a//b": "x"},
        {"": "x"},
        {"a": "file", "a/b": "and folder"},
    ],
)
def test_file_paths_escaping_the_directory_are_refused_before_writing(
    writer: GitWriter,
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
    files: dict[str, str],
    tmp_path: Path,
) -> None:
    writer.commit_tree(target, directory="c", files={"ok": "1"}, message="one")
    with pytest.raises(ValueError):
        writer.commit_tree(target, directory="c", files={"fine": "y", **files}, message="m")
    assert bare_repo.log() == ["one"]


def test_targets_refuse_credentials_in_urls_and_bad_branches() -> None:
    with pytest.raises(ValueError, match="token"):
        GitTarget(f"https://deployer:{TOKEN}@example.com/fleet.git")
    for branch in ("", "-x", "a..b", "a b", "HEAD", "x.lock", "a//b", "/a"):
        with pytest.raises(ValueError):
            GitTarget("https://example.com/fleet.git", branch=branch)
    with pytest.raises(ValueError):
        GitTarget("--upload-pack=touch /tmp/pwned")
    assert TOKEN not in repr(GitTarget("https://example.com/fleet.git", token=TOKEN))


# -- reading ---------------------------------------------------------------------------------


def test_read_tree_returns_the_directory_at_the_branch_head(
    writer: GitWriter,
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
    tmp_path: Path,
) -> None:
    assert writer.read_tree(target, directory="clusters/eu-1") == {}
    writer.commit_tree(target, directory="clusters/eu-1", files=STACK, message="one")
    assert writer.read_tree(target, directory="clusters/eu-1") == STACK
    assert writer.read_tree(target, directory="clusters/eu-1/app") == {
        "deployment.yaml": STACK["app/deployment.yaml"],
        "service.yaml": STACK["app/service.yaml"],
    }
    assert writer.read_tree(target, directory="clusters/nope") == {}
    assert writer.read_tree(target, directory="clusters/eu-1/kustomization.yaml") == {}

    reader = GitWriter(workdir=tmp_path / "reader")
    assert reader.read_tree(target, directory="clusters/eu-1") == STACK
    writer.commit_tree(target, directory="clusters/eu-1", files={"only": "1\n"}, message="two")
    assert reader.read_tree(target, directory="clusters/eu-1") == {"only": "1\n"}


def test_the_workdir_holds_one_clone_per_repository_and_branch(
    writer: GitWriter,
    bare_repo: BareRepo,  # noqa: F811
    tmp_path: Path,
) -> None:
    other = BareRepo(tmp_path / "other.git")
    for url, branch in [(bare_repo.url, "main"), (bare_repo.url, "dev"), (other.url, "main")]:
        writer.commit_tree(
            GitTarget(url, branch=branch), directory="c", files={"f": "x"}, message="m"
        )
        writer.commit_tree(
            GitTarget(url, branch=branch), directory="d", files={"f": "x"}, message="m"
        )
    assert len(list((tmp_path / "work").glob("*/repo.git"))) == 3
    assert os.path.isdir(tmp_path / "work" / ".lamina-git" / "home")


def test_odd_file_names_round_trip_and_compare_equal(
    writer: GitWriter,
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
) -> None:
    files = {
        "with space.yaml": "a\n",
        'quote"d.yaml': "b\n",
        "back-tick`$(x).yaml": "c\n",
        "ünïcödé/日本.yaml": "d: ✓\n",
        "a-b/c": "",
        "a/b": "sorted after a-b\n",
        "a.b": "and a.b\n",
    }
    sha = writer.commit_tree(target, directory="weird dir/x", files=files, message="odd")
    assert sha is not None
    assert bare_repo.files_at("main", "weird dir/x") == files
    assert writer.read_tree(target, directory="weird dir/x") == files
    assert writer.commit_tree(target, directory="weird dir/x", files=files, message="2") is None
    assert bare_repo.log() == ["odd"]


def test_messages_are_cleaned_like_git_commit_does(
    writer: GitWriter,
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
) -> None:
    writer.commit_tree(
        target, directory="c", files={"f": "x"}, message="\n\nSubject  \n\n\n\nBody\t\n# kept\n\n"
    )
    assert bare_repo.git("log", "-1", "--format=%B").decode() == "Subject\n\nBody\n# kept\n\n"
    with pytest.raises(ValueError):
        writer.commit_tree(target, directory="c", files={"f": "y"}, message=" \n\t\n")


def test_periodic_garbage_collection_keeps_working(
    writer: GitWriter,
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(git_adapter, "GC_EVERY", 2)
    for index in range(5):
        writer.commit_tree(target, directory=f"c{index}", files={"f": "x"}, message=f"m{index}")
    assert len(bare_repo.log()) == 5
    assert writer.read_tree(target, directory="c4") == {"f": "x"}


def test_a_token_is_never_stored_in_the_clone_or_the_history(
    writer: GitWriter,
    bare_repo: BareRepo,  # noqa: F811
    tmp_path: Path,
) -> None:
    target = GitTarget(bare_repo.url, username="deployer", token=TOKEN)
    writer.commit_tree(target, directory="c", files=STACK, message="with a token at hand")
    assert writer.read_tree(target, directory="c") == STACK
    blobs = bare_repo.all_blobs()
    assert sorted(blobs) == sorted(text.encode() for text in STACK.values())
    assert not any(TOKEN.encode() in blob for blob in blobs)
    assert_nowhere_on_disk(tmp_path / "work", TOKEN)


def test_several_directories_land_in_one_commit(
    writer: GitWriter,
    target: GitTarget,
    bare_repo: BareRepo,  # noqa: F811
) -> None:
    first = writer.commit_trees(
        target,
        trees={"clusters/a": STACK, "clusters/b": {"only.yaml": "b: 1\n"}},
        message="two clusters",
    )
    assert first is not None and bare_repo.head() == first
    assert bare_repo.files_at("main", "clusters/a") == STACK
    assert bare_repo.files_at("main", "clusters/b") == {"only.yaml": "b: 1\n"}
    # One directory unchanged, one changed: the commit holds only the change.
    second = writer.commit_trees(
        target,
        trees={"clusters/a": STACK, "clusters/b": {"only.yaml": "b: 2\n"}},
        message="one changed",
    )
    assert second is not None
    assert changed_paths(bare_repo, first, second) == {"clusters/b/only.yaml"}
    unchanged = writer.commit_trees(
        target,
        trees={"clusters/a": STACK, "clusters/b": {"only.yaml": "b: 2\n"}},
        message="nothing",
    )
    assert unchanged is None and bare_repo.head() == second
    with pytest.raises(ValueError, match="inside"):
        writer.commit_trees(
            target, trees={"clusters/a": STACK, "clusters/a/x": STACK}, message="nested"
        )
    assert bare_repo.head() == second
