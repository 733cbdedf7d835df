"""Credentials sealed at rest with Fernet (AES-128-CBC + HMAC-SHA256).

The key comes from LAMINA_SECRET_KEY, or from a key file created on first use with
owner-only permissions.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from lamina.adapters import datadir
from lamina.domain.errors import LaminaError


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        # A key of its own for digests, derived from the sealing key.
        self._digest_key = hmac.new(key, b"lamina digest", hashlib.sha256).digest()

    @classmethod
    def from_settings(cls, *, key: str, key_file: Path) -> SecretBox:
        """The box for a configured key, else for the key in `key_file` (created if absent)."""
        if key:
            return cls(key.encode())
        with datadir.guard(key_file.parent):
            if not key_file.exists():
                key_file.parent.mkdir(parents=True, exist_ok=True)
                descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(Fernet.generate_key())
            return cls(key_file.read_bytes().strip())

    def digest(self, plain: str) -> str:
        return hmac.new(self._digest_key, plain.encode(), hashlib.sha256).hexdigest()

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as error:
            raise LaminaError(
                "A stored credential cannot be decrypted: the secret key changed"
            ) from error
