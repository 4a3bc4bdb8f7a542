"""A real server on a free port, with a real channel and one token per role, for tests.

In this process (`running_server`, the `server` fixture) or as a `licensing serve` child
(`serve_home`, from serverchild.py): the two ways every test, the reliability kit and the
benchmarks start a server.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from serverchild import ServerChild, serve_home

from licensing._proto.licensing.v1 import (
    issuance_pb2,
    issuance_pb2_grpc,
    support_pb2_grpc,
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

__all__ = [
    "PRODUCTS",
    "Harness",
    "ServerChild",
    "ServerProcess",
    "StopHung",
    "add_test_products",
    "error_info",
    "reason_of",
    "role_tokens",
    "running_server",
    "serve_home",
    "stop_within",
    "stored_key",
]

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

    @property
    def support(self) -> support_pb2_grpc.SupportServiceStub:
        return support_pb2_grpc.SupportServiceStub(self.channel)

    def issue(
        self, email: str, order_id: str, product: str = "photo-pro", **fields: Any
    ) -> issuance_pb2.IssueLicenseResponse:
        """IssueLicense as the issuer; `fields` are IssueLicenseRequest's other fields (terms, test_order, ...)."""
        request = issuance_pb2.IssueLicenseRequest(email=email, order_id=order_id, product=product, **fields)
        response: issuance_pb2.IssueLicenseResponse = self.issuance.IssueLicense(
            request, metadata=self.auth("issuer"), timeout=30
        )
        return response


def add_test_products() -> None:
    """The products the tests issue for, in the databases this process is bound to."""
    for code, number in PRODUCTS.items():
        if not Product.select().where(Product.code == code).exists():
            add_product(code, number, code.title())


def role_tokens(prefix: str = "test") -> dict[str, str]:
    """One token per role; the stamp is hex, never a digit run that looks like a card number."""
    stamp = os.urandom(4).hex()
    return {role.value: create_token(f"{prefix}-{role.value}-{stamp}", role) for role in Role}


class StopHung(AssertionError):
    """The gRPC server did not finish stopping: `licensing serve` would hang on SIGTERM the same way."""


def stop_within(running: RunningServer, grace: float = 1.0, within: float = 8.0) -> None:
    """RunningServer.stop, but bounded: a stop that never ends fails the test instead of hanging CI."""
    if not running.stop_within(grace, within):
        tasks = [
            task.get_coro().__qualname__  # type: ignore[union-attr]
            for task in asyncio.all_tasks(running.loop)  # read only, to say what is stuck
        ]
        raise StopHung(
            f"server.stop({grace}) had not finished after {within} s; tasks still running: {tasks}"
        )


@contextmanager
def running_server(
    settings: Settings, keyring: Keyring, options: ServerOptions | None = None, *, bounded_stop: bool = False
) -> Iterator[Harness]:
    """The server in this process on a free port, with the test products and one token per role.

    `bounded_stop`: stop with `stop_within`, so a stop that hangs fails the test (the reliability
    tests, which hunt for exactly that hang).
    """
    service = Service.start(settings, keyring)
    add_test_products()
    tokens = role_tokens()
    running = start_server(service, options or ServerOptions(address="127.0.0.1:0", health_interval=0.2))
    channel = open_channel(f"127.0.0.1:{running.port}")  # the one outbound client's channel
    try:
        yield Harness(service, running, channel, tokens)
    finally:
        channel.close()
        try:
            if bounded_stop:
                stop_within(running)
            else:
                running.stop(grace=1)
        finally:
            service.stop()


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The google.rpc.ErrorInfo a failed call carried, if any."""
    status = rpc_status.from_call(error)
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


def reason_of(error: grpc.RpcError) -> str:
    """The ErrorInfo reason a failed call carried, or "" when it carried none."""
    info = error_info(error)
    return "" if info is None else str(info.reason)


# The server tests' name for `licensing serve` on a home (serverchild.serve_home); kept so that
# tests/server/test_concurrency.py (rewritten on the aio branch) needs no change.
ServerProcess = serve_home


def stored_key(keyring: Keyring, row: object, email: str) -> str:
    """The key of a stored license row (keys are not stored: derived from its terms and `email`)."""
    from licensing.license_keys import KeyMaker
    from licensing.records import Terms

    terms = Terms(row.expires, row.updates_until, row.seats, row.edition, row.flags)  # type: ignore[attr-defined]
    return KeyMaker(keyring).key(email, row.key_id, row.product_id, row.serial, row.issued, terms)  # type: ignore[attr-defined]


def unique_email(tag: str) -> str:
    """An address no other test uses (tests share a module's server and run in any order)."""
    return f"{tag}.{uuid.uuid4().hex[:8]}@example.org"
