"""Revocation lists built by the server are the ones the offline client accepts, and only those."""

from __future__ import annotations

import datetime as dt
import json

import nacl.signing
import pytest
from licensing_client import PublicKey, PublicKeyring, RevocationList, RevocationListError

from licensing.keyring import Keyring
from licensing.revocations import build_revocation_list

ISSUED = dt.datetime(2025, 11, 20, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    return Keyring.create(tmp_path_factory.mktemp("home") / "keyring.bin", b"revocations test")


def test_list_is_accepted_by_the_client(signer: Keyring) -> None:
    document = build_revocation_list(signer, [456, 123, 456, 2**48 - 1], sequence=7, issue_time=ISSUED)
    accepted = RevocationList.from_json(document, signer.public_keyring())
    assert accepted.key_id == signer.active_key_id
    assert accepted.sequence == 7
    assert accepted.issue_time == ISSUED
    assert accepted.serials == {123, 456, 2**48 - 1}
    assert json.loads(document)["serials"] == [123, 456, 2**48 - 1]  # sorted, unique


def test_empty_list_is_valid(signer: Keyring) -> None:
    accepted = RevocationList.from_json(build_revocation_list(signer, [], 1, ISSUED), signer.public_keyring())
    assert accepted.serials == frozenset()


@pytest.mark.parametrize(
    ("field", "value"),
    [("serials", [123]), ("serials", [123, 456, 789]), ("sequence", 8), ("issue_time", 0), ("key_id", 2)],
)
def test_changed_field_is_refused(signer: Keyring, field: str, value: object) -> None:
    data = json.loads(build_revocation_list(signer, [123, 456], sequence=7, issue_time=ISSUED))
    data[field] = value
    with pytest.raises(RevocationListError):
        RevocationList.from_json(json.dumps(data), signer.public_keyring())


def test_list_signed_by_a_key_the_client_does_not_trust_is_refused(signer: Keyring) -> None:
    document = build_revocation_list(signer, [123], sequence=7, issue_time=ISSUED)
    stranger = nacl.signing.SigningKey.generate().verify_key.encode()
    with pytest.raises(RevocationListError, match="does not check out"):
        RevocationList.from_json(document, PublicKeyring.of([PublicKey(1, stranger)]))
    with pytest.raises(RevocationListError, match="key 1"):
        RevocationList.from_json(document, PublicKeyring.of([PublicKey(2, stranger)]))


def test_list_signed_by_a_key_the_client_has_as_retired_is_refused(signer: Keyring) -> None:
    document = build_revocation_list(signer, [123], sequence=7, issue_time=ISSUED)
    public_key = signer.keys[0].public_key
    with pytest.raises(RevocationListError, match="key 1"):
        RevocationList.from_json(document, PublicKeyring.of([PublicKey(1, public_key, "retired")]))


def test_bad_arguments_are_refused(signer: Keyring) -> None:
    with pytest.raises(ValueError, match="time zone"):
        build_revocation_list(signer, [1], 1, dt.datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="48 bits"):
        build_revocation_list(signer, [2**48], 1, ISSUED)
    with pytest.raises(ValueError, match="sequence"):
        build_revocation_list(signer, [1], -1, ISSUED)
