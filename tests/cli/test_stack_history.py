"""`lamina stack show|drafts|history|restore`, against the live server and a bare Git
repository."""

from __future__ import annotations

from tests.cli.conftest import Cli
from tests.cli.test_clusters import deployed, import_profile
from tests.fixtures.gitrepos import BareRepo

EXTRAS = """\
apiVersion: lamina.dev/v1
kind: StackProfile
metadata: {name: extras, description: Extra settings, category: apps}
spec:
  type: add-on
  parameters:
    - {name: token, type: secret, required: true}
  layers:
    - name: settings
      category: apps
      namespace: apps
      manifests:
        - {apiVersion: v1, kind: ConfigMap, metadata: {name: extras-settings}, data: {a: b}}
"""
TOKEN = "Never-Shown-Token-77"


def test_show_drafts_history_and_restore(cli: Cli, bare_repo: BareRepo) -> None:
    web = import_profile(cli)
    extras = import_profile(cli, EXTRAS)
    cluster = str(deployed(cli, "eu-1", bare_repo, web))
    first = bare_repo.head()
    args = ("stack", "instantiate", cluster, "--profile", str(extras), "-p", f"token={TOKEN}")
    draft = cli.json(*args)["draft_id"]

    listed = cli.ok("stack", "drafts", cluster).stdout
    assert "instantiate" in listed and "page 1 of 1 (total 1)" in listed
    [row] = cli.json("stack", "drafts", cluster)["result"]
    assert row["id"] == draft and row["stale"] is False
    cli.ok("stack", "commit", cluster, str(draft))

    shown = cli.ok("stack", "show", cluster)
    assert shown.stdout.startswith(f"cluster {cluster} at revision 2 (commit ")
    for text in (
        "web-platform",
        "extras",
        'domain="a.example"',
        "token=<secret>",
        "extras/settings",
    ):
        assert text in shown.stdout, shown.stdout
    stack = cli.json("stack", "show", cluster)
    assert [i["profile"]["name"] for i in stack["instantiations"]] == ["web-platform", "extras"]

    history = cli.ok("stack", "history", cluster).stdout
    assert "lamina: instantiate on eu-1" in history and "total 2" in history
    assert [r["revision"] for r in cli.json("stack", "history", cluster)["result"]] == [2, 1]

    restored = cli.ok("stack", "restore", cluster, "1")
    assert "restoring revision 1" in restored.stdout
    back = cli.json("stack", "restore", cluster, "1")["draft_id"]
    assert "extras-settings" in cli.ok("stack", "diff", cluster, str(back)).stdout
    cli.ok("stack", "commit", cluster, str(back))
    directory = "clusters/eu-1"
    assert bare_repo.files_at("main", directory) == bare_repo.files_at(first or "", directory)

    missing = cli("stack", "restore", cluster, "42")
    assert missing.exit_code == 1 and "no revision 42" in missing.output
    for result in (shown, restored):
        assert TOKEN not in result.output
