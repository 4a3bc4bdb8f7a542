"""`licensing import FILE.csv`: back-fill historical orders through the bulk IssueLicenses RPC.

Columns (header row required; only the first three are mandatory):

    email, order_id, product, order_time, expires, updates_until, seats, edition,
    feature_flags, provider, test_order

Dates are ISO 8601 (`2024-03-01` or `2024-03-01T12:00:00Z`); test_order is true/false/1/0;
seats is 1 or more (empty: 1).
Rows that fail are listed in FILE.rejects.csv (mode 0600) by line number, column and reason,
never by their values (an email or card-shaped text must not be copied into another file); the
rest go in. Running the
same file again is harmless (existing licenses are recognised, nothing is issued twice). It is
an ordinary issuer client: it needs a token (`--token` or LICENSING_ISSUER_TOKEN), never the
database.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TextIO

import grpc
from google.protobuf import timestamp_pb2
from licensing_client.email import InvalidEmail, normalize_email

from .. import client
from .._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc, license_pb2
from ..errors import ConfigurationError, InvalidArgument

COLUMNS = (
    "email",
    "order_id",
    "product",
    "order_time",
    "expires",
    "updates_until",
    "seats",
    "edition",
    "feature_flags",
    "provider",
    "test_order",
)
REQUIRED = ("email", "order_id", "product")
_ENCODING = "utf-8-sig"  # UTF-8, with or without the byte-order mark spreadsheets write
CHUNK = 2000  # rows per IssueLicenses call; IN_FLIGHT calls are kept in flight
# One connection per call in flight: `serve --processes N` shares the port with SO_REUSEPORT, and
# the kernel spreads connections (not calls) over the processes. A local subchannel pool keeps
# gRPC from folding the channels into one connection.
IN_FLIGHT = 4  # four connections: over two processes, all four land on one only 1 time in 8
_OWN_CONNECTION = (("grpc.use_local_subchannel_pool", 1),)
PER_MESSAGE = 100  # rows per stream message at most: amortises the per-message cost
MESSAGE_BYTES = 48 * 1024  # and bytes per message at most: the server refuses messages over 64 KiB
MAX_ROW_BYTES = 8 * 1024  # a row larger than this is refused alone (real rows are a few hundred bytes)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "import",
        help="issue licenses for historical orders from a CSV file",
        description=__doc__.split("\n", 1)[1],  # the columns and rules, as the error messages point here
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--address", help="the server's host:port (env LICENSING_ADDRESS; default 127.0.0.1:50051)"
    )
    parser.add_argument("--token", help="issuer token (default: env LICENSING_ISSUER_TOKEN)")
    parser.add_argument(
        "--tls-ca",
        type=Path,
        help="use TLS, trusting this CA certificate; without it, a loopback address only",
    )
    parser.add_argument("--rejects", type=Path, help="where failed rows go (default: FILE.rejects.csv)")
    parser.set_defaults(func=_import)


def _timestamp(text: str, column: str) -> timestamp_pb2.Timestamp | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)  # Python 3.11 reads a trailing Z
    except ValueError:
        raise InvalidArgument(column, "is not an ISO 8601 date or time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _number(text: str, column: str, *, low: int = 0) -> int:
    if not text:
        return 0
    if (
        not (text.isascii() and text.isdigit()) or len(text) > 9
    ):  # isdigit: superscripts, other scripts' digits
        raise InvalidArgument(column, "must be a whole number")
    if int(text) < low:
        # The API reads seats=0 as "the default, 1"; in a file, 0 is more likely a mistake.
        raise InvalidArgument(column, f"must be at least {low} (leave it empty for the default)")
    return int(text)


def request_of(row: dict[str, str]) -> issuance_pb2.IssueLicenseRequest:
    """One CSV row as an IssueLicenseRequest; InvalidArgument names the bad column."""
    for column, value in row.items():
        if isinstance(value, str) and ("\n" in value or "\r" in value):
            # No column holds a line break. Usually a quote was left open and swallowed the lines
            # after it into this field: refused, so that they are not lost without a word.
            raise InvalidArgument(
                column or "row",
                "runs over several lines (a quote left open, or a line break inside a field)",
                reason="FIELD_SPANS_LINES",
            )

    def get(name: str) -> str:
        return (row.get(name) or "").strip()

    test = get("test_order").lower()
    if test not in ("", "true", "false", "1", "0", "yes", "no"):
        raise InvalidArgument("test_order", "must be true or false")
    request = issuance_pb2.IssueLicenseRequest(
        email=get("email"),
        order_id=get("order_id"),
        product=get("product"),
        order_time=_timestamp(get("order_time"), "order_time"),
        provider=get("provider"),
        test_order=test in ("true", "1", "yes"),
        terms=license_pb2.LicenseTerms(
            expire_time=_timestamp(get("expires"), "expires"),
            updates_until_time=_timestamp(get("updates_until"), "updates_until"),
            seats=_number(get("seats"), "seats", low=1),
            edition=_number(get("edition"), "edition"),
            feature_flags=_number(get("feature_flags"), "feature_flags"),
        ),
    )
    if request.ByteSize() > MAX_ROW_BYTES:
        raise InvalidArgument("row", f"is larger than {MAX_ROW_BYTES:,} bytes", reason="ROW_TOO_LARGE")
    return request


class Progress:
    """A one-line progress report with rate and ETA, only when writing to a terminal."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total, self.out, self.started = total, out, time.monotonic()
        self.live = out.isatty()

    def update(self, done: int) -> None:
        if not self.live:
            return
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = done / elapsed
        eta = (self.total - done) / rate if rate else 0.0
        width = 30
        filled = int(width * done / max(self.total, 1))
        self.out.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} rows  {rate:,.0f}/s  ETA {eta:,.0f} s "
        )
        self.out.flush()

    def finish(self) -> None:
        if self.live:
            self.out.write("\n")


class FirstRowWins:
    """One (order_id, product) twice in a file with another email, other terms or another order day:
    the first row is the one that counts, the later one is refused here. Left to the server, the
    calls in flight would race and whichever chunk committed first would win. Rows the server would
    answer with the first row's license (the same purchaser however the email is cased, the same
    terms, the same order day or none given) go through, as the server's own rule (mismatch) has it;
    the provider and the test and newsletter flags are not part of a license."""

    def __init__(self) -> None:
        # (order, product) -> (line, digest of the email and terms, order day or -1 when not given)
        self.first: dict[tuple[str, str], tuple[int, bytes, int]] = {}

    def check(self, request: issuance_pb2.IssueLicenseRequest, line: int) -> None:
        try:
            email = normalize_email(request.email)
        except InvalidEmail:
            return  # the server refuses it, whatever else is in the file
        digest = hashlib.blake2b(
            email.encode() + b"\0" + request.terms.SerializeToString(deterministic=True), digest_size=16
        ).digest()
        day = request.order_time.seconds // 86400 if request.HasField("order_time") else -1
        first_line, first_digest, first_day = self.first.setdefault(
            (request.order_id, request.product), (line, digest, day)
        )
        if first_digest != digest or (day >= 0 and first_day >= 0 and day != first_day):
            raise InvalidArgument(
                "order_id",
                f"and product are on line {first_line} already, with another email, other terms or "
                "another order day; the first row counts",
                reason="DUPLICATE_ORDER_IN_FILE",
            )


def _chunks(
    reader: csv.DictReader[str], rejects: Any, counts: dict[str, int]
) -> Iterator[tuple[list[int], list[issuance_pb2.IssueLicenseRequest]]]:
    rows: list[int] = []  # the file's line number of each request
    requests: list[issuance_pb2.IssueLicenseRequest] = []
    first_rows = FirstRowWins()
    try:
        for row in reader:
            try:
                request = request_of(row)
                first_rows.check(request, reader.line_num)
                requests.append(request)
                rows.append(reader.line_num)
            except InvalidArgument as exc:
                rejects.writerow([reader.line_num, _column_of(exc.field), exc.reason, exc.message])
                counts["rejected"] += 1
                counts["read"] += 1
            if len(requests) >= CHUNK:
                yield rows, requests
                rows, requests = [], []
    except csv.Error:  # the file stops being CSV: the rows read before still go in, then the error
        if requests:
            yield rows, requests
        raise
    if requests:
        yield rows, requests


def _column_of(field: str) -> str:
    """The CSV column a request field came from ("terms.seats" is the column "seats")."""
    name = field.rpartition(".")[2]
    return {"flags": "feature_flags", "order_ref": "order_id"}.get(name, name)


def _private_file(path: Path) -> TextIO:
    """Open `path` for writing as 0600 whatever the umask: it names rows of a file of customers."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(descriptor, "w", newline="", encoding="utf-8")


def _messages(
    requests: list[issuance_pb2.IssueLicenseRequest],
) -> Iterator[issuance_pb2.IssueLicensesRequest]:
    """The stream for one call. A function, not an inline generator expression: the stream is
    read on gRPC's thread after the loop has moved on, so it must hold its own chunk."""
    batch: list[issuance_pb2.IssueLicenseRequest] = []
    size = 0
    for request in requests:
        row_bytes = request.ByteSize() + 8  # with its field tag and length
        if batch and (len(batch) >= PER_MESSAGE or size + row_bytes > MESSAGE_BYTES):
            yield issuance_pb2.IssueLicensesRequest(requests=batch)
            batch, size = [], 0
        batch.append(request)
        size += row_bytes
    if batch:
        yield issuance_pb2.IssueLicensesRequest(requests=batch)


def _import(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("LICENSING_ISSUER_TOKEN")
    if not token:
        raise ConfigurationError("give an issuer token with --token or LICENSING_ISSUER_TOKEN")
    try:
        with args.file.open(newline="", encoding=_ENCODING) as handle:
            total = max(sum(1 for _ in handle) - 1, 0)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {args.file}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f'{args.file} is not UTF-8 text (byte {exc.start + 1}); save it as "CSV UTF-8"'
        ) from None
    rejects_path = args.rejects or args.file.with_suffix(".rejects.csv")
    address = client.resolve_address(args.address)
    ca = client.read_ca(args.tls_ca)
    channels = [  # plaintext to loopback only
        client.open_channel(address, ca=ca, options=_OWN_CONNECTION) for _ in range(IN_FLIGHT)
    ]
    stubs = [issuance_pb2_grpc.IssuanceServiceStub(channel) for channel in channels]
    metadata = (("authorization", f"Bearer {token}"),)
    counts = {"read": 0, "issued": 0, "existing": 0, "rejected": 0}
    progress = Progress(total, sys.stderr)
    started = time.monotonic()
    in_flight: list[tuple[list[int], Future[Any]]] = []
    malformed = ""
    try:
        with args.file.open(newline="", encoding=_ENCODING) as handle, _private_file(rejects_path) as out:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise ConfigurationError(
                    f"{args.file} lacks the column(s) {', '.join(missing)}; see `licensing import --help`"
                )
            rejects = csv.writer(out)
            rejects.writerow(["line", "column", "reason", "message"])

            def collect(rows: list[int], call: Any) -> None:
                try:
                    response = call.result()
                except grpc.RpcError as exc:
                    raise client.error_of_call(exc, address, timeout=600) from exc
                counts["issued"] += response.issued
                counts["existing"] += response.existing
                for failure in response.failures:
                    rejects.writerow(
                        [rows[failure.index], _column_of(failure.field), failure.reason, failure.message]
                    )
                    counts["rejected"] += 1
                counts["read"] += len(rows)
                progress.update(counts["read"])

            try:
                for n, (rows, requests) in enumerate(_chunks(reader, rejects, counts)):
                    stub = stubs[n % IN_FLIGHT]
                    in_flight.append(
                        (rows, stub.IssueLicenses.future(_messages(requests), metadata=metadata, timeout=600))
                    )
                    if len(in_flight) >= IN_FLIGHT:
                        collect(*in_flight.pop(0))
            except csv.Error as exc:  # the file stops being CSV here; what came before still goes in
                malformed = f"line {reader.line_num + 1} is not valid CSV ({exc}); nothing after it was read"
            while in_flight:
                collect(*in_flight.pop(0))
    except BaseException:  # the server went away, Ctrl-C: say what is in, then the error
        progress.finish()
        if not (counts["read"] or in_flight):
            raise
        print(
            f"stopped after {counts['read']} rows: {counts['issued']} issued, {counts['existing']} already "
            f"there, {counts['rejected']} rejected; the rows of the calls cut short may or may not be in, "
            "and running the same file again is harmless"
        )
        raise
    finally:
        # On any error, the calls still in flight are cancelled and the channels closed here, not
        # left to the garbage collector (which can deadlock in grpcio's channel finaliser).
        for _, call in in_flight:
            call.cancel()
        for channel in channels:
            channel.close()
    progress.finish()
    seconds = time.monotonic() - started
    print(
        f"{counts['read']} rows in {seconds:.1f} s ({counts['read'] / max(seconds, 1e-6):,.0f}/s): "
        f"{counts['issued']} issued, {counts['existing']} already there, {counts['rejected']} rejected"
        + (f" (see {rejects_path})" if counts["rejected"] else "")
    )
    if not counts["rejected"]:
        rejects_path.unlink()
    if malformed:
        raise ConfigurationError(f"{args.file}: {malformed}")
    return 0 if not counts["rejected"] else 3
