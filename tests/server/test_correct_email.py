"""Correcting a purchaser's email, end to end over a real channel, on SQLite and PostgreSQL:
the new keys validate with the new address, the old serials are in the next signed revocation
list, the order system's retries with the old and the new address get defined answers, and the
action is audited without an address."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import grpc
import pytest
from harness import Harness, reason_of, unique_email
from licensing_client import LicenseError, PublicKeyring, Reason, validate
from licensing_client.revocation import RevocationList

from licensing._proto.licensing.v1 import (
    issuance_pb2,
    license_pb2,
    support_pb2,
    support_pb2_grpc,
    validation_pb2,
)
from licensing.storage.models import AuditEvent

NOW = dt.datetime.now(dt.UTC)


def support(server: Harness) -> support_pb2_grpc.SupportServiceStub:
    return server.support


def order_ref() -> str:
    return f"C-{uuid.uuid4().hex[:12]}"


def correct(server: Harness, new_email: str, **who: str) -> support_pb2.CorrectEmailResponse:
    request = support_pb2.CorrectEmailRequest(new_email=new_email, **who)
    response: support_pb2.CorrectEmailResponse = support(server).CorrectEmail(
        request, metadata=server.auth("support")
    )
    return response


def keyring_of(server: Harness) -> PublicKeyring:
    document = server.validation.ListSigningKeys(
        validation_pb2.ListSigningKeysRequest(), metadata=server.auth()
    )
    return PublicKeyring.from_json(document.keyring_document)


def revocation_list(server: Harness) -> RevocationList:
    response = server.validation.GetRevocationList(
        validation_pb2.GetRevocationListRequest(), metadata=server.auth()
    )
    return RevocationList.from_json(response.revocation_list, keyring_of(server))


def test_a_corrected_email_gets_new_keys_and_the_old_ones_are_revoked(server: Harness) -> None:
    typo, right = unique_email("jonh"), unique_email("john")
    first, second = order_ref(), order_ref()
    old_a = server.issue(typo, first).license
    old_b = server.issue(typo, second, product="video-max").license
    before = revocation_list(server)

    corrected = correct(server, right, email=typo.upper())
    record = corrected.profile
    assert record.profile.email == right
    assert {r.former_serial for r in corrected.replaced} == {old_a.serial, old_b.serial}
    new = {lic.order_id: lic for order in record.orders for lic in order.licenses}
    assert set(new) == {first, second}
    keyring = keyring_of(server)
    for old in (old_a, old_b):
        fresh = new[old.order_id]
        assert fresh.serial != old.serial and fresh.terms == old.terms and fresh.product == old.product
        assert (
            validate(fresh.license_key, right, 1 if fresh.product == "photo-pro" else 2, keyring, NOW).serial
            == fresh.serial
        )
        with pytest.raises(LicenseError):  # the new key is bound to the new address only
            validate(fresh.license_key, typo, 1 if fresh.product == "photo-pro" else 2, keyring, NOW)

    after = revocation_list(server)
    assert after.sequence > before.sequence
    assert {old_a.serial, old_b.serial} <= set(after.serials)
    assert not {lic.serial for lic in new.values()} & set(after.serials)
    with pytest.raises(LicenseError) as revoked:  # the old key, checked offline against the new list
        validate(old_a.license_key, typo, 1, keyring, NOW, revocations=after)
    assert revoked.value.reason is Reason.REVOKED
    online = server.validation.ValidateKey(
        validation_pb2.ValidateKeyRequest(license_key=old_a.license_key, email=typo, product="photo-pro"),
        metadata=server.auth(),
    )
    assert not online.valid

    # The order system's retries: the new address gets the new key; the old one is told why not.
    again = server.issue(right, first)
    assert not again.created and again.license.license_key == new[first].license_key
    with pytest.raises(grpc.RpcError) as stale:
        server.issue(typo, first)
    assert stale.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(stale.value) == "EMAIL_CORRECTED"
    bulk = server.issuance.IssueLicenses(
        iter(
            [
                issuance_pb2.IssueLicensesRequest(
                    request=issuance_pb2.IssueLicenseRequest(email=typo, order_id=second, product="video-max")
                )
            ]
        ),
        metadata=server.auth(),
    )
    assert [f.reason for f in bulk.failures] == ["EMAIL_CORRECTED"]
    got = server.issuance.GetLicense(
        issuance_pb2.GetLicenseRequest(order_id=first, product="photo-pro"), metadata=server.auth()
    )
    assert got.license.license_key == new[first].license_key

    # Support finds the purchaser by the new address, by the new key, and by the old key.
    stub, md = support(server), server.auth("support")
    assert not stub.FindLicenses(support_pb2.FindLicensesRequest(email=typo), metadata=md).profiles
    for query in (
        {"email": right},
        {"license_key": new[first].license_key},
        {"license_key": old_a.license_key},
    ):
        [found] = stub.FindLicenses(support_pb2.FindLicensesRequest(**query), metadata=md).profiles
        assert found.profile.profile_id == record.profile.profile_id
    exported = json.loads(
        stub.ExportProfile(support_pb2.ExportProfileRequest(email=right), metadata=md).document
    )
    assert {r["serial"] for r in exported["replaced_licenses"]} == {
        f"{old_a.serial:012X}",
        f"{old_b.serial:012X}",
    }
    assert len(exported["email_corrections"]) == 1
    assert typo not in json.dumps(exported)

    events = list(AuditEvent.select().where(AuditEvent.target == f"profile:{record.profile.profile_id}"))
    assert "correct-email" in {e.action for e in events}
    assert all(
        typo not in f"{e.target} {e.detail}" and right not in f"{e.target} {e.detail}"
        for e in AuditEvent.select()
    )


def test_correct_by_profile_id_keeps_a_revoked_license_revoked(server: Harness) -> None:
    old_email, new_email = unique_email("old"), unique_email("new")
    ref = order_ref()
    issued = server.issue(old_email, ref).license
    server.issuance.RevokeLicense(
        issuance_pb2.RevokeLicenseRequest(
            order_id=ref, reason=license_pb2.REVOCATION_REASON_REFUND, note="refunded"
        ),
        metadata=server.auth(),
    )
    profile_id = (
        support(server)
        .FindLicenses(support_pb2.FindLicensesRequest(order_id=ref), metadata=server.auth("support"))
        .profiles[0]
        .profile.profile_id
    )
    corrected = correct(server, new_email, profile_id=profile_id)
    [lic] = [lic for order in corrected.profile.orders for lic in order.licenses]
    assert lic.status == license_pb2.LICENSE_STATUS_REVOKED and lic.revocation_note == "refunded"
    assert {issued.serial, lic.serial} <= set(revocation_list(server).serials)


def test_correction_refusals_name_the_problem_and_change_nothing(server: Harness) -> None:
    mine, theirs = unique_email("mine"), unique_email("theirs")
    server.issue(mine, order_ref())
    server.issue(theirs, order_ref())
    cases = [
        ({"email": mine, "new_email": theirs}, grpc.StatusCode.FAILED_PRECONDITION, "EMAIL_IN_USE"),
        ({"email": mine, "new_email": mine.upper()}, grpc.StatusCode.INVALID_ARGUMENT, "EMAIL_UNCHANGED"),
        (
            {"email": unique_email("nobody"), "new_email": unique_email("x")},
            grpc.StatusCode.NOT_FOUND,
            "PROFILE_NOT_FOUND",
        ),
        (
            {"profile_id": "0" * 32, "new_email": unique_email("x")},
            grpc.StatusCode.NOT_FOUND,
            "PROFILE_NOT_FOUND",
        ),
        (
            {"profile_id": "not-an-id", "new_email": unique_email("x")},
            grpc.StatusCode.INVALID_ARGUMENT,
            "PROFILE_ID_INVALID",
        ),
        ({"email": mine, "new_email": "not an address"}, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_EMAIL"),
        ({"new_email": unique_email("x")}, grpc.StatusCode.INVALID_ARGUMENT, "PROFILE_REQUIRED"),
    ]
    for fields, code, reason in cases:
        with pytest.raises(grpc.RpcError) as refused:
            support(server).CorrectEmail(
                support_pb2.CorrectEmailRequest(**fields), metadata=server.auth("support")
            )
        assert (refused.value.code(), reason_of(refused.value)) == (code, reason), fields
        assert not any(value in (refused.value.details() or "") for value in fields.values() if "@" in value)
    [still] = (
        support(server)
        .FindLicenses(support_pb2.FindLicensesRequest(email=mine), metadata=server.auth("support"))
        .profiles
    )
    assert still.profile.email == mine
    with pytest.raises(grpc.RpcError) as denied:  # the issuer role may not correct
        support(server).CorrectEmail(
            support_pb2.CorrectEmailRequest(email=mine, new_email=unique_email("y")),
            metadata=server.auth("issuer"),
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
