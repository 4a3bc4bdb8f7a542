"""Guessing is slow and seen: every RPC that tells a known email or order from an unknown one
spends the caller's look-ups, and misses are audited as well as hits (pseudonymously)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import grpc
import pytest
from harness import Harness, error_info, running_server

from licensing._proto.licensing.v1 import issuance_pb2, support_pb2, support_pb2_grpc
from licensing.api.server import ServerOptions
from licensing.config import Settings
from licensing.keyring import Keyring
from licensing.storage.models import AuditEvent

BURST = 10


@pytest.fixture(scope="module")
def strict_server(backend: Settings, keyring: Keyring) -> Iterator[Harness]:
    options = ServerOptions(
        address="127.0.0.1:0", health_interval=0.2, lookups_per_minute=1.0, lookup_burst=BURST
    )
    with running_server(backend, keyring, options) as harness:
        yield harness


def _guesses(server: Harness) -> dict[str, tuple[str, Callable[[str], object]]]:
    support = support_pb2_grpc.SupportServiceStub(server.channel)
    md_support = server.auth("support")
    return {
        "consent": ("support", lambda guess: support.SetNewsletterConsent(
            support_pb2.SetNewsletterConsentRequest(email=guess, subscribed=True, source="guess"), metadata=md_support)),
        "erase": ("support", lambda guess: support.EraseProfile(
            support_pb2.EraseProfileRequest(email=guess), metadata=md_support)),
        "export": ("support", lambda guess: support.ExportProfile(
            support_pb2.ExportProfileRequest(email=guess), metadata=md_support)),
        "find": ("support", lambda guess: support.FindLicenses(
            support_pb2.FindLicensesRequest(email=guess), metadata=md_support)),
        "get": ("issuer", lambda guess: server.issuance.GetLicense(
            issuance_pb2.GetLicenseRequest(order_id=guess, product="photo-pro"), metadata=server.auth("issuer"))),
    }  # fmt: skip


@pytest.mark.parametrize("action", ["consent", "erase", "export", "find", "get"])
def test_guesses_trip_the_look_up_limit_and_misses_are_audited(
    strict_server: Harness, backend: Settings, keyring: Keyring, action: str
) -> None:
    # A fresh token per case: each gets its own budget of BURST look-ups.
    from licensing.tokens import Role, create_token

    role, _ = _guesses(strict_server)[action]
    token = create_token(f"guesser-{action}-{uuid.uuid4().hex[:6]}", Role(role))
    strict_server.tokens[role] = token
    _, guess = _guesses(strict_server)[action]
    before = AuditEvent.select().where((AuditEvent.action == action) & (AuditEvent.target == "none")).count()
    answered = limited = 0
    for attempt in range(BURST * 3):
        candidate = (
            f"guess{attempt}.{uuid.uuid4().hex[:6]}@example.com"
            if action != "get"
            else f"G-{attempt}-{uuid.uuid4().hex[:6]}"
        )
        try:
            guess(candidate)
            answered += 1
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                limited += 1
                info = error_info(error)
                assert info is not None and info.reason == "RATE_LIMITED"
                assert candidate not in (error.details() or "")
            else:
                assert error.code() == grpc.StatusCode.NOT_FOUND, error.details()
                answered += 1
    assert answered <= BURST + 1  # the bucket refills at one a minute
    assert limited >= BURST * 3 - BURST - 1
    misses = AuditEvent.select().where((AuditEvent.action == action) & (AuditEvent.target == "none"))
    assert misses.count() - before == answered  # every answered guess is in the audit log
    for entry in misses:
        assert "@" not in entry.detail and "G-" not in entry.detail and "@" not in entry.target
