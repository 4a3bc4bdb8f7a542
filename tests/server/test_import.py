"""`licensing import FILE.csv` against a real server process: rows go in, bad rows go to rejects."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from harness import PRODUCTS, ServerChild, serve_home
from homes import TEST_PASSPHRASE, make_settings

from licensing._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc
from licensing.products import add_product
from licensing.service import bind_databases
from licensing.storage.models import License, Profile
from licensing.tokens import Role, create_token


@pytest.fixture(scope="module")
def importing_server(
    tmp_path_factory: pytest.TempPathFactory, keyring_path: Path
) -> Iterator[tuple[ServerChild, str]]:
    settings, _ = make_settings("sqlite", tmp_path_factory.mktemp("import-home"), keyring_path)
    databases = bind_databases(settings)
    for code, number in PRODUCTS.items():
        add_product(code, number, code)
    token = create_token("importer", Role.ISSUER)
    databases.close()
    server = serve_home(settings, TEST_PASSPHRASE)
    try:
        yield server, token
    finally:
        server.stop()
        bind_databases(settings)  # leave the models bound to this home for the count below


def run_import(server: ServerChild, token: str, path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LICENSING_ADDRESS=f"127.0.0.1:{server.port}", LICENSING_ISSUER_TOKEN=token)
    return subprocess.run(
        [sys.executable, "-m", "licensing.cli.main", "import", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_import_writes_good_rows_rejects_bad_ones_and_is_harmless_to_repeat(
    importing_server: tuple[ServerChild, str], tmp_path: Path
) -> None:
    server, token = importing_server
    path = tmp_path / "orders.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "order_id", "product", "order_time", "expires", "seats", "test_order"])
        for i in range(2500):
            writer.writerow(
                [
                    f"old{i % 700}@example.com",
                    f"H-{i}",
                    "photo-pro",
                    "2021-05-01T10:00:00Z",
                    "2031-05-01",
                    "2",
                    "false",
                ]
            )
        writer.writerow(["broken-email", "H-bad-1", "photo-pro", "", "", "", ""])
        writer.writerow(["ok@example.com", "H-bad-2", "photo-pro", "yesterday", "", "", ""])
        writer.writerow(["ok@example.com", "H-bad\n3", "photo-pro", "", "", "", ""])
        writer.writerow(["ok@example.com", "H-bad-4", "photo-pro", "", "", "", "maybe"])
        # An order reference is opaque: digits shaped like a card number are a valid reference.
        writer.writerow(["ok@example.com", "4111 1111 1111 1111", "photo-pro", "", "", "", ""])
        writer.writerow(
            ["4111111111111111@example.com", "H-5", "photo-pro", "", "", "", "card 4111 1111 1111 1111"]
        )

    first = run_import(server, token, path)
    assert first.returncode == 3, first.stderr
    assert "2506 rows" in first.stdout and "2501 issued" in first.stdout and "5 rejected" in first.stdout
    rejects_path = tmp_path / "orders.rejects.csv"
    assert rejects_path.stat().st_mode & 0o777 == 0o600
    text = rejects_path.read_text()
    with rejects_path.open() as handle:
        rejected = [(row["line"], row["column"], row["reason"]) for row in csv.DictReader(handle)]
    assert sorted(rejected) == [
        ("2502", "email", "INVALID_EMAIL"),
        ("2503", "order_time", "INVALID_ARGUMENT"),
        ("2505", "order_id", "FIELD_SPANS_LINES"),
        ("2506", "test_order", "INVALID_ARGUMENT"),
        ("2508", "test_order", "INVALID_ARGUMENT"),
    ]
    # The rejects file names lines and columns, never the values: no email, no card-shaped text.
    for value in ("broken-email", "ok@example.com", "4111", "H-bad", "yesterday", "maybe"):
        assert value not in text and value not in first.stderr + first.stdout

    second = run_import(server, token, path)
    assert "0 issued, 2501 already there, 5 rejected" in second.stdout
    assert License.select().count() == 2501


def test_import_into_two_server_processes_writes_each_order_once(
    tmp_path_factory: pytest.TempPathFactory, keyring_path: Path, tmp_path: Path
) -> None:
    """`serve --processes 2` on one SQLite file: the import's connections may land on either
    process, and purchasers recur across calls, so two writers race to create the same profile."""
    settings, _ = make_settings("sqlite", tmp_path_factory.mktemp("import-two-home"), keyring_path)
    databases = bind_databases(settings)
    for code, number in PRODUCTS.items():
        add_product(code, number, code)
    token = create_token("importer", Role.ISSUER)
    databases.close()
    path = tmp_path / "orders.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "order_id", "product", "order_time"])
        for i in range(4500):  # three calls of up to 2,000 rows; each email in every call
            writer.writerow([f"twice{i % 300}@example.com", f"P2-{i}", "photo-pro", "2022-03-01T09:00:00Z"])
    server = serve_home(settings, TEST_PASSPHRASE, "--processes", "2")
    try:
        first = run_import(server, token, path)
        second = run_import(server, token, path)
    finally:
        server.stop()
    assert first.returncode == 0, first.stderr
    assert "4500 issued, 0 already there, 0 rejected" in first.stdout
    assert "0 issued, 4500 already there, 0 rejected" in second.stdout
    bind_databases(settings)
    assert License.select().count() == 4500
    assert Profile.select().count() == 300


def test_a_file_as_people_make_them_loses_no_row_without_a_word(
    importing_server: tuple[ServerChild, str], tmp_path: Path
) -> None:
    """A spreadsheet's byte-order mark, a superscript digit, a row far too large for one message,
    a quote left open: each bad row is refused alone, on its own line, and the rest go in."""
    server, token = importing_server
    path = tmp_path / "spreadsheet.csv"
    lines = ["email,order_id,product,seats"]
    lines += [f"sheet{i}@example.com,S-{i},photo-pro,1" for i in range(300)]
    lines.append("sup@example.com,S-sup,photo-pro,\u00b2")  # a superscript two passes str.isdigit
    lines.append("big@example.com," + "B" * 100_000 + ",photo-pro,1")  # over one 64 KiB message
    lines += [f"tail{i}@example.com,T-{i},photo-pro,1" for i in range(5)]
    lines.append('open@example.com,"O-1,photo-pro,1')  # a quote left open: it swallows the rest
    lines.append("lost@example.com,O-2,photo-pro,1")
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")  # Excel's "CSV UTF-8"

    done = run_import(server, token, path)
    assert done.returncode == 3, done.stderr
    assert "305 issued" in done.stdout and "3 rejected" in done.stdout, done.stdout + done.stderr
    with (tmp_path / "spreadsheet.rejects.csv").open() as handle:
        reasons = sorted((row["column"], row["reason"]) for row in csv.DictReader(handle))
    assert reasons == [
        ("order_id", "FIELD_SPANS_LINES"),
        ("row", "ROW_TOO_LARGE"),
        ("seats", "INVALID_ARGUMENT"),
    ]
    assert "Traceback" not in done.stderr


def test_a_file_that_is_not_utf8_or_not_csv_is_refused_in_one_line(
    importing_server: tuple[ServerChild, str], tmp_path: Path
) -> None:
    server, token = importing_server
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        "email,order_id,product\nj\u00e9r\u00f4me@example.com,L-1,photo-pro\n".encode("latin-1")
    )
    refused = run_import(server, token, latin)
    assert refused.returncode == 1 and "is not UTF-8 text" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1

    huge = tmp_path / "huge-field.csv"
    huge.write_text(
        "email,order_id,product\nfirst@example.com,F-1,photo-pro\n"
        + 'x@example.com,"'
        + "y" * 200_000
        + '",photo-pro\n',
        encoding="utf-8",
    )
    stopped = run_import(server, token, huge)
    assert stopped.returncode == 1, stopped.stderr
    assert "line 3 is not valid CSV" in stopped.stderr and "Traceback" not in stopped.stderr
    assert "1 issued" in stopped.stdout  # the row before it went in


def test_one_order_twice_in_a_file_the_first_row_counts_whatever_the_timing(
    importing_server: tuple[ServerChild, str], tmp_path: Path
) -> None:
    """The same order in every chunk, with another email or other seats each time: the license is
    the first row's, every later row that differs is refused, and a later equal row (the email in
    other case) is answered with the first row's license. The calls in flight no longer race."""
    server, token = importing_server
    path = tmp_path / "twice.csv"
    lines = ["email,order_id,product,seats"]
    for copy in range(3):  # three copies of 2,500 orders: one in each of several chunks in flight
        for i in range(2500):
            if copy == 0:
                lines.append(f"first{i}@example.com,D-{i},photo-pro,1")
            elif copy == 1:
                lines.append(f"FIRST{i}@Example.com,D-{i},photo-pro,1")  # the same purchaser
            else:
                lines.append(f"first{i}@example.com,D-{i},photo-pro,{2 + i % 3}")  # other terms
    lines.append("someone.else@example.com,D-0,photo-pro,1")  # another purchaser
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    done = run_import(server, token, path)
    assert done.returncode == 3, done.stderr
    assert "2500 issued, 2500 already there, 2501 rejected" in done.stdout, done.stdout
    with (tmp_path / "twice.rejects.csv").open() as handle:
        reasons = {row["reason"] for row in csv.DictReader(handle)}
    assert reasons == {"DUPLICATE_ORDER_IN_FILE"}
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:  # this server's database
        stub = issuance_pb2_grpc.IssuanceServiceStub(channel)
        seats = {
            stub.GetLicense(
                issuance_pb2.GetLicenseRequest(order_id=f"D-{i}", product="photo-pro"),
                metadata=(("authorization", f"Bearer {token}"),),
                timeout=30,
            ).license.terms.seats
            for i in (0, 1, 2, 3, 2499)  # the last copies had 2 to 4 seats
        }
    assert seats == {1}


def test_an_import_whose_server_is_gone_says_what_is_in_and_ends(tmp_path: Path) -> None:
    """No server on the port: the CLI ends at once with one error line and says how far it got
    (it once could hang in grpcio's channel finaliser when the server went away mid-import)."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "orders.csv"
    path.write_text(
        "email,order_id,product\n" + "".join(f"g{i}@example.com,G-{i},photo-pro\n" for i in range(5000)),
        encoding="utf-8",
    )
    env = dict(os.environ, LICENSING_ADDRESS=f"127.0.0.1:{port}", LICENSING_ISSUER_TOKEN="lic_" + "x" * 43)
    done = subprocess.run(
        [sys.executable, "-m", "licensing.cli.main", "import", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # a bound for a hang, not a measurement
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("stopped after 0 rows: 0 issued"), done.stdout
    assert len(done.stderr.strip().splitlines()) == 1 and "cannot reach" in done.stderr, done.stderr
