"""Secret parameters reach Git only SOPS-encrypted for the cluster's age key: real `sops`,
real age keys, real bare Git repositories."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import httpx
import pyrage
import yaml

from lamina.adapters.sops import find_program
from tests.api.test_clusters import CLUSTERS, SECRET, commit, instantiate, register
from tests.api.test_journey import PROFILES, import_doc
from tests.documents import web_platform
from tests.fixtures.gitrepos import BareRepo


def age_pair() -> tuple[str, str]:
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def with_credentials() -> dict[str, Any]:
    """web-platform with a layer holding a Secret and a ConfigMap that take the secret."""
    doc = web_platform()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {
            "password": "${{ params.admin_password }}",
            "url": "postgres://admin:${{ params.admin_password }}@db:5432/shop",
        },
    }
    leaky = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "leaky"},
        "data": {"password": "${{ params.admin_password }}"},
    }
    doc["spec"]["layers"].append(
        {
            "name": "credentials",
            "category": "apps",
            "namespace": "shop",
            "manifests": [secret, leaky],
        }
    )
    return doc


def decrypt(text: str, private_key: str) -> dict[str, Any]:
    program = find_program()
    assert program is not None
    env = {"PATH": os.defpath, "HOME": "/nonexistent", "SOPS_AGE_KEY": private_key}
    done = subprocess.run(
        [program, "decrypt", "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin"],
        input=text,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(yaml.safe_load(done.stdout))


def history(repo: BareRepo) -> str:
    return subprocess.run(
        ["git", "-C", str(repo.path), "log", "-p", "--all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_the_age_recipient_is_validated_stored_and_changed_by_admins(
    client: httpx.Client, bare_repo: BareRepo
) -> None:
    _, public = age_pair()
    bad = client.post(
        CLUSTERS,
        json={"name": "bad", "gitops": {"url": bare_repo.url, "age_recipient": "age1nope"}},
    )
    assert bad.status_code == 422
    assert [e["path"] for e in bad.json()["errors"]] == ["gitops.age_recipient"]
    cluster = register(client, "keyed", bare_repo, age_recipient=public)
    assert cluster["gitops"]["age_recipient"] == public
    cleared = client.patch(f"{CLUSTERS}/{cluster['id']}", json={"gitops": {"age_recipient": ""}})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["gitops"]["age_recipient"] is None
    kept = client.patch(f"{CLUSTERS}/{cluster['id']}", json={"gitops": {"age_recipient": public}})
    assert kept.json()["gitops"]["age_recipient"] == public
    renamed = client.patch(f"{CLUSTERS}/{cluster['id']}", json={"gitops": {"branch": "main"}})
    assert renamed.json()["gitops"]["age_recipient"] == public


def test_rendered_mode_commits_secrets_encrypted_for_the_cluster(
    client: httpx.Client, bare_repo: BareRepo
) -> None:
    private, public = age_pair()
    profile_id = import_doc(client, with_credentials()).json()["profile"]["id"]
    cluster = register(client, "sealed", bare_repo, age_recipient=public)
    proposed = instantiate(client, cluster, profile_id)
    assert proposed.status_code == 201, proposed.text
    codes = {w["code"] for w in proposed.json()["warnings"]}
    assert "secret_outside_secret" in codes and SECRET not in proposed.text
    review = client.get(
        f"{CLUSTERS}/{cluster['id']}/stack-drafts/{proposed.json()['draft_id']}/diff"
    )
    assert SECRET not in review.text
    assert commit(client, cluster, proposed.json()["draft_id"]).status_code == 200

    files = bare_repo.files_at("main", "clusters/sealed")
    [secret_file] = [p for p in files if p.endswith("shop.secret-db.yaml")]
    assert "sops:" in files[secret_file] and "ENC[AES256_GCM" in files[secret_file]
    plain = decrypt(files[secret_file], private)
    assert plain["stringData"] == {
        "password": SECRET,
        "url": f"postgres://admin:{SECRET}@db:5432/shop",
    }
    [leaky] = [text for path, text in files.items() if path.endswith("configmap-leaky.yaml")]
    assert "${lamina_secret_admin_password}" in leaky

    # The same stack again: the encrypted Secret is kept byte for byte.
    [row] = client.get(f"{PROFILES}/{profile_id}/instantiations").json()
    again = client.post(f"{CLUSTERS}/{cluster['id']}/instantiations/{row['id']}/upgrade", json={})
    assert again.status_code == 201, again.text
    assert commit(client, cluster, again.json()["draft_id"]).status_code == 200
    assert bare_repo.files_at("main", "clusters/sealed")[secret_file] == files[secret_file]

    assert SECRET not in history(bare_repo)
    for blob in bare_repo.all_blobs():
        assert SECRET.encode() not in blob


def test_flux_mode_feeds_helm_releases_from_an_encrypted_secret(
    client: httpx.Client, bare_repo: BareRepo
) -> None:
    private, public = age_pair()
    profile_id = import_doc(client, web_platform()).json()["profile"]["id"]
    cluster = register(client, "flux-sealed", bare_repo, mode="flux", age_recipient=public)
    draft = instantiate(client, cluster, profile_id).json()["draft_id"]
    assert commit(client, cluster, draft).status_code == 200
    files = bare_repo.files_at("main", "clusters/flux-sealed")
    [release] = [yaml.safe_load(t) for p, t in files.items() if "helmrelease" in p]
    [source] = release["spec"]["valuesFrom"]
    assert source["name"] == "web-platform-ingress-secrets"
    [secret_file] = [p for p in files if p.endswith("secret-web-platform-ingress-secrets.yaml")]
    assert decrypt(files[secret_file], private)["stringData"] == {"admin_password": SECRET}
    unit = yaml.safe_load(files[f"flux/{secret_file.split('/')[0]}.yaml"])
    assert unit["spec"]["decryption"] == {"provider": "sops", "secretRef": {"name": "sops-age"}}
    assert SECRET not in history(bare_repo)


def test_clusters_without_a_key_keep_placeholders_with_a_warning(
    client: httpx.Client, bare_repo: BareRepo
) -> None:
    profile_id = import_doc(client, with_credentials()).json()["profile"]["id"]
    cluster = register(client, "plain", bare_repo)
    proposed = instantiate(client, cluster, profile_id)
    assert proposed.status_code == 201, proposed.text
    assert "secrets_as_placeholders" in {w["code"] for w in proposed.json()["warnings"]}
    assert commit(client, cluster, proposed.json()["draft_id"]).status_code == 200
    files = bare_repo.files_at("main", "clusters/plain")
    assert "sops:" not in "".join(files.values())
    assert SECRET not in history(bare_repo)
