"""Archive checks: hostile and broken tarballs are refused, quickly, with the right code."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lamina.adapters import archives
from lamina.domain.errors import InvalidChart

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

CHART_YAML = b"apiVersion: v2\nname: demo\nversion: 1.0.0\n"


def tarball(*members: tarfile.TarInfo | tuple[str, bytes]) -> bytes:
    """A .tgz of `members`: (name, content) pairs for files, TarInfo for anything else."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                name, content = member
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def special(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def refused(data: bytes, **limits: int) -> str:
    """The issue code check_archive refuses `data` with."""
    with pytest.raises(InvalidChart) as caught:
        archives.check_archive(data, **limits)
    [issue] = caught.value.issues
    assert issue.path == ""
    assert issue.message and issue.message in caught.value.detail
    return issue.code


def test_a_packaged_chart_passes(chart_archives: dict[str, Path]) -> None:
    for path in chart_archives.values():
        archives.check_archive(path.read_bytes())


def test_a_minimal_chart_passes() -> None:
    archives.check_archive(tarball(("demo/Chart.yaml", CHART_YAML), ("demo/values.yaml", b"")))


@pytest.mark.parametrize(
    ("members", "code"),
    [
        ([("demo/Chart.yaml", CHART_YAML), ("demo/../evil", b"x")], "chart_path_escape"),
        ([("../evil/Chart.yaml", CHART_YAML)], "chart_path_escape"),
        ([("demo/Chart.yaml", CHART_YAML), ("demo/..\\..\\evil", b"x")], "chart_path_escape"),
        ([("/etc/demo/Chart.yaml", CHART_YAML)], "chart_path_escape"),
        ([("C:/demo/Chart.yaml", CHART_YAML)], "chart_path_escape"),
        (
            [("demo/Chart.yaml", CHART_YAML), special("demo/link", tarfile.SYMTYPE, "/etc/passwd")],
            "chart_path_escape",
        ),
        (
            [("demo/Chart.yaml", CHART_YAML), special("demo/hard", tarfile.LNKTYPE, "demo/x")],
            "chart_path_escape",
        ),
        (
            [("demo/Chart.yaml", CHART_YAML), special("demo/dev", tarfile.CHRTYPE)],
            "chart_path_escape",
        ),
        (
            [("demo/Chart.yaml", CHART_YAML), special("demo/fifo", tarfile.FIFOTYPE)],
            "chart_path_escape",
        ),
        ([("demo/values.yaml", b"a: 1\n")], "chart_corrupt"),
        ([("Chart.yaml", CHART_YAML)], "chart_corrupt"),
        ([("demo/Chart.yaml", CHART_YAML), ("other/Chart.yaml", CHART_YAML)], "chart_corrupt"),
        ([], "chart_corrupt"),
    ],
    ids=[
        "dotdot-inside",
        "dotdot-root",
        "backslash-dotdot",
        "absolute",
        "drive-letter",
        "symlink",
        "hardlink",
        "device",
        "fifo",
        "no-chart-yaml",
        "no-root-directory",
        "two-roots",
        "empty",
    ],
)
def test_hostile_or_malformed_members_are_refused(
    members: list[tarfile.TarInfo | tuple[str, bytes]], code: str
) -> None:
    assert refused(tarball(*members)) == code


def test_random_bytes_and_plain_tar_are_corrupt() -> None:
    assert refused(os.urandom(4096)) == "chart_corrupt"
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w") as tar:
        info = tarfile.TarInfo("demo/Chart.yaml")
        info.size = len(CHART_YAML)
        tar.addfile(info, io.BytesIO(CHART_YAML))
    assert refused(plain.getvalue()) == "chart_corrupt"
    assert refused(b"") == "chart_corrupt"


def test_gzip_of_garbage_is_corrupt() -> None:
    assert refused(b"\x1f\x8b" + os.urandom(2000)) == "chart_corrupt"
    assert refused(gzip.compress(os.urandom(2000))) == "chart_corrupt"


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_archives_are_corrupt(chart_archives: dict[str, Path], keep: float) -> None:
    data = chart_archives["webapp-1.0.0"].read_bytes()
    assert refused(data[: int(len(data) * keep)]) == "chart_corrupt"


def test_a_damaged_gzip_trailer_is_corrupt(chart_archives: dict[str, Path]) -> None:
    data = bytearray(chart_archives["webapp-1.0.0"].read_bytes())
    data[-6] ^= 0xFF  # inside the CRC-32 of the gzip trailer
    assert refused(bytes(data)) == "chart_corrupt"


def test_an_archive_over_the_size_limit_is_refused_before_reading() -> None:
    data = tarball(("demo/Chart.yaml", CHART_YAML), ("demo/blob", os.urandom(4096)))
    assert refused(data, max_bytes=len(data) - 1) == "chart_too_large"
    assert refused(b"\x00" * (archives.MAX_ARCHIVE_BYTES + 1)) == "chart_too_large"


def test_too_many_members_are_refused() -> None:
    members = [("demo/Chart.yaml", CHART_YAML)] + [(f"demo/f{i}", b"") for i in range(20)]
    assert refused(tarball(*members), max_members=10) == "chart_too_large"


def test_a_member_declaring_a_huge_size_is_refused_from_its_header() -> None:
    """200 MiB of zeros in one member: refused from the tar header, nothing inflated."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo("demo/Chart.yaml")
        info.size = len(CHART_YAML)
        tar.addfile(info, io.BytesIO(CHART_YAML))
        info = tarfile.TarInfo("demo/zeros")
        info.size = 200 * 1024 * 1024
        tar.addfile(info, _Zeros(info.size))
    started = time.monotonic()
    assert refused(buffer.getvalue()) == "chart_too_large"
    assert time.monotonic() - started < 1


def test_a_gzip_bomb_after_the_tar_is_stopped_at_the_limit() -> None:
    """A valid small chart followed by 200 MiB of compressed zeros in the same gzip stream:
    the stream is inflated only up to the limit."""
    chart = io.BytesIO()
    with tarfile.open(fileobj=chart, mode="w") as tar:
        info = tarfile.TarInfo("demo/Chart.yaml")
        info.size = len(CHART_YAML)
        tar.addfile(info, io.BytesIO(CHART_YAML))
    data = _gzip_stream(chart.getvalue(), zeros=200 * 1024 * 1024)
    assert len(data) < 1024 * 1024
    started = time.monotonic()
    assert refused(data, max_unpacked_bytes=8 * 1024 * 1024) == "chart_too_large"
    assert time.monotonic() - started < 1
    started = time.monotonic()
    assert refused(data) == "chart_too_large"  # the default 100 MiB limit
    assert time.monotonic() - started < 5


def test_digests() -> None:
    data = b"chart bytes"
    digest = archives.sha256_digest(data)
    assert digest.startswith("sha256:") and len(digest) == 7 + 64
    archives.verify_digest(data, digest)
    archives.verify_digest(data, digest.removeprefix("sha256:").upper())
    for wrong in (archives.sha256_digest(b"other"), "sha256:abc", "md5:00", ""):
        with pytest.raises(InvalidChart) as caught:
            archives.verify_digest(data, wrong)
        assert [issue.code for issue in caught.value.issues] == ["chart_digest_mismatch"]
    assert archives.normalise_digest("ABCDEF" * 10 + "abcd") == "sha256:" + "abcdef" * 10 + "abcd"
    assert archives.normalise_digest("nonsense") == ""


class _Zeros(io.RawIOBase):
    """`size` zero bytes, produced on demand."""

    def __init__(self, size: int) -> None:
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        target = memoryview(buffer).cast("B")
        count = min(len(target), self._left)
        target[:count] = bytes(count)
        self._left -= count
        return count


def _gzip_stream(prefix: bytes, *, zeros: int) -> bytes:
    """One gzip member holding `prefix` then `zeros` zero bytes, compressed in pieces."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(prefix)]
    block = bytes(1024 * 1024)
    for _ in range(zeros // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.flush())
    return b"".join(parts)
