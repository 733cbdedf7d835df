"""The disk blob store: content-addressed, atomic, and never serving damaged bytes."""

from __future__ import annotations

import threading
from pathlib import Path

from lamina.adapters import archives
from lamina.adapters.blobs import DiskBlobStore


def test_put_then_get(tmp_path: Path) -> None:
    store = DiskBlobStore(tmp_path / "blobs")
    digest = store.put(b"chart archive")
    assert digest == archives.sha256_digest(b"chart archive")
    hex_part = digest.removeprefix("sha256:")
    assert (tmp_path / "blobs" / "sha256" / f"{hex_part}.tgz").read_bytes() == b"chart archive"
    assert store.get(digest) == b"chart archive"
    assert store.put(b"chart archive") == digest  # idempotent
    assert DiskBlobStore(tmp_path / "blobs").get(digest) == b"chart archive"  # persistent


def test_unknown_and_malformed_digests_are_absent(tmp_path: Path) -> None:
    store = DiskBlobStore(tmp_path)
    assert store.get(archives.sha256_digest(b"never stored")) is None
    for digest in ("", "sha256:", "sha256:../../etc/passwd", "md5:abc", "SHA256:" + "a" * 64):
        assert store.get(digest) is None


def test_a_damaged_blob_is_deleted_and_reported_absent(tmp_path: Path) -> None:
    store = DiskBlobStore(tmp_path)
    digest = store.put(b"original")
    path = tmp_path / "sha256" / f"{digest.removeprefix('sha256:')}.tgz"
    path.write_bytes(b"tampered")
    assert store.get(digest) is None
    assert not path.exists()
    assert store.put(b"original") == digest
    assert store.get(digest) == b"original"


def test_put_repairs_a_damaged_blob(tmp_path: Path) -> None:
    store = DiskBlobStore(tmp_path)
    digest = store.put(b"original")
    path = tmp_path / "sha256" / f"{digest.removeprefix('sha256:')}.tgz"
    path.write_bytes(b"truncat")
    store.put(b"original")
    assert path.read_bytes() == b"original"


def test_concurrent_writers_leave_one_whole_file_and_no_temporaries(tmp_path: Path) -> None:
    store = DiskBlobStore(tmp_path)
    data = bytes(range(256)) * 4096  # 1 MiB
    digests: list[str] = []
    threads = [threading.Thread(target=lambda: digests.append(store.put(data))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(digests)) == 1
    assert store.get(digests[0]) == data
    assert [p.name for p in (tmp_path / "sha256").iterdir()] == [
        f"{digests[0].removeprefix('sha256:')}.tgz"
    ]
