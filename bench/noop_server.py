"""The baseline: a gRPC Python server whose one unary method does nothing.

Same grpcio, same thread pool size, same machine as the licensing server, so the ratio of the
two rates is what our work per call costs.
"""

from __future__ import annotations

import sys
from concurrent import futures

import grpc

SERVICE, METHOD = "bench.Noop", "Call"


def main() -> None:
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
    handler = grpc.method_handlers_generic_handler(
        SERVICE, {METHOD: grpc.unary_unary_rpc_method_handler(lambda request, context: b"")}
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"listening on port {port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
