"""Issuing, re-issuing, revoking and validating over a real channel, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid

import grpc
import pytest
from google.protobuf import timestamp_pb2
from harness import Harness, reason_of
from licensing_client import LicenseError, PublicKeyring, Reason, RevocationList, validate

from licensing._proto.licensing.v1 import issuance_pb2, license_pb2, validation_pb2
from licensing.storage.models import License, Order, Profile

NOW = dt.datetime.now(dt.UTC)


def order_id() -> str:
    return f"T-{uuid.uuid4().hex[:12]}"


def ts(day: dt.date) -> timestamp_pb2.Timestamp:
    message = timestamp_pb2.Timestamp()
    message.FromDatetime(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC))
    return message


def public_keyring(server: Harness) -> PublicKeyring:
    response = server.validation.ListSigningKeys(
        validation_pb2.ListSigningKeysRequest(), metadata=server.auth()
    )
    return PublicKeyring.from_json(response.keyring_document)


def test_issued_key_validates_offline_with_the_exported_keyring(server: Harness) -> None:
    response = server.issue("Buyer.One@Example.COM", order_id())
    assert response.created
    key = response.license.license_key
    assert len(key) <= 160
    keyring = public_keyring(server)
    license = validate(key, "buyer.one@example.com", keyring.product_number("photo-pro"), keyring, NOW)
    assert license.serial == response.license.serial
    assert license.key_id == response.license.key_id
    with pytest.raises(LicenseError) as refused:
        validate(key, "someone.else@example.com", 1, keyring, NOW)
    assert refused.value.reason is Reason.EMAIL_MISMATCH


def test_terms_reach_the_key(server: Harness) -> None:
    expires, updates = dt.date.today() + dt.timedelta(days=365), dt.date.today() + dt.timedelta(days=180)
    terms = license_pb2.LicenseTerms(
        expire_time=ts(expires), updates_until_time=ts(updates), seats=5, edition=3, feature_flags=0b1010
    )
    response = server.issue("terms@example.com", order_id(), product="video-max", terms=terms)
    keyring = public_keyring(server)
    license = validate(response.license.license_key, "terms@example.com", 2, keyring, NOW)
    assert (license.expires, license.updates_until, license.seats, license.edition, license.flags) == (
        expires,
        updates,
        5,
        3,
        0b1010,
    )
    assert response.license.terms.seats == 5


def test_reissue_returns_the_same_license_and_changes_nothing(server: Harness) -> None:
    ref = order_id()
    first = server.issue("repeat@example.com", ref)
    rows_before = License.select().count()
    again = server.issue("  REPEAT@example.com ", ref)
    assert not again.created
    assert again.license == first.license
    assert License.select().count() == rows_before


def test_same_order_with_other_email_or_terms_is_refused_and_changes_nothing(server: Harness) -> None:
    ref = order_id()
    server.issue("owner@example.com", ref)
    counts = (Profile.select().count(), Order.select().count(), License.select().count())
    with pytest.raises(grpc.RpcError) as other_email:
        server.issue("intruder@example.com", ref)
    assert other_email.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(other_email.value) == "ORDER_EMAIL_MISMATCH"
    with pytest.raises(grpc.RpcError) as other_terms:
        server.issue("owner@example.com", ref, terms=license_pb2.LicenseTerms(seats=3))
    assert other_terms.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(other_terms.value) == "ORDER_TERMS_MISMATCH"
    assert (Profile.select().count(), Order.select().count(), License.select().count()) == counts


def test_one_order_can_hold_licenses_for_several_products(server: Harness) -> None:
    ref = order_id()
    a = server.issue("bundle@example.com", ref, product="photo-pro")
    b = server.issue("bundle@example.com", ref, product="video-max")
    assert a.license.serial != b.license.serial
    assert a.license.license_key != b.license.license_key


def test_get_license(server: Harness) -> None:
    ref = order_id()
    issued = server.issue("get@example.com", ref)
    got = server.issuance.GetLicense(
        issuance_pb2.GetLicenseRequest(order_id=ref, product="photo-pro"), metadata=server.auth()
    )
    assert got.license == issued.license
    with pytest.raises(grpc.RpcError) as missing:
        server.issuance.GetLicense(
            issuance_pb2.GetLicenseRequest(order_id=order_id(), product="photo-pro"), metadata=server.auth()
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def test_revoke_then_online_and_offline_checks_say_revoked(server: Harness) -> None:
    ref = order_id()
    issued = server.issue("refund@example.com", ref)
    revoke = issuance_pb2.RevokeLicenseRequest(
        order_id=ref, reason=license_pb2.REVOCATION_REASON_REFUND, note="ticket 42"
    )
    revoked = server.issuance.RevokeLicense(revoke, metadata=server.auth())
    assert [lic.status for lic in revoked.licenses] == [license_pb2.LICENSE_STATUS_REVOKED]
    assert revoked.licenses[0].revocation_reason == license_pb2.REVOCATION_REASON_REFUND
    again = server.issuance.RevokeLicense(revoke, metadata=server.auth())
    assert again.licenses[0].revoke_time == revoked.licenses[0].revoke_time  # revoking twice changes nothing

    online = server.validation.ValidateKey(
        validation_pb2.ValidateKeyRequest(
            license_key=issued.license.license_key, email="refund@example.com", product="photo-pro"
        ),
        metadata=server.auth(),
    )
    assert not online.valid and online.reason == license_pb2.REASON_REVOKED
    assert online.info.serial == issued.license.serial

    listing = server.validation.GetRevocationList(
        validation_pb2.GetRevocationListRequest(), metadata=server.auth()
    )
    keyring = public_keyring(server)
    shipped = RevocationList.from_json(listing.revocation_list, keyring)
    assert issued.license.serial in shipped
    assert shipped.sequence == listing.sequence == len(listing.serials)
    with pytest.raises(LicenseError) as offline:
        validate(issued.license.license_key, "refund@example.com", 1, keyring, NOW, revocations=shipped)
    assert offline.value.reason is Reason.REVOKED


def test_revocation_needs_a_reason(server: Harness) -> None:
    ref = order_id()
    server.issue("noreason@example.com", ref)
    with pytest.raises(grpc.RpcError) as refused:
        server.issuance.RevokeLicense(issuance_pb2.RevokeLicenseRequest(order_id=ref), metadata=server.auth())
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (
        License.select()
        .join(Order)
        .where((Order.order_ref == ref) & License.revoke_time.is_null(False))
        .count()
        == 0
    )


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda key, email: (key, "other@example.com"), license_pb2.REASON_EMAIL_MISMATCH),
        (lambda key, email: (key[:-3] + "000", email), license_pb2.REASON_MALFORMED),
        (lambda key, email: (key, "not-an-email"), license_pb2.REASON_INVALID_EMAIL),
        (lambda key, email: (key.lower().replace("-", " "), email), license_pb2.REASON_UNSPECIFIED),
    ],
)
def test_online_validation_agrees_with_the_offline_validator(server: Harness, mutate, reason) -> None:  # type: ignore[no-untyped-def]
    email = "online@example.com"
    issued = server.issue(email, order_id())
    key, typed_email = mutate(issued.license.license_key, email)
    online = server.validation.ValidateKey(
        validation_pb2.ValidateKeyRequest(license_key=key, email=typed_email, product="photo-pro"),
        metadata=server.auth("support"),
    )
    assert online.reason == reason
    assert online.valid == (reason == license_pb2.REASON_UNSPECIFIED)
    try:
        validate(key, typed_email, 1, public_keyring(server), NOW)
        offline: int = license_pb2.REASON_UNSPECIFIED
    except LicenseError as exc:
        offline = license_pb2.Reason.Value(f"REASON_{exc.reason.value}")
    assert offline == online.reason


def test_key_for_another_product_is_wrong_product_online(server: Harness) -> None:
    issued = server.issue("product@example.com", order_id(), product="video-max")
    online = server.validation.ValidateKey(
        validation_pb2.ValidateKeyRequest(
            license_key=issued.license.license_key, email="product@example.com", product="photo-pro"
        ),
        metadata=server.auth(),
    )
    assert online.reason == license_pb2.REASON_WRONG_PRODUCT
    assert online.info.product == "video-max"
