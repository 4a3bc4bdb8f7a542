"""The fair baseline: a gRPC Python server that does only what every IssueLicense call must.

It parses the same `IssueLicenseRequest`, receives the same metadata (an `authorization` header
of a real token's length, unread), and returns an `IssueLicenseResponse` of the same size as the
licensing server's (a license with a key, serial, terms and times), prepared once. Two kinds, as
the licensing server could be either: `threads` (grpcio's thread pool) and `aio` (grpc.aio with a
coroutine handler). bench/issue.py runs both in the same rounds and compares against the faster.

    python bench/noop_server.py threads 16
    python bench/noop_server.py aio
"""

from __future__ import annotations

import asyncio
import sys
from concurrent import futures
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from licensing._proto.licensing.v1 import issuance_pb2
from licensing.threadnames import name_native_thread

SERVICE, METHOD = "bench.Noop", "Call"


def response_bytes() -> bytes:
    """An IssueLicenseResponse the size of a real one: a new license with its 160-character key,
    converted by the server's own function."""
    import datetime as dt

    from licensing.api.convert import license_message
    from licensing.records import LicenseRecord, Terms

    now = dt.datetime(2026, 11, 30, 6, 0, 0)
    record = LicenseRecord(
        serial=0x5E808A984EAB,
        product="bench-app",
        order_ref="r12-123456",
        key_text="-".join(["ABCDEFGH"] * 17)[:160],
        key_id=1,
        terms=Terms(seats=1),
        issued=now.date(),
        test_order=False,
        create_time=now,
    )
    return issuance_pb2.IssueLicenseResponse(
        license=license_message(record, now.date()), created=True
    ).SerializeToString()


RESPONSE = response_bytes()


def _handler(request: issuance_pb2.IssueLicenseRequest, context: object) -> bytes:
    return RESPONSE


async def _async_handler(request: issuance_pb2.IssueLicenseRequest, context: object) -> bytes:
    return RESPONSE


def _method(behaviour: object) -> grpc.GenericRpcHandler:
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            METHOD: grpc.unary_unary_rpc_method_handler(
                behaviour,
                request_deserializer=issuance_pb2.IssueLicenseRequest.FromString,
                response_serializer=lambda b: b,
            )
        },
    )


def serve_threads(workers: int) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
    server.add_generic_rpc_handlers((_method(_handler),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"listening on port {port}", flush=True)
    server.wait_for_termination()


async def serve_aio() -> None:
    name_native_thread("grpc-aio")  # as licensing serve's loop: bench/issue.py splits CPU by thread
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((_method(_async_handler),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"listening on port {port}", flush=True)
    await server.wait_for_termination()


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "threads"
    if kind == "aio":
        asyncio.run(serve_aio())
    else:
        serve_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 16)


if __name__ == "__main__":
    main()
