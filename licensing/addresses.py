"""Whether a host:port stays on this machine: the one test behind every "plaintext only to
loopback" rule (the server's listen address, the support CLI's and the bridge's server address)."""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback"]


def is_loopback(address: str) -> bool:
    """True for localhost, 127.0.0.0/8, ::1 and Unix sockets, with or without a port."""
    if address.startswith("unix:"):
        return True
    address = address.removeprefix("dns:///")
    host = address.rsplit(":", 1)[0] if address.count(":") == 1 or address.startswith("[") else address
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
