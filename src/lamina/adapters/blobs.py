"""Chart archives on disk, addressed by content: `<root>/sha256/<hex>.tgz`.

Writes are atomic (a temporary file in the same directory, then os.replace), so a reader
never sees half a file and concurrent writers of one blob both succeed. Reads check the
digest, so a damaged file is dropped and reported missing rather than served.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path

from lamina.adapters import archives, datadir

_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")


class DiskBlobStore:
    """ports.BlobStore in a directory (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def get(self, digest: str) -> bytes | None:
        """The blob with `digest` (`sha256:<hex>`), or None when absent, when `digest` is not
        of that form, or when the stored bytes no longer match it (the file is then deleted)."""
        path = self._path(digest)
        if path is None:
            return None
        try:
            with datadir.guard(self.root):
                data = path.read_bytes()
        except FileNotFoundError:
            return None
        if archives.sha256_digest(data) != digest:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return None
        return data

    def put(self, data: bytes) -> str:
        """Store `data` and return its digest; storing it again is a no-op."""
        digest = archives.sha256_digest(data)
        path = self._path(digest)
        assert path is not None  # a digest we computed always has the expected form
        if path.is_file() and _sha256_of_file(path) == digest:
            return digest
        with datadir.guard(self.root):
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return digest

    def _path(self, digest: str) -> Path | None:
        found = _DIGEST.fullmatch(digest)
        return self.root / "sha256" / f"{found.group(1)}.tgz" if found else None


def _sha256_of_file(path: Path) -> str:
    with path.open("rb") as file:
        return "sha256:" + hashlib.file_digest(file, "sha256").hexdigest()
