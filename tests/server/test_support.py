"""Support look-ups, export, erasure and consent over a real channel, on SQLite and PostgreSQL;
and the privacy promises checked where a breach would show: the raw database files and dumps."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path

import grpc
import pytest
from harness import Harness, error_info, unique_email
from licensing_client import PublicKeyring, validate

from licensing._proto.licensing.v1 import (
    issuance_pb2,
    license_pb2,
    support_pb2,
    support_pb2_grpc,
    validation_pb2,
)
from licensing.privacy import DataKeyUnavailable, EmailVault
from licensing.storage.models import AuditEvent, DataKey, Profile

NOW = dt.datetime.now(dt.UTC)


def support(server: Harness) -> support_pb2_grpc.SupportServiceStub:
    return server.support


def order_ref() -> str:
    return f"S-{uuid.uuid4().hex[:12]}"


def find(server: Harness, **query: str) -> support_pb2.FindLicensesResponse:
    request = support_pb2.FindLicensesRequest(**query)
    response: support_pb2.FindLicensesResponse = support(server).FindLicenses(
        request, metadata=server.auth("support")
    )
    return response


def test_find_by_email_order_or_pasted_key_gives_the_same_profile(server: Harness) -> None:
    email = unique_email("finder")
    first, second = order_ref(), order_ref()
    key = server.issue(email, first).license.license_key
    server.issue(email, second, product="video-max")
    server.issue(unique_email("stranger"), order_ref())  # someone else, never in the answers

    by_email = find(server, email=email.upper())
    by_order = find(server, order_id=second)
    by_key = find(server, license_key=key.lower().replace("-", " ").replace("0", "o"))
    assert by_email == by_order == by_key
    [record] = by_email.profiles
    assert record.profile.email == email
    assert {o.order_id for o in record.orders} == {first, second}
    assert sorted(lic.product for o in record.orders for lic in o.licenses) == ["photo-pro", "video-max"]
    assert all(lic.status == license_pb2.LICENSE_STATUS_VALID for o in record.orders for lic in o.licenses)


def test_find_nothing_and_bad_queries(server: Harness) -> None:
    assert not find(server, email=unique_email("nobody")).profiles
    assert not find(server, order_id=order_ref()).profiles
    with pytest.raises(grpc.RpcError) as malformed:
        find(server, license_key="ABCD-EFGH")
    assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    info = error_info(malformed.value)
    assert info is not None and info.metadata["field"] == "license_key"
    with pytest.raises(grpc.RpcError) as empty:
        find(server)
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_export_holds_every_order_of_the_purchaser_and_nothing_of_others(server: Harness) -> None:
    email, other = unique_email("exporter"), unique_email("other")
    mine = {order_ref() for _ in range(3)}
    for ref in mine:
        server.issue(email, ref)
    theirs = order_ref()
    server.issue(other, theirs)
    exported = support(server).ExportProfile(
        support_pb2.ExportProfileRequest(email=email), metadata=server.auth("support")
    )
    assert exported.content_type == "application/json"
    document = json.loads(exported.document)
    assert document["profile"]["email"] == email
    assert {o["order_id"] for o in document["orders"]} == mine
    assert all(len(o["licenses"]) == 1 for o in document["orders"])
    assert other not in exported.document and theirs not in exported.document
    with pytest.raises(grpc.RpcError) as unknown:
        support(server).ExportProfile(
            support_pb2.ExportProfileRequest(email=unique_email("ghost")), metadata=server.auth("support")
        )
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_newsletter_consent_is_kept_with_time_and_source(server: Harness) -> None:
    email = unique_email("news")
    server.issue(email, order_ref(), newsletter_consent=True)
    assert find(server, email=email).profiles[0].profile.newsletter.source == "checkout"
    changed = support(server).SetNewsletterConsent(
        support_pb2.SetNewsletterConsentRequest(email=email, subscribed=False, source="support-call"),
        metadata=server.auth("support"),
    )
    assert not changed.profile.newsletter.subscribed
    assert changed.profile.newsletter.source == "support-call"
    assert changed.profile.newsletter.HasField("change_time")


def test_erasure_shreds_the_email_but_keys_keep_working_and_orders_can_be_revoked(server: Harness) -> None:
    email = unique_email("forget-me")
    ref = order_ref()
    issued = server.issue(email, ref)
    profile = Profile.get(Profile.public_id == find(server, email=email).profiles[0].profile.profile_id)
    assert profile.email_ciphertext is not None
    ciphertext = bytes(profile.email_ciphertext)

    erased = support(server).EraseProfile(
        support_pb2.EraseProfileRequest(email=email), metadata=server.auth("support")
    )
    assert erased.erased and erased.licenses_kept == 1
    again = support(server).EraseProfile(
        support_pb2.EraseProfileRequest(email=email), metadata=server.auth("support")
    )
    assert not again.erased  # erasing twice is harmless

    assert not find(server, email=email).profiles
    [record] = find(server, order_id=ref).profiles
    assert record.profile.email == "" and record.profile.HasField("erase_time")
    assert DataKey.get_or_none(DataKey.profile_public_id == profile.public_id) is None
    reloaded = Profile.get_by_id(profile.id)
    assert reloaded.email_index is None and reloaded.email_ciphertext is None
    vault = EmailVault(server.service.keyring.master_key, server.service.keyring.blind_index_key)
    with pytest.raises(DataKeyUnavailable):  # even the old ciphertext has nothing left to open it
        vault.decrypt_email(b"\0" * 32, profile.public_id, ciphertext)

    keyring = PublicKeyring.from_json(
        server.validation.ListSigningKeys(
            validation_pb2.ListSigningKeysRequest(), metadata=server.auth()
        ).keyring_document
    )
    assert validate(issued.license.license_key, email, 1, keyring, NOW).serial == issued.license.serial
    revoked = server.issuance.RevokeLicense(
        issuance_pb2.RevokeLicenseRequest(order_id=ref, reason=license_pb2.REVOCATION_REASON_CHARGEBACK),
        metadata=server.auth(),
    )
    assert revoked.licenses[0].status == license_pb2.LICENSE_STATUS_REVOKED
    # The same email may buy again later: a new profile, unconnected to the erased one.
    server.issue(email, order_ref())
    assert find(server, email=email).profiles[0].profile.profile_id != profile.public_id


def test_every_support_action_is_audited_without_the_email(server: Harness) -> None:
    email = unique_email("audited")
    ref = order_ref()
    server.issue(email, ref)
    stub, md = support(server), server.auth("support")
    stub.FindLicenses(support_pb2.FindLicensesRequest(email=email), metadata=md)
    stub.ExportProfile(support_pb2.ExportProfileRequest(email=email), metadata=md)
    stub.SetNewsletterConsent(
        support_pb2.SetNewsletterConsentRequest(email=email, subscribed=True, source="phone"), metadata=md
    )
    public_id = find(server, order_id=ref).profiles[0].profile.profile_id
    stub.EraseProfile(support_pb2.EraseProfileRequest(email=email), metadata=md)
    events = list(
        AuditEvent.select()
        .where(AuditEvent.target.in_([f"profile:{public_id}", f"order:{ref}"]))
        .order_by(AuditEvent.id)
    )
    actions = [e.action for e in events]
    assert actions[0] == "issue"
    assert {"find", "export", "consent", "erase"} <= set(actions)
    support_token_name = next(e.actor for e in events if e.action == "erase")
    assert support_token_name.startswith("test-support")
    assert all(email not in f"{e.target} {e.detail} {e.actor}" for e in AuditEvent.select())


def _database_bytes(server: Harness, tmp_path: Path) -> bytes:
    """Everything the main database and key store hold, as a backup or dump would see it."""
    settings = server.service.settings
    if settings.database_url.startswith("sqlite"):
        out = b""
        for url in (settings.database_url, settings.keystore_url):
            path = Path(url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal"):
                if Path(f"{path}{suffix}").exists():
                    out += Path(f"{path}{suffix}").read_bytes()
        return out
    dumps = b""
    for url in (settings.database_url, settings.keystore_url):
        dumps += subprocess.run(["pg_dump", url], check=True, capture_output=True).stdout
    return dumps


def test_no_plaintext_email_in_the_database_files_or_dumps(server: Harness, tmp_path: Path) -> None:
    emails = [unique_email(f"secret{i}") for i in range(5)]
    for email in emails:
        server.issue(email, order_ref())
    raw = _database_bytes(server, tmp_path)
    for email in emails:
        assert email.encode() not in raw
        assert email.split("@")[0].encode() not in raw


def test_a_backup_taken_before_erasure_cannot_reveal_the_email(server: Harness, tmp_path: Path) -> None:
    settings = server.service.settings
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the SQLite backup file is this test's subject; the PostgreSQL dump is checked above")
    email = unique_email("backed-up")
    server.issue(email, order_ref())
    main_path = Path(settings.database_url.removeprefix("sqlite:///"))
    backup = tmp_path / "backup.sqlite3"
    with sqlite3.connect(main_path) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)
    support(server).EraseProfile(
        support_pb2.EraseProfileRequest(email=email), metadata=server.auth("support")
    )

    assert email.encode() not in backup.read_bytes()
    vault = EmailVault(server.service.keyring.master_key, server.service.keyring.blind_index_key)
    index = vault.blind_index(email)
    with sqlite3.connect(backup) as copy:
        public_id, ciphertext = copy.execute(
            "SELECT public_id, email_ciphertext FROM profile WHERE email_index = ?", (index,)
        ).fetchone()
    assert ciphertext  # the backup still holds the ciphertext …
    assert DataKey.get_or_none(DataKey.profile_public_id == public_id) is None  # … but its key is gone
    keystore_path = Path(settings.keystore_url.removeprefix("sqlite:///"))
    keystore_copy = tmp_path / "keystore-after.sqlite3"
    shutil.copy(keystore_path, keystore_copy)
    with sqlite3.connect(keystore_copy) as copy:
        assert copy.execute(
            "SELECT count(*) FROM data_key WHERE profile_public_id = ?", (public_id,)
        ).fetchone() == (0,)
    assert public_id.encode() not in keystore_path.read_bytes()  # secure_delete left no trace in the file
