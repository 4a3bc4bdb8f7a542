"""Promises under real-world input: no legitimate order refused, no card number in free text.

Order references in the shapes of real stores (tests/realworld/orders.py) must all be accepted,
by the input check, by the bridge, and by a real server over gRPC on both engines; card numbers
typed into the free-text fields (revocation note, consent source) must be refused whatever the
separators, and the honest notes staff write must not be.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator

import grpc
import pytest
from harness import Harness, error_info, running_server
from realworld.notes import card_numbers, honest_notes
from realworld.orders import corpus

from licensing._proto.licensing.v1 import issuance_pb2, license_pb2, support_pb2, support_pb2_grpc
from licensing.api.server import ServerOptions
from licensing.bridge.common import check_reference
from licensing.config import Settings
from licensing.errors import InvalidArgument
from licensing.inputs import check_free_text, check_order_ref, looks_like_card_number
from licensing.keyring import Keyring
from licensing.storage.models import License, Order, Profile

PER_SHAPE = 1000


def test_every_order_reference_shape_is_accepted_by_the_checks() -> None:
    refused: dict[str, list[str]] = {}
    for shape, references in corpus(PER_SHAPE).items():
        assert len(set(references)) > PER_SHAPE // 2, shape
        for reference in references:
            try:
                assert check_order_ref(reference) == reference
                check_reference(reference, "order_id")
            except Exception:  # noqa: BLE001 - collected and reported below
                refused.setdefault(shape, []).append(reference)
    assert refused == {}


@pytest.mark.parametrize(
    "bad", ["", "x" * 65, "line\nbreak", "tab\there", "nul\x00", "zero\u200bwidth", "\u2028"]
)
def test_what_an_order_reference_cannot_be(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        check_order_ref(bad)


@pytest.fixture(scope="module")
def roomy_server(backend: Settings, keyring: Keyring) -> Iterator[Harness]:
    """A server whose look-up limit this module's hundreds of calls do not reach."""
    options = ServerOptions(
        address="127.0.0.1:0", health_interval=0.2, lookups_per_minute=1e6, lookup_burst=10**6
    )
    with running_server(backend, keyring, options) as harness:
        yield harness


def test_a_real_server_issues_for_every_shape(roomy_server: Harness) -> None:
    """50 references of every shape over gRPC; each is stored exactly as sent."""
    tag = uuid.uuid4().hex[:6]
    sent = 0
    for shape, references in corpus(50, seed=hash(tag) & 0xFFFF).items():
        for index, reference in enumerate(references):
            reference = reference if len(reference) <= 58 else reference[:58]
            reference = f"{reference}~{tag}"[:64] if index % 2 else reference + tag
            response = roomy_server.issue(f"buyer{index}.{shape}@example.com", reference)
            assert response.license.license_key, shape
            assert Order.get(Order.order_ref == reference).order_ref == reference
            sent += 1
    assert sent == 50 * len(corpus(1))


def _revoke(server: Harness, order_id: str, note: str) -> issuance_pb2.RevokeLicenseResponse:
    request = issuance_pb2.RevokeLicenseRequest(
        order_id=order_id, reason=license_pb2.REVOCATION_REASON_REFUND, note=note
    )
    response: issuance_pb2.RevokeLicenseResponse = server.issuance.RevokeLicense(
        request, metadata=server.auth("issuer"), timeout=30
    )
    return response


def test_card_numbers_in_free_text_are_refused_and_change_nothing(roomy_server: Harness) -> None:
    rng = random.Random(7)
    email, order = f"cards-{uuid.uuid4().hex[:8]}@example.com", f"CARDS-{uuid.uuid4().hex[:8]}"
    roomy_server.issue(email, order)
    support = support_pb2_grpc.SupportServiceStub(roomy_server.channel)
    texts = card_numbers(rng)
    for text in texts:
        note = text[:200]
        with pytest.raises(grpc.RpcError) as caught:
            _revoke(roomy_server, order, note)
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        info = error_info(caught.value)
        assert info is not None and info.reason == "CARD_NUMBER_REFUSED"
        assert text not in (caught.value.details() or "")
        source = text[:64]
        if looks_like_card_number(source):
            with pytest.raises(grpc.RpcError) as caught:
                support.SetNewsletterConsent(
                    support_pb2.SetNewsletterConsentRequest(email=email, subscribed=True, source=source),
                    metadata=roomy_server.auth("support"),
                )
            assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    profile = Profile.get(Profile.id == Order.get(Order.order_ref == order).profile_id)
    assert profile.newsletter_source is None and not profile.newsletter_subscribed
    assert (
        License.get(License.order == Order.get(Order.order_ref == order)).revoke_time is None
    )  # nothing changed
    revoked = _revoke(roomy_server, order, "refund 2026-11-30 14:05, ticket #4411").licenses[0]
    assert revoked.revocation_reason == license_pb2.REVOCATION_REASON_REFUND


def test_honest_notes_pass_the_card_screen() -> None:
    """What staff write is accepted; the figure of honest notes refused is kept in docs."""
    notes = honest_notes(20_000, random.Random(11))
    refused = [note for note in notes if looks_like_card_number(note)]
    assert len(refused) / len(notes) < 0.002, refused[:10]
    for note in notes[:500]:
        if note not in refused:
            check_free_text(note, "note", 200)


def test_card_numbers_with_every_separator_are_caught() -> None:
    texts = card_numbers(random.Random(3))
    missed = [text for text in texts if not looks_like_card_number(text)]
    assert missed == []
    assert len(texts) >= 500
