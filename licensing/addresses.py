"""Whether a host:port stays on this machine: the one test behind every "plaintext only to
loopback" rule (the server's listen address, the support CLI's and the bridge's server address)."""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback", "listen_address"]


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


def listen_address(text: str) -> str:
    """A host:port to listen on, checked: a bare port or a port beyond 65535 is a usage error.

    gRPC itself would treat `50152` as a host name and `127.0.0.1:99999` as some other port, so
    the mistake would surface later as a message about TLS, or not at all.
    """
    import argparse  # only the CLI calls this, as an argparse `type`

    value = text.strip()
    if value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is a port alone: give host:port, e.g. 127.0.0.1:{value}")
    if value.startswith("unix:"):
        return value
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or (host.count(":") and not host.startswith("[")):
        raise argparse.ArgumentTypeError(f"{value!r} is not host:port, e.g. 127.0.0.1:50051 or [::1]:50051")
    if int(port) > 65535:
        raise argparse.ArgumentTypeError(
            f"port {port} is out of range: a port is 0 to 65535 (0 picks a free one)"
        )
    return value
