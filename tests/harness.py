"""A real server on a free port, with a real channel and one token per role, for tests."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from licensing._proto.licensing.v1 import (
    issuance_pb2,
    issuance_pb2_grpc,
    validation_pb2_grpc,
)
from licensing.api.server import RunningServer, ServerOptions, start_server
from licensing.client import open_channel
from licensing.config import Settings
from licensing.keyring import Keyring
from licensing.products import add_product
from licensing.service import Service
from licensing.storage.models import Product
from licensing.tokens import Role, create_token

PRODUCTS = {"photo-pro": 1, "video-max": 2}


@dataclass
class Harness:
    service: Service
    running: RunningServer
    channel: grpc.Channel
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return self.running.port

    def auth(self, who: str = "issuer") -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.tokens[who]}"),)

    @property
    def issuance(self) -> issuance_pb2_grpc.IssuanceServiceStub:
        return issuance_pb2_grpc.IssuanceServiceStub(self.channel)

    @property
    def validation(self) -> validation_pb2_grpc.ValidationServiceStub:
        return validation_pb2_grpc.ValidationServiceStub(self.channel)

    def issue(self, email: str, order_id: str, product: str = "photo-pro", **fields: object) -> issuance_pb2.IssueLicenseResponse:
        request = issuance_pb2.IssueLicenseRequest(email=email, order_id=order_id, product=product, **fields)
        return self.issuance.IssueLicense(request, metadata=self.auth("issuer"), timeout=30)


@contextmanager
def running_server(settings: Settings, keyring: Keyring, options: ServerOptions | None = None) -> Iterator[Harness]:
    service = Service.start(settings, keyring)
    for code, number in PRODUCTS.items():
        if not Product.select().where(Product.code == code).exists():
            add_product(code, number, code.title())
    tokens = {role.value: create_token(f"test-{role.value}-{dt.datetime.now():%H%M%S%f}", role) for role in Role}
    running = start_server(service, options or ServerOptions(address="127.0.0.1:0", health_interval=0.2))
    channel = open_channel(f"127.0.0.1:{running.port}")  # the one outbound client's channel
    try:
        yield Harness(service, running, channel, tokens)
    finally:
        channel.close()
        running.stop(grace=1)
        service.stop()


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The google.rpc.ErrorInfo a failed call carried, if any."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


def start_serve_process(env: dict[str, str], log: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    """`licensing serve ARGS` as a child; returns it and the port it listens on.

    Its log (standard error) goes to the file `log`, never to a pipe: a pipe that nobody reads
    fills up after 64 KiB and then blocks the server in the middle of a call. The one line it
    prints on standard output says the port.
    """
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "licensing.cli.main", "serve", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on port" not in line:
        process.kill()
        process.wait(timeout=30)
        process.stdout.close()
        raise RuntimeError(f"server did not start: {line}{log.read_text(errors='replace')}")
    return process, int(line.rsplit(" ", 1)[1])


def stop_process(process: subprocess.Popen[str]) -> int:
    """SIGTERM (the server drains and exits 0), then its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=30)
    if process.stdout is not None:
        process.stdout.close()
    return code


class ServerProcess:
    """`licensing serve` as a real child process on `settings`, on a free port chosen by the server."""

    def __init__(self, settings: Settings, passphrase: bytes, *extra_args: str) -> None:
        env = dict(os.environ)
        env.update(
            LICENSING_HOME=str(settings.home),
            LICENSING_DATABASE_URL=settings.database_url,
            LICENSING_KEYSTORE_URL=settings.keystore_url,
            LICENSING_PASSPHRASE=passphrase.decode(),
        )
        self.log_path = settings.home / f"server-{uuid.uuid4().hex[:8]}.log"
        self.process, self.port = start_serve_process(env, self.log_path, "--address", "127.0.0.1:0", *extra_args)

    def channel(self) -> grpc.Channel:
        channel: grpc.Channel = open_channel(f"127.0.0.1:{self.port}")
        return channel

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        """What the server logged so far (its standard error)."""
        return self.log_text()

    def stop(self) -> int:
        return stop_process(self.process)


def stored_key(keyring: Keyring, row: object, email: str) -> str:
    """The key of a stored license row (keys are not stored: derived from its terms and `email`)."""
    from licensing.license_keys import KeyMaker
    from licensing.records import Terms

    terms = Terms(row.expires, row.updates_until, row.seats, row.edition, row.flags)  # type: ignore[attr-defined]
    return KeyMaker(keyring).key(email, row.key_id, row.product_id, row.serial, row.issued, terms)  # type: ignore[attr-defined]
