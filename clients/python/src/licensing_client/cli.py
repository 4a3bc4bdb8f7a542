"""`license-check`: validate one key from a shell, for support staff and scripts.

    license-check --key K --email E --product P --keyring FILE
                  [--revocations FILE] [--revocations-state FILE] [--now ISO8601]
                  [--build-date DATE] [--json] [-v]

Exit status: 0 the key is valid (the license is printed), 1 it is not (the reason code and a
message are printed), 141 standard output was closed early (`| head`), 2 the command itself could not run (bad arguments, an unreadable keyring
or revocation list, a revocation list whose signature fails). Expected errors are reported in
one line; the traceback is shown only with -v.

This is the one place in the package that reads the clock: `--now` defaults to it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from .errors import ClientError, LicenseError
from .keyring import PublicKeyring
from .license import License
from .revocation import RevocationList, newest_revocations
from .validate import validate

__all__ = ["main"]

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141


class _Parser(argparse.ArgumentParser):
    """argparse, plus `fail` for our own usage errors: the same status (2) and form of message."""

    def fail(self, message: str, exc: BaseException | None = None, verbose: bool = False) -> NoReturn:
        if verbose and exc is not None:
            _print_traceback(exc)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _print_traceback(exc: BaseException) -> None:
    import traceback  # only under -v: it brings linecache and tokenize with it

    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


def _build_parser() -> _Parser:
    parser = _Parser(
        prog="license-check",
        description="Check a license key offline against the vendor's public keyring.",
        epilog="Exit status: 0 valid, 1 not valid, 2 the check could not be run.",
    )
    parser.add_argument("--key", required=True, help="the license key, as typed or pasted")
    parser.add_argument("--email", required=True, help="the email address the key was issued to")
    parser.add_argument(
        "--product", required=True, help="product number, or a product code named in the keyring"
    )
    parser.add_argument("--keyring", required=True, metavar="FILE", help="public keyring JSON document")
    parser.add_argument("--revocations", metavar="FILE", help="signed revocation list JSON document")
    parser.add_argument(
        "--revocations-state",
        metavar="FILE",
        help="keep the newest revocation list seen here, so an older one given later cannot un-revoke a key",
    )
    parser.add_argument(
        "--now",
        metavar="ISO8601",
        help="check as of this time instead of the clock (UTC when it has no offset)",
    )
    parser.add_argument(
        "--build-date", metavar="DATE", help="the program's build date, checked against updates-until"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks of errors")
    return parser


def _parse_now(parser: _Parser, text: str | None) -> dt.datetime:
    if text is None:
        return dt.datetime.now(dt.timezone.utc)
    value = text.strip()
    if value[-1:] in ("Z", "z"):  # fromisoformat reads "Z" only from Python 3.11 on
        value = value[:-1] + "+00:00"
    try:
        now = dt.datetime.fromisoformat(value)
    except ValueError:
        parser.fail(f"--now {text!r} is not an ISO 8601 date or time (e.g. 2026-05-01T12:00:00Z)")
    return now if now.tzinfo is not None else now.replace(tzinfo=dt.timezone.utc)


def _parse_date(parser: _Parser, text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        parser.fail(f"--build-date {text!r} is not a date of the form YYYY-MM-DD")


def _read_file(parser: _Parser, path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        parser.fail(f"cannot read the {what} {path}: {exc.strerror or exc}")


def _keep_newest(
    parser: _Parser, path: str, given: RevocationList | None, keyring: PublicKeyring, verbose: bool
) -> RevocationList | None:
    """The newer of the given list and the one kept in `path`, which is updated to it."""
    import os

    kept = None
    if os.path.exists(path):
        try:
            kept = RevocationList.from_json(_read_file(parser, path, "revocation state"), keyring)
        except ClientError as exc:
            parser.fail(f"revocation state {path}: {exc}", exc, verbose)
    newest = newest_revocations(given, kept)
    if newest is not None and newest is not kept:
        descriptor = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(newest.to_json())
        os.replace(path + ".tmp", path)
    return newest


def _product_label(keyring: PublicKeyring, number: int) -> str:
    codes = sorted(code for code, value in keyring.products.items() if value == number)
    return f"{number} ({', '.join(codes)})" if codes else str(number)


def _print_license(out: TextIO, license: License, keyring: PublicKeyring) -> None:
    rows = [
        ("product", _product_label(keyring, license.product)),
        ("serial", license.serial_text),
        ("issued", license.issued.isoformat()),
        ("expires", "never" if license.expires is None else f"end of {license.expires.isoformat()} (UTC)"),
        (
            "updates until",
            "no limit" if license.updates_until is None else license.updates_until.isoformat(),
        ),
        ("seats", str(license.seats)),
        ("edition", str(license.edition)),
        ("flags", f"0x{license.flags:04X}"),
        ("signing key", str(license.key_id)),
    ]
    for name, value in rows:
        print(f"  {name + ':':15}{value}", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (the console script exits with it).

    `license-check … | head`: when the reader goes away, nothing more is said and the status is
    141, as for any Unix tool killed by SIGPIPE (not 1, which would mean "not valid").
    """
    try:
        status = _run(argv)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at interpreter exit
        return status
    except BrokenPipeError:
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
        return EXIT_BROKEN_PIPE


def _run(argv: Sequence[str] | None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    now = _parse_now(parser, args.now)
    build_date = _parse_date(parser, args.build_date)
    document = _read_file(parser, args.keyring, "keyring")
    try:
        keyring = PublicKeyring.from_json(document)
    except ClientError as exc:
        parser.fail(f"keyring {args.keyring}: {exc}", exc, args.verbose)
    try:
        product = keyring.product_number(args.product)
    except ClientError as exc:
        parser.fail(f"--product: {exc}", exc, args.verbose)
    if not 1 <= product <= 0xFFFF:
        parser.fail(f"--product: a product number is from 1 to 65535, not {product}")
    revocations = None
    if args.revocations is not None:
        document = _read_file(parser, args.revocations, "revocation list")
        try:
            revocations = RevocationList.from_json(document, keyring)
        except ClientError as exc:
            parser.fail(f"revocation list {args.revocations}: {exc}", exc, args.verbose)
    if args.revocations_state is not None:
        revocations = _keep_newest(parser, args.revocations_state, revocations, keyring, args.verbose)

    try:
        license = validate(
            args.key, args.email, product, keyring, now, build_date=build_date, revocations=revocations
        )
    except LicenseError as exc:
        if args.verbose:
            _print_traceback(exc)
        _report_invalid(exc, keyring, as_json=args.json)
        return EXIT_INVALID
    if args.json:
        print(json.dumps({"valid": True, "license": license.to_json()}))
    else:
        print("valid")
        _print_license(sys.stdout, license, keyring)
    return EXIT_VALID


def _report_invalid(error: LicenseError, keyring: PublicKeyring, *, as_json: bool) -> None:
    message = str(error.args[0])
    if as_json:  # the result document of docs/key-format.md section 4, as every client prints it
        print(json.dumps({"valid": False, "reason": error.reason.value}))
        return
    print(f"not valid: {error.reason.value}")
    print(f"  {message}")
    if error.license is not None:
        _print_license(sys.stdout, error.license, keyring)
