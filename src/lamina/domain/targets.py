"""Pure rules about outbound targets: which addresses are off limits, what a Git URL names,
and which branch names and repository folders a Git target may use."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK: tuple[_Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
# Ranges no tenant may reach from the server: this machine, the networks it sits in, and
# addresses that are not one host. Checked after DNS resolution.
DENIED: tuple[tuple[_Network, str], ...] = (
    *((network, "loopback") for network in LOOPBACK),
    (ipaddress.ip_network("0.0.0.0/8"), "unspecified"),
    (ipaddress.ip_network("::/128"), "unspecified"),
    (ipaddress.ip_network("10.0.0.0/8"), "private"),
    (ipaddress.ip_network("172.16.0.0/12"), "private"),
    (ipaddress.ip_network("192.168.0.0/16"), "private"),
    (ipaddress.ip_network("100.64.0.0/10"), "shared (CGNAT)"),
    (ipaddress.ip_network("fc00::/7"), "unique local"),
    (ipaddress.ip_network("169.254.0.0/16"), "link-local"),
    (ipaddress.ip_network("fe80::/10"), "link-local"),
    (ipaddress.ip_network("224.0.0.0/4"), "multicast"),
    (ipaddress.ip_network("ff00::/8"), "multicast"),
    (ipaddress.ip_network("240.0.0.0/4"), "reserved"),
)
# IPv6 prefixes that carry an IPv4 address a gateway connects to (NAT64, 6to4).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")

_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>\[[^\]/]+\]|[^@/:\[\]]+):(?P<path>.*)$")
_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


@dataclass(frozen=True)
class Target:
    """What a target URL names: its scheme (`ssh` for scp-like `git@host:path`), user, host
    (lower case, without IPv6 brackets; empty for file://), port and path."""

    scheme: str
    user: str
    host: str
    port: int | None
    path: str


def parse_target(url: str) -> Target | None:
    """The parts of a `scheme://…` or scp-like URL; None when it is neither."""
    if _CONTROL.search(url):
        return None
    if _SCHEME.match(url):
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        return Target(
            scheme=parts.scheme.lower(),
            user=unquote(parts.username or ""),
            host=(parts.hostname or "").lower(),
            port=port,
            path=unquote(parts.path),
        )
    found = _SCP_LIKE.match(url)
    if found is None or "/" in (found["user"] or ""):
        return None
    host = found["host"].strip("[]").lower()
    return Target("ssh", found["user"] or "", host, None, found["path"])


def is_loopback_name(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


def address_denial(address: str, *, allow_loopback: bool) -> str | None:
    """Why `address` (an IP literal) may not be a target (e.g. `private`), or None."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return address_denial(str(embedded), allow_loopback=allow_loopback)
    for network, reason in DENIED:
        if ip.version == network.version and ip in network:
            if allow_loopback and reason == "loopback":
                return None
            return reason
    return None


def is_loopback_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == n.version and ip in n for n in LOOPBACK)


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    return None


def normalise_branch(branch: str) -> str:
    """`refs/heads/x` means the branch `x`."""
    return branch.removeprefix("refs/heads/")


def branch_problem(branch: str) -> str | None:
    """Why `branch` is no usable branch name (roughly `git check-ref-format --branch`)."""
    if not branch:
        return "is empty"
    if branch == "HEAD" or branch.startswith("refs/"):
        return "is reserved by Git"
    if branch.startswith("-"):
        return "may not start with '-'"
    if _BAD_REF_CHARS.search(branch):
        return "holds a space, a control character or one of ~^:?*[\\"
    if ".." in branch or "@{" in branch or branch == "@":
        return "holds '..' or '@{' or is '@'"
    if branch.endswith((".", "/")) or "//" in branch:
        return "ends with '.' or '/' or holds '//'"
    for part in branch.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return "has a part that starts with '.' or ends with '.lock'"
    return None


def folder_problem(path: str) -> str | None:
    """Why `path` may not be the folder a stack is written to inside a repository."""
    if _CONTROL.search(path.replace(" ", "")) or "\\" in path:
        return "holds a control character or a backslash"
    if path.startswith("/"):
        return "must be relative to the repository root"
    parts = path.split("/")
    if ".." in parts:
        return "may not climb out with '..'"
    if any(part.lower() == ".git" for part in parts):
        return "may not write into '.git'"
    return None
