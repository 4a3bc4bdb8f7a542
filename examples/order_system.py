"""What an order system does after a purchase: ask the server for the buyer's license key.

    LICENSING_ISSUER_TOKEN=lic_… python examples/order_system.py buyer@example.com ORDER-1001 demo-app

Retrying is harmless: the same order and product always give the same key.
"""

from __future__ import annotations

import argparse
import os
import sys

import grpc

from licensing._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc
from licensing.addresses import is_loopback


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("email")
    parser.add_argument("order_id")
    parser.add_argument("product")
    parser.add_argument("--address", default=os.environ.get("LICENSING_ADDRESS", "127.0.0.1:50051"))
    args = parser.parse_args()
    token = os.environ.get("LICENSING_ISSUER_TOKEN", "").strip()
    if not token:  # argparse's usage error: one line, exit status 2
        parser.error(
            "set LICENSING_ISSUER_TOKEN to an issuer token (`make serve` writes one to var/home/dev-tokens.env)"
        )
    if not is_loopback(args.address):  # the token must not cross a network in clear
        parser.error(f"{args.address} is not on this machine: use a TLS channel (grpc.secure_channel) there")
    with grpc.insecure_channel(args.address) as channel:
        stub = issuance_pb2_grpc.IssuanceServiceStub(channel)
        try:
            response = stub.IssueLicense(
                issuance_pb2.IssueLicenseRequest(
                    email=args.email, order_id=args.order_id, product=args.product
                ),
                metadata=[("authorization", f"Bearer {token}")],
                timeout=10,
            )
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNAVAILABLE:
                print(f"cannot reach the licensing server at {args.address}: is it running?", file=sys.stderr)
            else:
                print(f"{error.code().name}: {error.details()}", file=sys.stderr)
            return 1
    print(response.license.license_key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
