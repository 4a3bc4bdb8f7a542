"""`licensing licenses show|list|revoke`: the life of a license after it is issued, from a shell.

Like the support commands, these are plain clients of the gRPC API (IssuanceService), so the
server authorises each call, writes the audit log and answers for every replica alike. They take
an issuer or admin token from LICENSING_ISSUER_TOKEN or LICENSING_ADMIN_TOKEN (`make serve`
writes both to var/home/dev-tokens.env), or --token. Revoked serials reach offline programs
through `licensing revocations export`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from .. import client
from .._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc, license_pb2
from ..display import license_status_text
from ..errors import NotFound, UsageError

TOKEN_ENVS = ("LICENSING_ISSUER_TOKEN", "LICENSING_ADMIN_TOKEN")
REASONS = ("refund", "chargeback", "canceled", "fraud", "other")
STATUSES = ("valid", "expired", "revoked")


def register(commands: Any) -> None:
    group = commands.add_parser(
        "licenses",
        help="show, list and revoke licenses (over the gRPC API, issuer or admin token)",
        description=__doc__.split("\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).add_subparsers(dest="action", required=True, metavar="ACTION")

    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument(
        "--address",
        help=f"the server's host:port (env {client.ADDRESS_ENV}; default {client.DEFAULT_ADDRESS})",
    )
    connection.add_argument(
        "--token", help=f"issuer or admin token (prefer env {' or '.join(TOKEN_ENVS)}: a flag shows in ps)"
    )
    connection.add_argument(
        "--tls-ca", type=Path, metavar="FILE", help="use TLS, trusting this CA; without it, loopback only"
    )
    connection.add_argument("--json", action="store_true", help="one JSON object per license")

    show = group.add_parser(
        "show", parents=[connection], help="one order's licenses, or the license of a key"
    )
    which = show.add_mutually_exclusive_group(required=True)
    which.add_argument("--order", metavar="ORDER_ID", help="the order's reference")
    which.add_argument("--key", metavar="KEY", help="a license key, as the customer pasted it")
    which.add_argument("--serial", metavar="HEX", help="the serial, 12 hex digits as tables show it")
    show.add_argument("--product", metavar="CODE", help="with --order: only this product's license")
    show.set_defaults(func=_show)

    listing = group.add_parser("list", parents=[connection], help="list licenses, in serial order")
    listing.add_argument("--product", metavar="CODE", help="only this product's licenses")
    listing.add_argument("--status", choices=STATUSES, help="only licenses in this status today")
    listing.add_argument(
        "--limit", type=int, default=100, help="list at most this many (default 100; 0: all)"
    )
    listing.set_defaults(func=_list)

    revoke = group.add_parser(
        "revoke",
        parents=[connection],
        help="revoke an order's license(s); they join the revocation list",
        description="Revoke the license of one order line, or every license of the order. Revoking "
        "again changes nothing. Offline programs learn of it from `licensing revocations export`.",
    )
    revoke.add_argument("--order", metavar="ORDER_ID", required=True, help="the order's reference")
    revoke.add_argument("--product", metavar="CODE", help="only this product's license (default: every one)")
    revoke.add_argument("--reason", required=True, choices=REASONS, help="why (kept with the license)")
    revoke.add_argument("--note", default="", help="a short note, no personal data (at most 200 characters)")
    revoke.set_defaults(func=_revoke)


def _connection(args: argparse.Namespace) -> Any:
    token = client.token_from(args.token, TOKEN_ENVS, "issuer or admin")
    return client.connect(client.resolve_address(args.address), token, args.tls_ca)


def _serial_of_key(text: str) -> int:
    """The serial inside a pasted key, read offline; a mistyped key is a usage error."""
    from licensing_client.errors import LicenseError
    from licensing_client.keyformat import decode_payload, parse_key

    try:
        return decode_payload(parse_key(text).payload).serial
    except LicenseError as exc:
        raise UsageError(f"--key: {exc.args[0]}") from exc


def _show(args: argparse.Namespace) -> int:
    if args.product and not args.order:
        raise UsageError("--product goes with --order")
    if args.serial is not None:
        try:
            serial = int(args.serial.replace("-", ""), 16)
        except ValueError:
            raise UsageError(f"--serial {args.serial!r} is not hexadecimal (e.g. 00C0FFEE1234)") from None
        request = issuance_pb2.ListLicensesRequest(serial=serial or 1 << 63)  # 0 would mean "any"
    elif args.key is not None:
        request = issuance_pb2.ListLicensesRequest(serial=_serial_of_key(args.key))
    else:
        request = issuance_pb2.ListLicensesRequest(order_id=args.order, product=args.product or "")
    with _connection(args) as connection:
        stub = issuance_pb2_grpc.IssuanceServiceStub(connection.channel)
        licenses = list(_pages(connection, stub, request, limit=0))
    if not licenses:
        raise NotFound("no license matches; check the order ID, key or serial (`licensing licenses list`)")
    _print(licenses, as_json=args.json)
    return 0


def _list(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise UsageError("--limit is 0 (all) or more")
    status = f"LICENSE_STATUS_{args.status.upper()}" if args.status else None
    request = issuance_pb2.ListLicensesRequest(product=args.product or "", status=status)
    with _connection(args) as connection:
        stub = issuance_pb2_grpc.IssuanceServiceStub(connection.channel)
        if args.json:
            for lic in _pages(connection, stub, request, limit=args.limit):
                print(json.dumps(_json(lic), ensure_ascii=False))
        else:
            print("  ".join(_HEADER))
            for lic in _pages(connection, stub, request, limit=args.limit):
                print(_line(lic))
    return 0


def _revoke(args: argparse.Namespace) -> int:
    reason = f"REVOCATION_REASON_{args.reason.upper()}"
    request = issuance_pb2.RevokeLicenseRequest(
        order_id=args.order, product=args.product or "", reason=reason, note=args.note
    )
    with _connection(args) as connection:
        stub = issuance_pb2_grpc.IssuanceServiceStub(connection.channel)
        response = connection.call(stub.RevokeLicense, request)
    _print(list(response.licenses), as_json=args.json)
    if not args.json:
        print(
            f"revoked {len(response.licenses)} license(s) of order {args.order}; "
            "ship the new list with `licensing revocations export -o FILE`"
        )
    return 0


def _pages(
    connection: client.Connection,
    stub: issuance_pb2_grpc.IssuanceServiceStub,
    request: issuance_pb2.ListLicensesRequest,
    *,
    limit: int,
) -> Iterator[license_pb2.License]:
    """Every license the request selects, page by page, at most `limit` (0: no limit)."""
    given = 0
    while True:
        if limit:
            request.page_size = min(1000, limit - given)
        page = connection.call(stub.ListLicenses, request)
        for lic in page.licenses:
            yield lic
            given += 1
        if not page.next_page_token or (limit and given >= limit):
            return
        request.page_token = page.next_page_token


_HEADER = ("SERIAL      ", "ORDER               ", "PRODUCT     ", "STATUS     ", "EXPIRES   ", "KEY")


def _day(lic: license_pb2.License, field: str, default: str) -> str:
    return (
        str(getattr(lic.terms, field).ToDatetime().date().isoformat())
        if lic.terms.HasField(field)
        else default
    )


def _line(lic: license_pb2.License) -> str:
    cells = (
        f"{lic.serial:012X}",
        lic.order_id,
        lic.product,
        license_status_text(lic),
        _day(lic, "expire_time", "perpetual"),
    )
    return (
        "  ".join(cell.ljust(len(head)) for cell, head in zip(cells, _HEADER[:-1], strict=True))
        + "  "
        + lic.license_key
    )


def _json(lic: license_pb2.License) -> dict[str, Any]:
    document = json_format.MessageToDict(lic, preserving_proto_field_name=True)
    document["serial"] = f"{lic.serial:012X}"  # as the tables, the export and the audit log show it
    return document


def _print(licenses: list[license_pb2.License], *, as_json: bool) -> None:
    if as_json:
        for lic in licenses:
            print(json.dumps(_json(lic), ensure_ascii=False))
        return
    for index, lic in enumerate(licenses):
        if index:
            print()
        rows = [
            ("serial", f"{lic.serial:012X}"),
            ("order", lic.order_id + ("  (test order)" if lic.test_order else "")),
            ("product", lic.product),
            ("status", license_status_text(lic)),
            ("issued", lic.issue_time.ToDatetime().date().isoformat()),
            ("expires", _day(lic, "expire_time", "perpetual")),
            ("updates until", _day(lic, "updates_until_time", "no limit")),
            ("seats", str(lic.terms.seats)),
            ("key", lic.license_key),
        ]
        if lic.revocation_note:
            rows.insert(4, ("note", lic.revocation_note))
        for name, value in rows:
            print(f"{name + ':':15}{value}")
