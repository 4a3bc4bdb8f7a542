"""A real server on a free port, with a real channel and one token per role, for tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from licensing._proto.licensing.v1 import (
    issuance_pb2,
    issuance_pb2_grpc,
    validation_pb2_grpc,
)
from licensing.api.server import RunningServer, ServerOptions, start_server
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
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
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


class ServerProcess:
    """`licensing serve` as a real child process, on a free port chosen by the server."""

    def __init__(self, settings: Settings, passphrase: bytes, *extra_args: str) -> None:
        import os
        import subprocess
        import sys

        env = dict(os.environ)
        env.update(
            LICENSING_HOME=str(settings.home),
            LICENSING_DATABASE_URL=settings.database_url,
            LICENSING_KEYSTORE_URL=settings.keystore_url,
            LICENSING_PASSPHRASE=passphrase.decode(),
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "licensing.cli.main", "serve", "--address", "127.0.0.1:0", *extra_args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "listening on port" not in line:
            self.process.kill()
            raise RuntimeError(f"server did not start: {line}{self.process.stderr.read() if self.process.stderr else ''}")
        self.port = int(line.rsplit(" ", 1)[1])

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(f"127.0.0.1:{self.port}")

    def stop(self) -> int:
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.stderr = self.process.stderr.read() if self.process.stderr else ""
        return code


def stored_key(keyring: Keyring, row: object, email: str) -> str:
    """The key of a stored license row (keys are not stored: derived from its terms and `email`)."""
    from licensing.license_keys import KeyMaker
    from licensing.records import Terms

    terms = Terms(row.expires, row.updates_until, row.seats, row.edition, row.flags)  # type: ignore[attr-defined]
    return KeyMaker(keyring).key(email, row.key_id, row.product_id, row.serial, row.issued, terms)  # type: ignore[attr-defined]
