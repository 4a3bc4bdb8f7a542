"""`licensing serve --processes N`: N server processes on one port (SO_REUSEPORT), one database.

One Python process is one core's worth of interpreter; N processes use N cores. The kernel spreads
new connections over the processes listening with SO_REUSEPORT (by a hash of the connection), so a
client with one connection stays on one process and many clients spread. The processes share
nothing but the database: each has its own group committer, token cache and limits (so the
per-token look-up rate is N times the configured one, as with N replicas).

The parent opens the keyring (one passphrase prompt, one key derivation) and migrates, then forks
before any gRPC object exists, waits for every child to say it listens, prints the one line
"listening on port P", and on SIGTERM passes it on and waits for all of them to drain.

Metrics: every process counts into shared files (shared_metrics.py) under its number, 1 to N, and
the parent alone serves `--metrics-address`, the sum over the processes.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import socket
from collections.abc import Callable

from .. import metrics
from ..api.server import ServerOptions, serve_until_signalled, start_server, stop_on_signals
from ..config import Settings
from ..errors import ConfigurationError, LicensingError
from ..keyring import Keyring
from ..lifetime import die_with_parent
from ..logsafe import log_unexpected
from ..service import Service
from ..shared_metrics import SharedMetrics

__all__ = ["serve_processes"]

log = logging.getLogger("licensing.cli")


def _reserve(address: str) -> tuple[socket.socket, int]:
    """Bind (not listen) the port with SO_REUSEPORT: it fixes port 0 to one number every child
    binds, and refuses at once a port held by anything that does not share it."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, int(port)))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"cannot listen on {address}: the port is in use, probably by a server already running"
            ) from exc
        raise ConfigurationError(f"cannot listen on {address}: {os.strerror(exc.errno or 0)}") from exc
    return sock, sock.getsockname()[1]


def _child(
    index: int,
    count: int,
    settings: Settings,
    keyring: Keyring,
    options: ServerOptions,
    workers: int,
    ready: int,
    prepare_processes: int,
    parent: int,
) -> int:
    stopping = stop_on_signals()
    # SIGTERM if the parent dies without passing one on (SIGKILL): this child drains and exits
    # rather than serving on as an orphan beside whatever starts on the port next.
    die_with_parent(parent, signal.SIGTERM)
    metrics.count_as_process(index + 1)
    # Its preparation workers are forked here, by this process's main thread, before gRPC starts.
    service = Service.start(
        settings, keyring, migrate=False, pool_size=workers, prepare_processes=prepare_processes
    )
    running = start_server(service, options)
    log.info("process %d of %d (pid %d) serving on port %d", index + 1, count, os.getpid(), running.port)
    os.write(ready, b"1")
    os.close(ready)
    serve_until_signalled(running, options.grace_seconds, stopping)
    service.stop()
    return 0


def serve_processes(
    count: int,
    settings: Settings,
    keyring: Keyring,
    options: ServerOptions,
    workers: int,
    announce: Callable[[int], None],
    shared_metrics: SharedMetrics,
    metrics_address: str | None = None,
    prepare_processes: int = 0,
) -> int:
    """`shared_metrics` must have been started before anything was counted (see its module)."""
    reservation, port = _reserve(options.address)
    host = options.address.rpartition(":")[0]
    shared = ServerOptions(**{**options.__dict__, "address": f"{host}:{port}", "reuse_port": True})
    stopping = stop_on_signals()
    read_end, write_end = os.pipe()
    children: list[int] = []
    parent = os.getpid()
    for index in range(count):
        pid = os.fork()
        if pid == 0:  # the child: serve until SIGTERM, never return into the parent's code
            os.close(read_end)
            reservation.close()
            code = 1
            try:
                code = _child(
                    index, count, settings, keyring, shared, workers, write_end, prepare_processes, parent
                )
            except LicensingError as exc:  # one line, as the single-process serve says it
                log.error("process %d of %d could not serve: %s", index + 1, count, exc)
            except BaseException as exc:  # noqa: BLE001 - logged by log_unexpected
                log_unexpected(log, exc, "process %d of %d failed", index + 1, count)
            finally:
                logging.shutdown()
                os._exit(code)
        children.append(pid)
    os.close(write_end)
    ready = 0
    while ready < count:
        got = os.read(read_end, count)
        if not got:  # every child has exited or closed its end: one failed to start
            break
        ready += len(got)
    os.close(read_end)
    reservation.close()  # the children listen now; the reservation only held the number
    if ready < count:
        _stop_all(children, shared_metrics)
        raise ConfigurationError(f"only {ready} of {count} server processes started; see the lines above")
    try:  # after the fork: a child must not inherit the endpoint's thread or socket
        endpoint = shared_metrics.serve(metrics_address) if metrics_address else None
    except ConfigurationError:
        _stop_all(children, shared_metrics)
        raise
    if endpoint is not None:
        log.info("metrics on port %d", endpoint.port)
    announce(port)
    code = 0
    while not stopping.wait(0.5):
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid:  # a child ended without being asked: stop the others, say so
            log.error("server process %d ended unexpectedly (status %d); stopping the others", pid, status)
            children.remove(pid)
            shared_metrics.process_ended(pid)
            code = 1
            break
    log.info("stopping %d server processes", len(children))
    code = max(code, _stop_all(children, shared_metrics))
    if endpoint is not None:
        endpoint.stop()
    return code


def _stop_all(children: list[int], shared_metrics: SharedMetrics) -> int:
    worst = 0
    for pid in children:
        with contextlib.suppress(ProcessLookupError):  # it ended already
            os.kill(pid, signal.SIGTERM)
    for pid in children:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            continue
        shared_metrics.process_ended(pid)
        worst = max(worst, os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)
    return worst
