"""Nothing a caller does holds the server: THE STALL TEST, on SQLite and PostgreSQL.

While one server has open, all at once:
- 16 server-reflection streams without a token, each having asked one question and gone quiet,
- 300 calls with the issuer's own token that sent their headers and never a message (spread over
  four connections, as the per-connection stream cap would queue them on one) — without a token
  such a call is refused UNAUTHENTICATED at once, which the test checks too,
- 16 `IssueLicenses` streams of an issuer that sent headers and nothing else,
an issuer's `IssueLicense` on a connection of its own still succeeds and health answers SERVING.
Then every one of the stalled calls is ended by the server (DEADLINE_EXCEEDED or CANCELLED)
without the client giving up first: their client deadline is far longer than the server's.

With the thread-pool server this held every worker (reflection, idle streams) or every
concurrency slot (header-only calls): each call timed out or got RESOURCE_EXHAUSTED.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from harness import Harness

from licensing._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc
from licensing.api.server import ServerOptions
from licensing.config import Settings
from licensing.keyring import Keyring

from .kit import bearer, figure, serving

REFLECTION_STREAMS = 16
HEADER_ONLY_CALLS = 300
IDLE_ISSUE_STREAMS = 16
FIRST_MESSAGE_SECONDS = 8.0  # long enough that the check below surely runs while all are open
ENDED = {grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}


@pytest.fixture(scope="module")
def harness(backend: Settings, keyring: Keyring) -> Iterator[Harness]:
    options = ServerOptions(
        address="127.0.0.1:0",
        health_interval=0.2,
        first_message_seconds=FIRST_MESSAGE_SECONDS,
        idle_seconds=FIRST_MESSAGE_SECONDS,
    )
    with serving(backend, keyring, options) as running:
        yield running


def _channel(port: int) -> grpc.aio.Channel:
    # A subchannel pool of its own: a separate TCP connection, as separate clients would have.
    return grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)])


async def _silent(release: asyncio.Event) -> AsyncIterator[bytes]:
    await release.wait()
    return
    yield b""  # an async generator that sends nothing until released


async def _one_then_silent(
    first: reflection_pb2.ServerReflectionRequest, release: asyncio.Event
) -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
    yield first
    await release.wait()


async def _stall(port: int, tokens: dict[str, str]) -> dict[str, object]:
    release = asyncio.Event()
    attackers = [_channel(port) for _ in range(6)]
    issuer_channel = _channel(port)
    try:
        reflection = [
            reflection_pb2_grpc.ServerReflectionStub(attackers[0]).ServerReflectionInfo(
                _one_then_silent(reflection_pb2.ServerReflectionRequest(list_services=""), release),
                timeout=120,
            )
            for _ in range(REFLECTION_STREAMS)
        ]
        for stream in reflection:  # each answered its question: open, and now quiet
            assert (await stream.read()).HasField("list_services_response")
        header_only = [
            attackers[1 + i % 4].stream_unary("/licensing.v1.IssuanceService/IssueLicense")(
                _silent(release), metadata=bearer(tokens["issuer"]), timeout=120
            )
            for i in range(HEADER_ONLY_CALLS)
        ]
        idle_issue = [
            issuance_pb2_grpc.IssuanceServiceStub(attackers[5]).IssueLicenses(
                _silent(release), metadata=bearer(tokens["issuer"]), timeout=120
            )
            for _ in range(IDLE_ISSUE_STREAMS)
        ]
        tokenless = attackers[1].stream_unary("/licensing.v1.IssuanceService/IssueLicense")(
            _silent(release), timeout=120
        )
        assert (
            await tokenless.code() == grpc.StatusCode.UNAUTHENTICATED
        )  # at once, without waiting for a message
        stalled = [*reflection, *header_only, *idle_issue]
        await asyncio.sleep(0.5)  # the headers have reached the server
        opened = time.monotonic()

        order = f"STALL-{os.urandom(4).hex()}"
        issued = await issuance_pb2_grpc.IssuanceServiceStub(issuer_channel).IssueLicense(
            issuance_pb2.IssueLicenseRequest(
                email=f"stall.{order.lower()}@example.com", order_id=order, product="photo-pro"
            ),
            metadata=bearer(tokens["issuer"]),
            timeout=FIRST_MESSAGE_SECONDS,
        )
        health = await health_pb2_grpc.HealthStub(issuer_channel).Check(
            health_pb2.HealthCheckRequest(), timeout=FIRST_MESSAGE_SECONDS
        )
        answered_within = time.monotonic() - opened
        still_open = sum(not call.done() for call in stalled)
        assert issued.created and issued.license.serial
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        # They were all open while the issuer was served: that is what the test is about.
        assert still_open == len(stalled), (
            f"only {still_open} of {len(stalled)} stalled calls were still open"
        )

        codes = {}
        for name, calls in (
            ("reflection", reflection),
            ("header_only", header_only),
            ("idle_issue", idle_issue),
        ):
            got = [await call.code() for call in calls]  # the server ends them; the client would wait 120 s
            assert set(got) <= ENDED, f"{name}: {set(got)}"
            codes[name] = sorted({code.name for code in got})
        return {
            "answered_while_stalled_ms": round(answered_within * 1e3, 1),
            "stalled_calls_open": still_open,
            **codes,
        }
    finally:
        release.set()
        for channel in (*attackers, issuer_channel):
            await channel.close()


def test_callers_that_send_nothing_do_not_hold_the_server(harness: Harness, backend: Settings) -> None:
    result = asyncio.run(_stall(harness.running.port, harness.tokens))
    engine = "postgres" if backend.database_url.startswith("postgres") else "sqlite"
    figure(
        f"stall.{engine}",
        reflection_streams=REFLECTION_STREAMS,
        header_only_calls=HEADER_ONLY_CALLS,
        idle_issue_streams=IDLE_ISSUE_STREAMS,
        issue_license="OK",
        health="SERVING",
        first_message_seconds=FIRST_MESSAGE_SECONDS,
        **result,
    )
