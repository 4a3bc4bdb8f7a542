"""`licensing support …` and `licensing audit`, run for real as child processes.

One `licensing serve` process on SQLite in a throw-away home serves the whole module; the support
commands reach it over gRPC only, with tokens in the environment as staff would set them. The
operator's `licensing audit` then reads the same home directly (SQLite WAL lets it read while the
server runs). Each `licensing` start costs a few tenths of a second, so each test runs only the
commands it is about.
"""

from __future__ import annotations

import json
import os
import pty
import socket
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from certs import make_ca, make_leaf
from harness import PRODUCTS, ServerChild, serve_home
from homes import TEST_PASSPHRASE, make_settings

from licensing._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc, support_pb2, support_pb2_grpc
from licensing.config import Settings
from licensing.products import add_product
from licensing.service import bind_databases
from licensing.tokens import Role, create_token

SUPPORT_NAME = "desk-alice"


@dataclass
class World:
    settings: Settings
    server: ServerChild
    tokens: dict[str, str]
    alice: str  # the purchaser with two licenses
    bob: str  # the purchaser with one
    alice_orders: tuple[str, str]
    bob_order: str
    alice_key: str

    def metadata(self, who: str = "support") -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.tokens[who]}"),)

    def new_purchaser(self, tag: str) -> tuple[str, str]:
        """A purchaser of its own, with one license: for a test that changes or erases them, so
        that no test depends on what another did or did not do before it."""
        email, order = f"{tag}.{uuid.uuid4().hex[:8]}@example.com", f"{tag.upper()}-{uuid.uuid4().hex[:8]}"
        with self.server.channel() as channel:
            issuance_pb2_grpc.IssuanceServiceStub(channel).IssueLicense(
                issuance_pb2.IssueLicenseRequest(email=email, order_id=order, product="photo-pro"),
                metadata=self.metadata("issuer"),
                timeout=30,
            )
        return email, order

    def find(self, **query: str) -> support_pb2.FindLicensesResponse:
        """A look-up in-process, to check state without paying for a `licensing` start."""
        with self.server.channel() as channel:
            stub = support_pb2_grpc.SupportServiceStub(channel)
            response: support_pb2.FindLicensesResponse = stub.FindLicenses(
                support_pb2.FindLicensesRequest(**query), metadata=self.metadata("checker"), timeout=10
            )
            return response


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, keyring_path: Path) -> Iterator[World]:
    settings, _ = make_settings("sqlite", tmp_path_factory.mktemp("support-cli") / "home", keyring_path)
    databases = bind_databases(settings)
    for code, number in PRODUCTS.items():
        add_product(code, number, code.title())
    tokens = {
        "support": create_token(SUPPORT_NAME, Role.SUPPORT),
        "issuer": create_token("shop", Role.ISSUER),
        "checker": create_token("test-checker", Role.SUPPORT),
        "flood": create_token("flood-support", Role.SUPPORT),
    }
    databases.close()
    # A slow refill (6 look-ups a minute) so the rate-limit test can drain one token's burst.
    server = serve_home(settings, TEST_PASSPHRASE, "--lookup-rate", "6", "--lookup-burst", "30")
    try:
        tag = uuid.uuid4().hex[:8]
        alice, bob = f"Alice.{tag}@Example.com", f"bob.{tag}@example.com"
        alice_orders, bob_order = (f"A1-{tag}", f"A2-{tag}"), f"B1-{tag}"
        with server.channel() as channel:
            issuance = issuance_pb2_grpc.IssuanceServiceStub(channel)
            metadata = (("authorization", f"Bearer {tokens['issuer']}"),)
            keys = [
                issuance.IssueLicense(
                    issuance_pb2.IssueLicenseRequest(email=email, order_id=order, product=product),
                    metadata=metadata,
                    timeout=30,
                ).license.license_key
                for email, order, product in (
                    (alice, alice_orders[0], "photo-pro"),
                    (alice, alice_orders[1], "video-max"),
                    (bob, bob_order, "photo-pro"),
                )
            ]
        yield World(settings, server, tokens, alice, bob, alice_orders, bob_order, keys[0])
    finally:
        assert server.stop() == 0, server.stderr[-2000:]


def environment(world: World, token: str | None = "support", address: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICENSING_")}
    env.update(PYTHONUNBUFFERED="1", LICENSING_ADDRESS=address or f"127.0.0.1:{world.server.port}")
    if token is not None:
        env["LICENSING_SUPPORT_TOKEN"] = world.tokens[token]
    return env


def support(
    world: World,
    *args: str,
    token: str | None = "support",
    address: str | None = None,
    stdin: int | None = subprocess.DEVNULL,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "licensing.cli.main", "support", *args],
        env=environment(world, token, address),
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def support_json(world: World, *args: str) -> dict[str, Any]:
    result = support(world, *args, "--json")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def one_error_line(result: subprocess.CompletedProcess[str], status: int = 1) -> str:
    assert result.returncode == status, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def orders_of(found: dict[str, Any]) -> list[str]:
    (profile,) = found["profiles"]
    return [order["order_id"] for order in profile["orders"]]


# -- find ----------------------------------------------------------------------------------------


def test_find_by_email_order_and_key_gives_the_same_profile(world: World) -> None:
    by_email = support_json(world, "find", "--email", world.alice.upper())
    by_order = support_json(world, "find", "--order", world.alice_orders[1])
    pasted = world.alice_key.lower().replace("-", "")
    by_key = support_json(world, "find", "--key", pasted)
    assert by_email == by_order == by_key
    (record,) = by_email["profiles"]
    assert record["profile"]["email"] == world.alice.lower()
    assert orders_of(by_email) == list(world.alice_orders)
    licenses = [lic for order in record["orders"] for lic in order["licenses"]]
    assert [lic["product"] for lic in licenses] == ["photo-pro", "video-max"]
    assert licenses[0]["license_key"] == world.alice_key


def test_find_prints_a_readable_table(world: World) -> None:
    result = support(world, "find", "--email", world.alice)
    assert result.returncode == 0, result.stderr
    (record,) = world.find(email=world.alice).profiles
    assert record.profile.profile_id in result.stdout
    assert f"email       {world.alice.lower()}" in result.stdout
    assert "newsletter  off" in result.stdout
    for order in record.orders:
        assert f"order {order.order_id}  {order.provider}  " in result.stdout
        for lic in order.licenses:
            row = next(line for line in result.stdout.splitlines() if f"{lic.serial:012X}" in line)
            assert lic.product in row and "valid" in row and "perpetual" in row
            assert row.rstrip().endswith(lic.license_key)


def test_find_of_nothing_says_so(world: World) -> None:
    result = support(world, "find", "--order", "NO-SUCH-ORDER")
    assert (result.returncode, result.stdout.strip()) == (0, "no purchaser found")


# -- export and consent --------------------------------------------------------------------------


def test_export_writes_exactly_that_purchasers_orders(world: World, tmp_path: Path) -> None:
    target = tmp_path / "export.json"
    result = support(world, "export", "--email", world.alice, "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # personal data
    document = json.loads(target.read_text())
    assert document["profile"]["email"] == world.alice.lower()
    assert [order["order_id"] for order in document["orders"]] == list(world.alice_orders)
    assert world.bob_order not in target.read_text() and world.bob not in target.read_text()


def test_consent_on_and_off_shows_in_a_later_find(world: World) -> None:
    result = support(
        world, "consent", "--email", world.alice, "--newsletter", "on", "--source", "support-call"
    )
    assert result.returncode == 0, result.stderr
    newsletter = support_json(world, "find", "--email", world.alice)["profiles"][0]["profile"]["newsletter"]
    assert newsletter["subscribed"] is True and newsletter["source"] == "support-call"
    result = support(world, "consent", "--email", world.alice, "--newsletter", "off")
    assert result.returncode == 0, result.stderr
    assert "newsletter  off since" in result.stdout and "via support" in result.stdout
    newsletter = support_json(world, "find", "--email", world.alice)["profiles"][0]["profile"]["newsletter"]
    assert newsletter["subscribed"] is False and newsletter["source"] == "support"


# -- erasure -------------------------------------------------------------------------------------


def test_erase_without_yes_and_without_a_terminal_refuses(world: World) -> None:
    email, _ = world.new_purchaser("kept")
    line = one_error_line(support(world, "erase", "--email", email), status=2)  # a usage error
    assert "--yes" in line
    assert world.find(email=email).profiles[0].profile.email == email


def test_erase_on_a_terminal_asks_and_a_no_erases_nothing(world: World) -> None:
    email, _ = world.new_purchaser("asked")
    controller, terminal = pty.openpty()
    try:
        os.write(controller, b"n\n")  # typed ahead: the terminal holds it until the prompt reads it
        result = support(world, "erase", "--email", email, stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 1
    assert "Erase all personal data of this purchaser? [y/N]" in result.stderr
    assert "nothing erased" in result.stderr
    assert world.find(email=email).profiles[0].profile.email == email


def test_erase_with_yes_erases_the_email_and_keeps_the_orders(world: World) -> None:
    email, order = world.new_purchaser("erased")
    result = support(world, "erase", "--email", email, "--yes")
    assert result.returncode == 0, result.stderr
    assert "1 license(s) kept" in result.stdout
    assert support_json(world, "find", "--email", email) == {"profiles": []}
    (record,) = support_json(world, "find", "--order", order)["profiles"]
    assert record["profile"]["email"] == "" and record["profile"]["erase_time"]
    assert [order["order_id"] for order in record["orders"]] == [order]


# -- failures ------------------------------------------------------------------------------------


def test_an_issuer_token_is_refused_with_permission_denied(world: World) -> None:
    line = one_error_line(support(world, "find", "--email", world.alice, token="issuer"))
    assert line.startswith("error: PERMISSION_DENIED: ")
    assert world.alice.lower() not in line


def test_no_token_is_a_clear_error_before_any_call(world: World) -> None:
    line = one_error_line(support(world, "find", "--email", world.alice, token=None))
    assert "LICENSING_SUPPORT_TOKEN" in line


def test_an_unreachable_server_or_a_plaintext_remote_fails_cleanly(world: World) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    line = one_error_line(support(world, "find", "--email", world.alice, address=closed))
    assert f"cannot reach the licensing server at {closed}" in line
    line = one_error_line(support(world, "find", "--email", world.alice, address="192.0.2.1:50051"))
    assert "refusing to send the token in plaintext" in line and "--tls-ca" in line


def test_rate_limited_look_ups_say_when_to_retry(world: World) -> None:
    with world.server.channel() as channel:
        stub = support_pb2_grpc.SupportServiceStub(channel)
        request = support_pb2.FindLicensesRequest(order_id="NO-SUCH-ORDER")
        with pytest.raises(grpc.RpcError):
            for _ in range(40):
                stub.FindLicenses(request, metadata=world.metadata("flood"), timeout=10)
    line = one_error_line(support(world, "find", "--order", "NO-SUCH-ORDER", token="flood"))
    assert line.startswith("error: RESOURCE_EXHAUSTED: ") and "retry in" in line


def test_tls_with_the_servers_ca(world: World, tmp_path: Path) -> None:
    ca_pem, ca_cert, ca_key = make_ca("support CLI test CA")
    cert, key = make_leaf("localhost", ca_cert, ca_key, server=True).write(tmp_path, "server")
    (tmp_path / "ca.crt").write_bytes(ca_pem.cert)
    tls_server = serve_home(world.settings, TEST_PASSPHRASE, "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        address = f"localhost:{tls_server.port}"
        found = support(
            world,
            "find",
            "--order",
            world.alice_orders[0],
            "--json",
            "--tls-ca",
            str(tmp_path / "ca.crt"),
            address=address,
        )
        assert found.returncode == 0, found.stderr
        assert orders_of(json.loads(found.stdout)) == list(world.alice_orders)
        line = one_error_line(support(world, "find", "--order", world.alice_orders[0], address=address))
        assert "cannot reach the licensing server" in line  # plaintext to a TLS server
    finally:
        assert tls_server.stop() == 0


# -- the operator's audit log --------------------------------------------------------------------


def audit(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICENSING_")}
    env["LICENSING_HOME"] = str(world.settings.home)  # no passphrase: the audit log needs no keyring
    return subprocess.run(
        [sys.executable, "-m", "licensing.cli.main", "audit", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_audit_lists_support_actions_by_token_name_and_never_an_email(world: World, tmp_path: Path) -> None:
    # The actions this test reads back, done here: it must not rely on other tests running first.
    email, _ = world.new_purchaser("audited")
    for action in (
        ["find", "--email", email],
        ["export", "--email", email, "-o", str(tmp_path / "export.json")],
        ["consent", "--email", email, "--newsletter", "on"],
        ["erase", "--email", email, "--yes"],
    ):
        assert support(world, *action).returncode == 0
    result = audit(world, "--json")
    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    by_alice = {entry["action"] for entry in entries if entry["actor"] == SUPPORT_NAME}
    assert {"find", "export", "consent", "erase"} <= by_alice
    assert {entry["actor"] for entry in entries if entry["action"] == "issue"} == {"shop"}
    for address in (world.alice, world.bob, email):
        assert address.lower() not in result.stdout.lower()
    erased = audit(world, "--action", "erase", "--since", "2000-01-01")
    assert erased.returncode == 0, erased.stderr
    lines = erased.stdout.splitlines()
    assert lines and all(" erase " in line and " profile:" in line for line in lines)
    assert any(f" {SUPPORT_NAME} " in line and line.endswith("1 licenses kept") for line in lines)
