"""Chart archive checks, run before any archive reaches Helm (standard library only).

A chart archive is a gzip-compressed tar holding one top-level directory with a Chart.yaml.
`check_archive` refuses anything else, and anything that could hurt whoever unpacks it:
members escaping that directory, links and devices, and archives that inflate beyond a
limit. Decompression streams through a counting reader, so a gzip bomb is inflated only up
to the limit, never fully.

Issue codes: `chart_too_large`, `chart_corrupt`, `chart_path_escape`,
`chart_digest_mismatch`.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import io
import re
import tarfile
import zlib
from typing import TYPE_CHECKING

from lamina.domain.errors import InvalidChart, Issue

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

MAX_ARCHIVE_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_MEMBERS = 5_000

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 64 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


class _Refused(Exception):
    """Internal: the archive broke a rule; carries the issue code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _CappedReader(io.RawIOBase):
    """Reads a decompressing stream and refuses to yield more than `limit` bytes in all."""

    def __init__(self, stream: io.BufferedIOBase, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        target = memoryview(buffer).cast("B")
        # Ask for at most one byte over the limit, so crossing it is seen without inflating more.
        wanted = min(len(target), self._limit - self.total + 1)
        chunk = self._stream.read(wanted)
        self.total += len(chunk)
        if self.total > self._limit:
            raise _Refused(
                "chart_too_large", f"the archive unpacks to more than {self._limit} bytes"
            )
        target[: len(chunk)] = chunk
        return len(chunk)


def check_archive(
    data: bytes,
    *,
    max_bytes: int = MAX_ARCHIVE_BYTES,
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
    max_members: int = MAX_MEMBERS,
) -> None:
    """Return when `data` is a safe chart archive; raise InvalidChart saying why it is not.

    Checks, in order: compressed size, gzip magic, then while streaming the tar: member
    count, each member's path and type, the running unpacked size, and finally that one
    top-level directory holds a Chart.yaml and the whole gzip stream is intact.
    """
    try:
        if len(data) > max_bytes:
            raise _Refused("chart_too_large", f"the archive is over the limit of {max_bytes} bytes")
        if not data.startswith(_GZIP_MAGIC):
            raise _Refused("chart_corrupt", "the archive is not a gzip-compressed tar")
        _check_stream(data, max_unpacked_bytes=max_unpacked_bytes, max_members=max_members)
    except _Refused as refused:
        raise InvalidChart(
            f"The chart archive was refused: {refused.message}",
            issues=[Issue("", refused.code, refused.message)],
        ) from None


def _check_stream(data: bytes, *, max_unpacked_bytes: int, max_members: int) -> None:
    with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as unzipped:
        reader = _CappedReader(unzipped, max_unpacked_bytes)
        try:
            names = _check_members(reader, max_unpacked_bytes, max_members)
            # Drain what follows the tar's end marker too: trailing data may be a bomb, and a
            # truncated or corrupt gzip trailer only shows at the end of the stream.
            while reader.read(_CHUNK):
                pass
        except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
            raise _Refused(
                "chart_corrupt", f"the archive is not a valid gzip tar: {error}"
            ) from None
    _check_root(names)


def _check_members(reader: io.RawIOBase, max_unpacked: int, max_members: int) -> list[str]:
    names: list[str] = []
    declared = 0
    # Stream mode ("r|") reads strictly forward: nothing is buffered or seeked back to.
    with tarfile.open(fileobj=reader, mode="r|") as tar:
        for member in tar:
            names.append(member.name)
            if len(names) > max_members:
                raise _Refused("chart_too_large", f"the archive has more than {max_members} files")
            _check_member(member)
            declared += member.size
            if declared > max_unpacked:
                raise _Refused(
                    "chart_too_large", f"the archive unpacks to more than {max_unpacked} bytes"
                )
    return names


def _check_member(member: tarfile.TarInfo) -> None:
    name = member.name
    parts = re.split(r"[/\\]", name)
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise _Refused("chart_path_escape", f"the archive member {name!r} has an absolute path")
    if ".." in parts:
        raise _Refused("chart_path_escape", f"the archive member {name!r} escapes its directory")
    if not (member.isfile() or member.isdir()):
        raise _Refused(
            "chart_path_escape",
            f"the archive member {name!r} is a {_kind(member)}; only files and directories "
            "are allowed",
        )


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "symbolic link"
    if member.islnk():
        return "hard link"
    if member.isdev():
        return "device or pipe"
    return "special file"


def _check_root(names: list[str]) -> None:
    roots = {name.split("/", 1)[0] for name in names}
    if len(roots) != 1:
        found = "no files" if not roots else f"{len(roots)} top-level entries"
        raise _Refused(
            "chart_corrupt", f"a chart archive holds one top-level directory, found {found}"
        )
    root = roots.pop()
    if f"{root}/Chart.yaml" not in names:
        raise _Refused("chart_corrupt", f"the archive has no {root}/Chart.yaml")


def too_large(max_bytes: int) -> InvalidChart:
    """The error for an archive over `max_bytes`, for code that reads archives in pieces."""
    message = f"the archive is over the limit of {max_bytes} bytes"
    return InvalidChart(
        f"The chart archive was refused: {message}", issues=[Issue("", "chart_too_large", message)]
    )


def sha256_digest(data: bytes) -> str:
    """`sha256:<hex>` of `data`, the form chart indexes and the blob store use."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def normalise_digest(digest: str) -> str:
    """`sha256:<hex>` for a digest written that way or as bare hex (as index.yaml has it);
    the empty string when `digest` is neither."""
    text = digest.strip().lower()
    hex_part = text.removeprefix("sha256:")
    return f"sha256:{hex_part}" if _HEX_DIGEST.fullmatch(hex_part) else ""


def verify_digest(data: bytes, expected: str) -> None:
    """Raise InvalidChart (`chart_digest_mismatch`) unless `data` has digest `expected`
    (`sha256:<hex>` or bare hex)."""
    wanted = normalise_digest(expected)
    actual = sha256_digest(data)
    if not wanted:
        message = f"the expected digest {expected!r} is not a sha256 digest"
    elif hmac.compare_digest(wanted, actual):
        return
    else:
        message = f"the archive's digest is {actual}, expected {wanted}"
    raise InvalidChart(
        f"The chart archive was refused: {message}",
        issues=[Issue("", "chart_digest_mismatch", message)],
    )
