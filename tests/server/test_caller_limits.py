"""The limits on callers, each alone (tests/reliability/test_stall.py holds them all at once).

- health Watch and reflection streams have their own allowance (`public_streams`): beyond it,
  RESOURCE_EXHAUSTED at once; a Watch lives at most `public_stream_seconds`, then the server ends it;
- a bulk stream that goes quiet after a message is ended after `idle_seconds`; the lines it sent
  before were not issued yet (a chunk is issued when full or at the stream's end), and a retry of
  the whole stream is safe as ever;
- a unary call with a token that sends no message is ended after `first_message_seconds`.
Each is ended by the server: the client's own deadline is far longer.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import Harness, running_server

from licensing._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc
from licensing.api.server import ServerOptions
from licensing.config import Settings
from licensing.keyring import Keyring
from licensing.storage.models import License, Order

SHORT = 1.0


@pytest.fixture(scope="module")
def limited(backend: Settings, keyring: Keyring) -> Iterator[Harness]:
    options = ServerOptions(
        address="127.0.0.1:0",
        health_interval=0.2,
        public_streams=2,
        public_stream_seconds=2 * SHORT,
        first_message_seconds=SHORT,
        idle_seconds=SHORT,
    )
    with running_server(backend, keyring, options) as harness:
        yield harness


def test_health_streams_have_their_own_bounded_allowance_and_lifetime(limited: Harness) -> None:
    stub = health_pb2_grpc.HealthStub(limited.channel)
    watches = [stub.Watch(health_pb2.HealthCheckRequest(), timeout=60) for _ in range(2)]
    for watch in watches:
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING  # open, and holding a slot
    third = stub.Watch(health_pb2.HealthCheckRequest(), timeout=60)
    with pytest.raises(grpc.RpcError) as refused:
        next(third)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # Check needs no slot; and an issuer is not affected by the public allowance being used up.
    assert (
        stub.Check(health_pb2.HealthCheckRequest(), timeout=10).status
        == health_pb2.HealthCheckResponse.SERVING
    )
    order = f"LIM-{os.urandom(4).hex()}"
    assert limited.issue(f"{order.lower()}@example.com", order).created
    for watch in watches:  # the server ends them at public_stream_seconds, long before 60 s
        with pytest.raises(grpc.RpcError) as ended:
            for _ in watch:
                pass
        assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # The slots are free again.
    again = stub.Watch(health_pb2.HealthCheckRequest(), timeout=60)
    assert next(again).status == health_pb2.HealthCheckResponse.SERVING
    again.cancel()


def test_a_bulk_stream_that_goes_quiet_is_ended(limited: Harness) -> None:
    release = threading.Event()
    order = f"QUIET-{os.urandom(4).hex()}"

    def one_then_quiet() -> Iterator[issuance_pb2.IssueLicensesRequest]:
        yield issuance_pb2.IssueLicensesRequest(
            request=issuance_pb2.IssueLicenseRequest(
                email=f"{order.lower()}@example.com", order_id=order, product="photo-pro"
            )
        )
        release.wait(60)

    try:
        with pytest.raises(grpc.RpcError) as ended:
            issuance_pb2_grpc.IssuanceServiceStub(limited.channel).IssueLicenses(
                one_then_quiet(), metadata=limited.auth("issuer"), timeout=60
            )
        assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    finally:
        release.set()
    assert License.select().join(Order).where(Order.order_ref == order).count() == 0


def test_a_call_with_a_token_but_no_message_is_ended(limited: Harness) -> None:
    release = threading.Event()

    def nothing() -> Iterator[bytes]:
        release.wait(60)
        yield from ()

    call = limited.channel.stream_unary("/licensing.v1.IssuanceService/IssueLicense")
    try:
        with pytest.raises(grpc.RpcError) as ended:
            call(nothing(), metadata=limited.auth("issuer"), timeout=60)
        assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    finally:
        release.set()
