"""The JSON rules both documents follow (docs/key-format.md, "JSON documents"), on the reference."""

from __future__ import annotations

import json

import pytest
from licensing_client import KeyringError, PublicKeyring, RevocationList, RevocationListError

from .conftest import VECTORS

KEYRING_TEXT = (VECTORS / "keyring.json").read_text(encoding="utf-8")
REVOCATIONS_TEXT = (VECTORS / "revocations.json").read_text(encoding="utf-8")
KEYRING = PublicKeyring.from_json(KEYRING_TEXT)


def _revocations(**changes: object) -> str:
    document = json.loads(REVOCATIONS_TEXT)
    document.update(changes)
    return json.dumps(document)


def test_a_leading_byte_order_mark_is_skipped() -> None:
    assert PublicKeyring.from_json(b"\xef\xbb\xbf" + KEYRING_TEXT.encode()).keys == KEYRING.keys
    assert PublicKeyring.from_json("\ufeff" + KEYRING_TEXT).keys == KEYRING.keys
    assert RevocationList.from_json(b"\xef\xbb\xbf" + REVOCATIONS_TEXT.encode(), KEYRING).sequence == 7


def test_numbers_are_read_by_value() -> None:
    text = REVOCATIONS_TEXT.replace('"sequence": 7', '"sequence": 7.0')
    assert text != REVOCATIONS_TEXT
    assert RevocationList.from_json(text, KEYRING).sequence == 7
    assert (
        RevocationList.from_json(
            REVOCATIONS_TEXT.replace('"sequence": 7', '"sequence": 7e0'), KEYRING
        ).sequence
        == 7
    )
    with pytest.raises(RevocationListError):
        RevocationList.from_json(REVOCATIONS_TEXT.replace('"sequence": 7', '"sequence": 7.5'), KEYRING)
    with pytest.raises(RevocationListError):
        RevocationList.from_json(REVOCATIONS_TEXT.replace('"sequence": 7', '"sequence": true'), KEYRING)


@pytest.mark.parametrize("sequence", [2**53, 2**53 + 1, 2**64 - 1])
def test_integers_above_2_53_are_refused(sequence: int) -> None:
    with pytest.raises(RevocationListError, match="whole numbers"):
        RevocationList.from_json(_revocations(sequence=sequence), KEYRING)


@pytest.mark.parametrize("bad", [" " + "00" * 31 + "0", "0x" + "00" * 31, "00" * 31 + "0g", "00 " * 21 + "0"])
def test_hex_is_exact(bad: str) -> None:
    document = json.loads(KEYRING_TEXT)
    document["keys"][0]["public_key"] = bad
    with pytest.raises(KeyringError, match="64 hex digits"):
        PublicKeyring.from_json(json.dumps(document))


def test_hex_in_either_case_and_unknown_members_are_accepted() -> None:
    document = json.loads(KEYRING_TEXT)
    document["keys"][0]["public_key"] = document["keys"][0]["public_key"].upper()
    document["keys"][0]["comment"] = {"nested": [1, 2]}
    document["x-vendor"] = True
    assert PublicKeyring.from_json(json.dumps(document)).keys == KEYRING.keys


def test_the_last_of_duplicate_members_counts() -> None:
    text = KEYRING_TEXT.replace('"format"', '"format": "other", "format"', 1)
    assert PublicKeyring.from_json(text).keys == KEYRING.keys


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_refused_even_in_ignored_members(constant: str) -> None:
    with pytest.raises(KeyringError):
        PublicKeyring.from_json(KEYRING_TEXT[:-2] + f', "x-ignored": {constant}}}')
