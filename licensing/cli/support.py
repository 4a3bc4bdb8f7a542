"""`licensing support find|export|erase|correct-email|consent`: support staff's commands, over the
gRPC API only.

Support never opens a database: every command is one call to SupportService with the caller's
support token, so the server authorises it, rate-limits look-ups and writes the audit log, as for
any other caller. The token comes from LICENSING_SUPPORT_TOKEN (or --token, which other users of
the machine can read in the process list). Without --tls-ca the channel is plaintext, which is
allowed only to a loopback address: the token must not cross a network in clear.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from .. import client
from .._proto.licensing.v1 import license_pb2, support_pb2, support_pb2_grpc
from ..client import ADDRESS_ENV, DEFAULT_ADDRESS
from ..errors import LicensingError, UsageError

TOKEN_ENV = "LICENSING_SUPPORT_TOKEN"
ERASE_PROMPT = "Erase all personal data of this purchaser? [y/N] "


def register(commands: Any) -> None:
    support = commands.add_parser(
        "support",
        help="support staff: find purchasers, export, erase, correct an email, record newsletter consent (over the gRPC API)",
        description=f"Support staff's commands. They call the server with a support token from {TOKEN_ENV}.",
    )
    group = support.add_subparsers(dest="action", required=True, metavar="ACTION")

    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument(
        "--address", help=f"the server's host:port (env {ADDRESS_ENV}; default {DEFAULT_ADDRESS})"
    )
    connection.add_argument(
        "--token", help=f"the support token (prefer env {TOKEN_ENV}: a flag shows in the process list)"
    )
    connection.add_argument(
        "--tls-ca",
        type=Path,
        metavar="FILE",
        help="use TLS and trust this CA certificate (PEM); without it, plaintext, to a loopback address only",
    )
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print the server's answer as a JSON object")

    find = group.add_parser(
        "find", parents=[connection, output], help="find a purchaser, with all orders and license keys"
    )
    query = find.add_mutually_exclusive_group(required=True)
    query.add_argument("--email", help="the purchaser's email address (letter case ignored)")
    query.add_argument("--order", metavar="ORDER_ID", help="the payment provider's order reference")
    query.add_argument("--key", metavar="KEY", help="a license key as the customer pasted it")
    find.set_defaults(func=_find)

    export = group.add_parser(
        "export",
        parents=[connection],
        help="everything held about a purchaser, as JSON (data access request)",
    )
    export.add_argument("--email", required=True, help="the purchaser's email address")
    export.add_argument(
        "-o", "--output", type=Path, help="file to write, mode 600 (default: standard output)"
    )
    export.set_defaults(func=_export)

    erase = group.add_parser(
        "erase",
        parents=[connection, output],
        help="erase a purchaser's personal data for good; their licenses keep working",
    )
    erase.add_argument("--email", required=True, help="the purchaser's email address")
    erase.add_argument("--yes", action="store_true", help="do not ask; required when input is not a terminal")
    erase.set_defaults(func=_erase)

    correct = group.add_parser(
        "correct-email",
        parents=[connection, output],
        help="move a purchaser to a corrected email address; their keys are reissued for it",
        description=(
            "Correct a purchaser's email address on their request. Every license gets a new key bound to "
            "the new address (same terms); the old keys are revoked and listed in the next revocation list. "
            "Send the purchaser the new keys shown."
        ),
    )
    who = correct.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="the purchaser's current email address")
    who.add_argument("--profile", metavar="PROFILE_ID", help="the profile ID shown by `find`")
    correct.add_argument("--new-email", required=True, help="the corrected email address")
    correct.set_defaults(func=_correct_email)

    consent = group.add_parser(
        "consent", parents=[connection, output], help="record that a purchaser subscribed or unsubscribed"
    )
    consent.add_argument("--email", required=True, help="the purchaser's email address")
    consent.add_argument("--newsletter", required=True, choices=["on", "off"], help="subscribed or not")
    consent.add_argument(
        "--source",
        default="support",
        help="where the purchaser said so, e.g. support-call (default: support)",
    )
    consent.set_defaults(func=_consent)


# -- commands ------------------------------------------------------------------------------------


def _find(args: argparse.Namespace) -> int:
    if args.email is not None:
        request = support_pb2.FindLicensesRequest(email=args.email)
    elif args.order is not None:
        request = support_pb2.FindLicensesRequest(order_id=args.order)
    else:
        request = support_pb2.FindLicensesRequest(license_key=args.key)
    with _support_stub(args) as (stub, call):
        response = call(stub.FindLicenses, request)
    if args.json:
        _print_json(response)
    elif not response.profiles:
        print("no purchaser found")
    else:
        for index, record in enumerate(response.profiles):
            if index:
                print()
            _print_profile(record.profile)
            _print_orders(record.orders)
    return 0


def _export(args: argparse.Namespace) -> int:
    with _support_stub(args) as (stub, call):
        response = call(stub.ExportProfile, support_pb2.ExportProfileRequest(email=args.email))
    document = response.document if response.document.endswith("\n") else response.document + "\n"
    if args.output is None:
        sys.stdout.write(document)
        return 0
    try:
        # The export is personal data: readable by its owner only, like the home folder's secrets.
        fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(document)
    except OSError as exc:
        raise LicensingError(f"cannot write {args.output}: {exc.strerror}") from exc
    print(f"wrote the export to {args.output}", file=sys.stderr)
    return 0


def _erase(args: argparse.Namespace) -> int:
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(
                "refusing to erase without --yes: standard input is not a terminal to confirm on",
                reason="CONFIRMATION_REQUIRED",
            )
        print(
            "The email address becomes unrecoverable, backups of the main database included; "
            "the purchaser's license keys keep working.",
            file=sys.stderr,
        )
        print(ERASE_PROMPT, end="", file=sys.stderr, flush=True)
        if sys.stdin.readline().strip().lower() not in {"y", "yes"}:
            print("nothing erased", file=sys.stderr)
            return 1
    with _support_stub(args) as (stub, call):
        response = call(stub.EraseProfile, support_pb2.EraseProfileRequest(email=args.email))
    if args.json:
        _print_json(response)
    elif response.erased:
        print(f"erased the purchaser's personal data; {response.licenses_kept} license(s) kept, anonymised")
    else:
        print("nothing is held for this email address; nothing erased")
    return 0


def _correct_email(args: argparse.Namespace) -> int:
    if args.email is not None:
        request = support_pb2.CorrectEmailRequest(email=args.email, new_email=args.new_email)
    else:
        request = support_pb2.CorrectEmailRequest(profile_id=args.profile, new_email=args.new_email)
    with _support_stub(args) as (stub, call):
        response = call(stub.CorrectEmail, request)
    if args.json:
        _print_json(response)
        return 0
    _print_profile(response.profile.profile)
    _print_orders(response.profile.orders)
    print(
        f"\n{len(response.replaced)} license(s) reissued for the corrected address; their former keys are revoked:"
    )
    for replaced in response.replaced:
        print(f"  {replaced.former_serial:012X} -> {replaced.license.serial:012X}")
    return 0


def _consent(args: argparse.Namespace) -> int:
    request = support_pb2.SetNewsletterConsentRequest(
        email=args.email, subscribed=args.newsletter == "on", source=args.source
    )
    with _support_stub(args) as (stub, call):
        response = call(stub.SetNewsletterConsent, request)
    if args.json:
        _print_json(response)
    else:
        _print_profile(response.profile)
    return 0


# -- the channel and its errors (licensing.client: loopback rule, token, rich-status decoding) ----


Call = Callable[[Callable[..., Any], Message], Any]


@contextmanager
def _support_stub(args: argparse.Namespace) -> Iterator[tuple[support_pb2_grpc.SupportServiceStub, Call]]:
    """A stub on a fresh channel, and `call(method, request)`, which turns failures into one line."""
    token = client.token_from(args.token, (TOKEN_ENV,), "support")
    with client.connect(client.resolve_address(args.address), token, args.tls_ca) as connection:
        yield support_pb2_grpc.SupportServiceStub(connection.channel), connection.call


# -- output --------------------------------------------------------------------------------------


def _print_json(message: Message) -> None:
    # Fields at their default are printed too, so an erased profile shows "email": "" rather than
    # no email key at all, and scripts see the same keys every time.
    document = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    print(json.dumps(_hex_serials(document), indent=2, ensure_ascii=False))


def _hex_serials(node: Any) -> Any:
    """Serials as the 12 hex digits the tables, the export and the audit log show, not decimal."""
    if isinstance(node, dict):
        return {
            key: f"{int(value):012X}"
            if key.endswith("serial") and str(value).isdigit()
            else _hex_serials(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_hex_serials(item) for item in node]
    return node


def _date(message: Message, field: str) -> str | None:
    if not message.HasField(field):
        return None
    return str(getattr(message, field).ToDatetime().date().isoformat())


def _print_profile(profile: support_pb2.Profile) -> None:
    erased = _date(profile, "erase_time")
    newsletter = "on" if profile.newsletter.subscribed else "off"
    changed = _date(profile.newsletter, "change_time")
    if changed:
        newsletter += f" since {changed} via {profile.newsletter.source or 'unknown'}"
    _print_table(
        [
            ["profile", profile.profile_id],
            ["email", f"(erased {erased})" if erased else profile.email],
            ["newsletter", newsletter],
            ["created", _date(profile, "create_time") or ""],
        ]
    )


def _print_orders(orders: Sequence[support_pb2.OrderRecord]) -> None:
    for order in orders:
        test = "  (test order)" if order.test_order else ""
        print(f"\norder {order.order_id}  {order.provider}  {_date(order, 'order_time') or ''}{test}")
        rows = [["SERIAL", "PRODUCT", "STATUS", "EXPIRES", "KEY"]]
        rows += [_license_row(lic) for lic in order.licenses]
        _print_table(rows, indent="  ")


def _license_row(lic: license_pb2.License) -> list[str]:
    status = license_pb2.LicenseStatus.Name(lic.status).removeprefix("LICENSE_STATUS_").lower()
    if lic.status == license_pb2.LICENSE_STATUS_REVOKED and lic.revocation_reason:
        reason = license_pb2.RevocationReason.Name(lic.revocation_reason).removeprefix("REVOCATION_REASON_")
        status += f" ({reason.lower()})"
    expires = _date(lic.terms, "expire_time") or "perpetual"
    return [f"{lic.serial:012X}", lic.product, status, expires, lic.license_key]


def _print_table(rows: Sequence[Sequence[str]], indent: str = "") -> None:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths[:-1], strict=True)]
        print(indent + "  ".join([*cells, row[-1]]))
