"""The gRPC server: services, health, reflection, limits, TLS, and a graceful stop.

Limits are part of the contract: a request above `max_message_bytes` and calls beyond
`max_concurrent_rpcs` are refused with RESOURCE_EXHAUSTED by gRPC itself, before any work.
"""

from __future__ import annotations

import errno
import logging
import signal
import threading
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
import peewee
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
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
from .admin_service import AdminServicer
from .interceptor import AuthInterceptor
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
    max_workers: int = 16
    max_concurrent_rpcs: int = 256
    max_message_bytes: int = 64 * 1024  # our largest request is a few hundred bytes
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None  # set: require client certificates (mTLS)
    allow_insecure_remote: bool = False
    grace_seconds: float = 10.0
    lookups_per_minute: float = 120.0  # per token and process: interceptor.RATE_LIMITED_METHODS
    lookup_burst: int = 30
    health_interval: float = 1.0


class RunningServer:
    def __init__(self, server: grpc.Server, port: int, health_servicer: health.HealthServicer, monitor: _HealthMonitor) -> None:
        self.server = server
        self.port = port
        self.health = health_servicer
        self._monitor = monitor

    def stop(self, grace: float | None = None) -> None:
        """Refuse new calls, let calls in flight finish for up to `grace` seconds, then stop."""
        self.health.enter_graceful_shutdown()
        self._monitor.stop()
        self.server.stop(grace).wait()

    def wait(self) -> None:
        self.server.wait_for_termination()


class _HealthMonitor(threading.Thread):
    """Reports NOT_SERVING while the database cannot be reached, SERVING when it is back.

    When the database is found unreachable, idle pooled connections are discarded too: they are
    dead, and would otherwise fail the first calls after the database returns.
    """

    def __init__(self, db: peewee.Database, servicer: health.HealthServicer, interval: float, pools: tuple[peewee.Database, ...] = ()) -> None:
        super().__init__(name="health-monitor", daemon=True)
        self.db, self.servicer, self.interval, self.pools = db, servicer, interval, pools
        self._stopped = threading.Event()

    def run(self) -> None:
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
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", *SERVICE_NAMES):
            self.servicer.set(name, status)

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
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=options.max_workers, thread_name_prefix="rpc"),
        interceptors=[
            AuthInterceptor(
                [service.databases.main, service.databases.keystore],
                RateLimiter(options.lookups_per_minute, options.lookup_burst),
            )
        ],
        options=[
            ("grpc.max_receive_message_length", options.max_message_bytes),
            ("grpc.max_send_message_length", 16 * 1024 * 1024),
            ("grpc.so_reuseport", 0),
        ],
        maximum_concurrent_rpcs=options.max_concurrent_rpcs,
    )
    issuance_pb2_grpc.add_IssuanceServiceServicer_to_server(IssuanceServicer(service.issuer, service.today), server)
    validation_pb2_grpc.add_ValidationServiceServicer_to_server(ValidationServicer(service.validator, utcnow), server)
    support_pb2_grpc.add_SupportServiceServicer_to_server(SupportServicer(service.support, service.today), server)
    admin_pb2_grpc.add_AdminServiceServicer_to_server(AdminServicer(service.today), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    _check_can_listen(options.address)
    try:
        if credentials is None:
            port = server.add_insecure_port(options.address)
        else:
            port = server.add_secure_port(options.address, credentials)
    except RuntimeError as exc:  # grpcio >= 1.60 raises "Failed to bind to address" instead of returning 0
        raise ConfigurationError(f"cannot listen on {options.address}: {exc}") from exc
    if port == 0:
        raise ConfigurationError(f"cannot listen on {options.address}: the address is in use or invalid")
    monitor = _HealthMonitor(
        service.databases.main, health_servicer, options.health_interval,
        pools=(service.databases.main, service.databases.keystore),
    )
    monitor._set(monitor._database_reachable())
    monitor.start()
    server.start()
    log.info("serving on port %d (%s)", port, "TLS" if credentials else "plaintext")
    return RunningServer(server, port, health_servicer, monitor)


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
        raise ConfigurationError(f"cannot listen on {address}: {reason}; choose another address with --address") from exc
    except (ValueError, OverflowError) as exc:
        raise ConfigurationError(f"cannot listen on {address}: not a host:port of this machine") from exc


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT. Installed before the server says it is listening, so
    that a supervisor's SIGTERM right after that line drains and stops it rather than killing it."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    return stopping


def serve_until_signalled(running: RunningServer, grace: float, stopping: threading.Event | None = None) -> None:
    """Block until SIGTERM or SIGINT, then drain: calls in flight finish, new ones are refused."""
    if stopping is None:
        stopping = stop_on_signals()
    stopping.wait()
    log.info("stopping: draining calls in flight for up to %.0f s", grace)
    running.stop(grace)
