"""The data directory (chart cache, Git clones, secret key): probing it, and naming it when
it cannot be written instead of failing with a bare OS error."""

from __future__ import annotations

import contextlib
import errno
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lamina.domain.errors import StoreUnavailable

# Errors that mean "this directory cannot be used", as opposed to a missing file.
_UNUSABLE = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENOTDIR,
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EIO,
        errno.EEXIST,
    }
)


def unusable(root: Path, error: OSError) -> StoreUnavailable:
    reason = error.strerror or str(error)
    return StoreUnavailable(
        f"The data directory {root} cannot be used ({reason}); "
        "check LAMINA_DATA_DIR and its permissions"
    )


@contextlib.contextmanager
def guard(root: Path) -> Iterator[None]:
    """Turn the OS refusing to read or write under `root` into StoreUnavailable naming it."""
    try:
        yield
    except OSError as error:
        if error.errno not in _UNUSABLE:
            raise
        raise unusable(root, error) from error


def check(root: Path) -> None:
    """StoreUnavailable unless a file can be created (and removed) in `root`."""
    with guard(root):
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root, prefix=".probe-"):
            pass
