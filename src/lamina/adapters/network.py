"""Name resolution for the target policy: the addresses a host name stands for."""

from __future__ import annotations

import socket


def resolve(host: str) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6), [] when it does not resolve."""
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in found})
