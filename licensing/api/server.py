"""The gRPC server (grpc.aio): services, health, reflection, limits, TLS, and a graceful stop.

The server runs on an asyncio event loop in a thread of its own, so that callers (the CLI, the
tests) keep a plain blocking API. Handlers are coroutines; their blocking parts (the database,
the wait for a group commit) run on a bounded thread pool of `max_workers` threads. What protects
the server from callers is in interceptor.Limits and the HTTP/2 settings below; the figures are
in docs/reliability.md.

Limits are part of the contract: a request above `max_message_bytes` is refused with
RESOURCE_EXHAUSTED by gRPC itself, and authenticated calls beyond `max_concurrent_rpcs` at once
with RESOURCE_EXHAUSTED by the interceptor, before any work.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import threading
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
import peewee
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from playhouse.pool import PooledPostgresqlDatabase

from .._proto.licensing.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    issuance_pb2,
    issuance_pb2_grpc,
    support_pb2,
    support_pb2_grpc,
    validation_pb2,
    validation_pb2_grpc,
)
from ..addresses import is_loopback
from ..errors import ConfigurationError
from ..ratelimit import RateLimiter
from ..service import Service
from ..storage.database import CONNECTION_ERRORS, release_connection
from ..storage.models import utcnow
from ..threadnames import name_native_thread
from .admin_service import AdminServicer
from .interceptor import AuthInterceptor, Limits
from .issuance_service import IssuanceServicer
from .support_service import SupportServicer
from .validation_service import ValidationServicer

__all__ = ["RunningServer", "ServerOptions", "serve_until_signalled", "start_server", "stop_on_signals"]

log = logging.getLogger("licensing.server")

SERVICE_NAMES = (
    issuance_pb2.DESCRIPTOR.services_by_name["IssuanceService"].full_name,
    validation_pb2.DESCRIPTOR.services_by_name["ValidationService"].full_name,
    support_pb2.DESCRIPTOR.services_by_name["SupportService"].full_name,
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
)


@dataclass(frozen=True)
class ServerOptions:
    address: str = "127.0.0.1:50051"
    max_workers: int = 16  # threads for blocking work (database); calls beyond them wait, holding none
    max_concurrent_rpcs: int = 256  # authenticated calls served at once
    max_message_bytes: int = 64 * 1024  # our largest request is a few hundred bytes
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None  # set: require client certificates (mTLS)
    allow_insecure_remote: bool = False
    grace_seconds: float = 10.0
    lookups_per_minute: float = 120.0  # per token and process: interceptor.RATE_LIMITED_METHODS
    lookup_burst: int = 30
    health_interval: float = 1.0
    first_message_seconds: float = 5.0  # a call that has sent no message by then is ended
    idle_seconds: float = 10.0  # a stream quiet this long between messages is ended
    public_stream_seconds: float = 60.0  # the longest life of a health Watch or reflection stream
    public_streams: int = 32  # open health-Watch/reflection streams (no token), apart from the rest
    max_streams_per_connection: int = 256  # HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS
    max_connection_age_seconds: float = 1800.0  # then GOAWAY: clients reconnect (and rebalance)
    reuse_port: bool = False  # SO_REUSEPORT: several processes serve one port (serve --processes)


def _channel_options(options: ServerOptions) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", options.max_message_bytes),
        ("grpc.max_send_message_length", 16 * 1024 * 1024),
        ("grpc.so_reuseport", 1 if options.reuse_port else 0),
        ("grpc.max_concurrent_streams", options.max_streams_per_connection),
        # Keepalive, enforced: the server pings a quiet connection every 60 s and drops it when no
        # answer comes within 20 s; a client pinging more often than every 10 s without data is
        # sent GOAWAY after two strikes.
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.max_ping_strikes", 2),
        ("grpc.max_connection_idle_ms", 300_000),
        ("grpc.max_connection_age_ms", int(options.max_connection_age_seconds * 1000)),
        ("grpc.max_connection_age_grace_ms", 30_000),
    ]


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    name_native_thread("grpc-aio")
    loop.run_forever()


class RunningServer:
    """A server running on its own event loop thread, driven from ordinary (blocking) code."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        thread: threading.Thread,
        server: grpc.aio.Server,
        port: int,
        health: HealthServicer,
        monitor: _HealthMonitor,
        executor: futures.ThreadPoolExecutor,
    ) -> None:
        self.loop, self.thread, self.server, self.port = loop, thread, server, port
        self.health = health
        self._monitor = monitor
        self._executor = executor
        self._stopped = False

    def stop(self, grace: float | None = None) -> None:
        """Refuse new calls, let calls in flight finish for up to `grace` seconds, then stop."""
        self.stop_within(grace, None)

    def stop_within(self, grace: float | None, within: float | None) -> bool:
        """stop(grace), waiting at most `within` seconds; False if it had not finished by then."""
        if self._stopped:
            return True
        self._monitor.stop()
        done = asyncio.run_coroutine_threadsafe(self._stop(grace), self.loop)
        try:
            done.result(within)
        except futures.TimeoutError:
            return False
        self._stopped = True
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self._executor.shutdown(wait=False, cancel_futures=True)
        return True

    async def _stop(self, grace: float | None) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)

    def wait(self) -> None:
        self.thread.join()


class _HealthMonitor(threading.Thread):
    """Reports NOT_SERVING while the database cannot be reached, SERVING when it is back.

    When the database is found unreachable, idle pooled connections are discarded too: they are
    dead, and would otherwise fail the first calls after the database returns. It is a thread,
    not a task: the check blocks on the database.
    """

    def __init__(
        self,
        db: peewee.Database,
        servicer: HealthServicer,
        loop: asyncio.AbstractEventLoop,
        interval: float,
        pools: tuple[peewee.Database, ...] = (),
    ) -> None:
        super().__init__(name="health-monitor", daemon=True)
        self.db, self.servicer, self.loop, self.interval, self.pools = db, servicer, loop, interval, pools
        self._stopped = threading.Event()
        self._last: bool | None = None

    def run(self) -> None:
        name_native_thread(self.name)
        while not self._stopped.is_set():
            self._set(self._database_reachable())
            self._stopped.wait(self.interval)

    def _database_reachable(self) -> bool:
        try:
            self.db.execute_sql("SELECT 1").fetchone()
        except CONNECTION_ERRORS:
            release_connection(self.db, broken=True)
            for pool in self.pools:
                if isinstance(pool, PooledPostgresqlDatabase):
                    pool.close_idle()
            return False
        release_connection(self.db)
        return True

    def _set(self, serving: bool) -> None:
        if serving == self._last or self._stopped.is_set():
            return
        status = (
            health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        )

        async def publish() -> None:
            for name in ("", *SERVICE_NAMES):
                await self.servicer.set(name, status)

        try:
            asyncio.run_coroutine_threadsafe(publish(), self.loop).result(10)
        except (RuntimeError, futures.TimeoutError):  # the loop is stopping
            return
        self._last = serving

    def stop(self) -> None:
        self._stopped.set()


def _credentials(options: ServerOptions) -> grpc.ServerCredentials | None:
    if options.tls_cert is None and options.tls_key is None:
        if options.client_ca is not None:
            raise ConfigurationError("--client-ca needs --tls-cert and --tls-key")
        return None
    if options.tls_cert is None or options.tls_key is None:
        raise ConfigurationError("TLS needs both --tls-cert and --tls-key")
    try:
        pair = (options.tls_key.read_bytes(), options.tls_cert.read_bytes())
        ca = options.client_ca.read_bytes() if options.client_ca else None
    except OSError as exc:
        raise ConfigurationError(f"cannot read a TLS file: {exc.filename}: {exc.strerror}") from exc
    return grpc.ssl_server_credentials([pair], root_certificates=ca, require_client_auth=ca is not None)


def start_server(service: Service, options: ServerOptions) -> RunningServer:
    credentials = _credentials(options)
    if credentials is None and not is_loopback(options.address) and not options.allow_insecure_remote:
        raise ConfigurationError(
            f"refusing to listen on {options.address} without TLS: give --tls-cert and --tls-key, "
            "or --insecure-remote if a TLS proxy in front of it is intended"
        )
    if not options.reuse_port:
        _check_can_listen(options.address)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=_run_loop, args=(loop,), name="grpc-aio", daemon=True)
    thread.start()
    executor = futures.ThreadPoolExecutor(max_workers=options.max_workers, thread_name_prefix="rpc")
    try:
        server, port, health_servicer = asyncio.run_coroutine_threadsafe(
            _start(service, options, credentials, executor), loop
        ).result()
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        executor.shutdown(wait=False)
        raise
    monitor = _HealthMonitor(
        service.databases.main,
        health_servicer,
        loop,
        options.health_interval,
        pools=(service.databases.main, service.databases.keystore),
    )
    monitor._set(monitor._database_reachable())
    monitor.start()
    log.info("serving on port %d (%s)", port, "TLS" if credentials else "plaintext")
    return RunningServer(loop, thread, server, port, health_servicer, monitor, executor)


async def _start(
    service: Service,
    options: ServerOptions,
    credentials: grpc.ServerCredentials | None,
    executor: futures.ThreadPoolExecutor,
) -> tuple[grpc.aio.Server, int, HealthServicer]:
    limits = Limits(
        first_message_seconds=options.first_message_seconds,
        idle_seconds=options.idle_seconds,
        public_stream_seconds=options.public_stream_seconds,
        max_in_flight=options.max_concurrent_rpcs,
        public_streams=options.public_streams,
    )
    server = grpc.aio.server(
        interceptors=[
            AuthInterceptor(
                [service.databases.main, service.databases.keystore],
                executor,
                RateLimiter(options.lookups_per_minute, options.lookup_burst),
                limits,
            )
        ],
        options=_channel_options(options),
    )
    issuance_pb2_grpc.add_IssuanceServiceServicer_to_server(
        IssuanceServicer(service.issuer, service.today, service.bulk), server
    )
    validation_pb2_grpc.add_ValidationServiceServicer_to_server(
        ValidationServicer(service.validator, utcnow), server
    )
    support_pb2_grpc.add_SupportServiceServicer_to_server(
        SupportServicer(service.support, service.today), server
    )
    admin_pb2_grpc.add_AdminServiceServicer_to_server(AdminServicer(service.today), server)
    health_servicer = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, "grpc.health.v1.Health", reflection.SERVICE_NAME), server
    )
    try:
        if credentials is None:
            port = server.add_insecure_port(options.address)
        else:
            port = server.add_secure_port(options.address, credentials)
    except RuntimeError as exc:  # grpcio >= 1.60 raises "Failed to bind to address" instead of returning 0
        raise ConfigurationError(f"cannot listen on {options.address}: {exc}") from exc
    if port == 0:
        raise ConfigurationError(f"cannot listen on {options.address}: the address is in use or invalid")
    await server.start()
    return server, port, health_servicer


def _check_can_listen(address: str) -> None:
    """Bind the port once ourselves first: gRPC's own failure is a C-level log line and a bare
    RuntimeError, while the usual case (a server already running there) deserves one clear line."""
    import os
    import socket

    host, _, port = address.rpartition(":")
    if address.startswith("unix:") or not port.isdigit() or int(port) == 0:
        return
    try:
        with socket.create_server((host.strip("[]") or "127.0.0.1", int(port))):
            pass
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"cannot listen on {address}: the port is in use, probably by a server already running; "
                "stop it, or choose another address with --address (env LICENSING_ADDRESS; make serve ADDRESS=…)"
            ) from exc
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ConfigurationError(
            f"cannot listen on {address}: {reason}; choose another address with --address"
        ) from exc
    except (ValueError, OverflowError) as exc:
        raise ConfigurationError(f"cannot listen on {address}: not a host:port of this machine") from exc


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT. Installed before the server says it is listening, so
    that a supervisor's SIGTERM right after that line drains and stops it rather than killing it."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    return stopping


def serve_until_signalled(
    running: RunningServer, grace: float, stopping: threading.Event | None = None
) -> None:
    """Block until SIGTERM or SIGINT, then drain: calls in flight finish, new ones are refused."""
    if stopping is None:
        stopping = stop_on_signals()
    # Wait in short slices: a signal delivered to another thread (grpc's, the event loop's) sets
    # Python's flag but does not wake a main thread blocked in a lock without timeout.
    while not stopping.wait(0.5):
        pass
    log.info("stopping: draining calls in flight for up to %.0f s", grace)
    running.stop(grace)
