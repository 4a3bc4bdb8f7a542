"""Put this folder on PYTHONPATH and every Python process started with it cannot open a socket.

tests/client/test_no_network.py runs the client test suite this way (the pytest process and the
license-check processes it starts), so a test that needed the network would fail, not pass
quietly on a machine that has one. Python imports ``sitecustomize`` at start-up by itself.
"""

import os
import socket


class NetworkBlocked(RuntimeError):
    """Not an OSError, so no library mistakes it for a passing network hiccup and retries."""


def _blocked(*args: object, **kwargs: object) -> None:
    raise NetworkBlocked("the client test suite must not use the network")


socket.socket.__init__ = _blocked  # type: ignore[method-assign]
socket.create_connection = _blocked  # type: ignore[assignment]
socket.socketpair = _blocked  # type: ignore[assignment]
socket.getaddrinfo = _blocked  # type: ignore[assignment]
socket.fromfd = _blocked  # type: ignore[assignment]
os.environ["LICENSING_NETWORK_BLOCKED"] = "1"
