"""The committed conformance vectors (tests/vectors/) hold for the reference validator, and are
exactly what tests/vectors/generate.py makes today (the drift test)."""

from __future__ import annotations

import datetime as dt
import json
import re
from types import ModuleType
from typing import Any

import pytest
from licensing_client import LicenseError, PublicKeyring, Reason, RevocationList, validate
from licensing_client.email import InvalidEmail, email_digest, normalize_email
from licensing_client.keyformat import crc16, format_key, read_key_bytes

from .conftest import VECTORS

_DOCUMENT = json.loads((VECTORS / "keys.json").read_text(encoding="utf-8"))
KEY_CASES = _DOCUMENT["keys"]
EMAIL_CASES = _DOCUMENT["emails"]


def test_committed_files_equal_what_the_generator_makes(generator: ModuleType) -> None:
    made = generator.build()
    assert sorted(made) == ["ed25519-verdicts.json", "keyring.json", "keys.json", "revocations.json"]
    for name, text in made.items():
        committed = (VECTORS / name).read_text(encoding="utf-8")
        assert committed == text, f"tests/vectors/{name} is stale: run tests/vectors/generate.py"


@pytest.mark.parametrize("case", KEY_CASES, ids=[case["name"] for case in KEY_CASES])
def test_key_vector(case: dict[str, Any], keyring: PublicKeyring, revocations: RevocationList) -> None:
    now = dt.datetime.fromisoformat(case["now"])
    build_date = None if case["build_date"] is None else dt.date.fromisoformat(case["build_date"])
    expected = case["expected"]
    if expected["valid"]:
        license = validate(
            case["key"],
            case["email"],
            case["product"],
            keyring,
            now,
            build_date=build_date,
            revocations=revocations,
        )
        assert license.to_json() == expected["license"]
    else:
        with pytest.raises(LicenseError) as caught:
            validate(
                case["key"],
                case["email"],
                case["product"],
                keyring,
                now,
                build_date=build_date,
                revocations=revocations,
            )
        assert caught.value.reason is Reason(expected["reason"])
        terms = caught.value.license
        assert "license" not in expected  # the result document of a failure carries no terms
        assert (None if terms is None else terms.to_json()) == case.get("failed_license")


_CANONICAL = re.compile(r"[0-9A-HJKMNP-TV-Z]{1,8}(-[0-9A-HJKMNP-TV-Z]{1,8})*")


@pytest.mark.parametrize(
    "case", [c for c in KEY_CASES if c["bytes"] is not None], ids=lambda case: case["name"]
)
def test_key_bytes_are_pinned(case: dict[str, Any]) -> None:
    """The text encodes exactly the recorded bytes, read independently and by the reference."""
    raw = bytes.fromhex(case["bytes"])
    if _CANONICAL.fullmatch(case["key"]):
        assert _decode_canonical(case["key"]) == raw
    try:
        assert read_key_bytes(case["key"]) == raw
    except LicenseError as error:  # a well-formed text of bytes that are not a v1 key
        assert error.reason.value == case["expected"]["reason"]
        assert error.reason in (Reason.MALFORMED, Reason.UNSUPPORTED_VERSION)


def test_every_reason_has_a_vector() -> None:
    reasons = {case["expected"]["reason"] for case in KEY_CASES if not case["expected"]["valid"]}
    assert reasons == {reason.value for reason in Reason}


def test_issued_keys_are_what_format_key_writes() -> None:
    issued = [case for case in KEY_CASES if case["name"].startswith("valid/")]
    assert len(issued) >= 5
    for case in issued:
        raw = bytes.fromhex(case["bytes"])
        assert format_key(raw[:23], raw[23:87]) == case["key"]


@pytest.mark.parametrize("case", EMAIL_CASES, ids=[repr(case["input"])[:40] for case in EMAIL_CASES])
def test_email_vector(case: dict[str, Any]) -> None:
    if case["normalized"] is None:
        with pytest.raises(InvalidEmail):
            normalize_email(case["input"])
    else:
        assert normalize_email(case["input"]) == case["normalized"]
        assert email_digest(case["normalized"]).hex() == case["digest"]


def test_signed_messages_and_crc_vectors(vectors: dict[str, Any], keyring: PublicKeyring) -> None:
    import nacl.bindings

    for entry in vectors["signed_messages"]:
        raw = read_key_bytes(entry["key"])
        message = bytes.fromhex(entry["signed_message"])
        assert message == b"licensing.v1/key\x00" + raw[:23] + bytes.fromhex(entry["email_digest"])
        assert bytes.fromhex(entry["signature"]) == raw[23:87]
        nacl.bindings.crypto_sign_open(raw[23:87] + message, keyring.keys[raw[1]].public_key)
    for entry in vectors["crc16"]:
        assert f"{crc16(bytes.fromhex(entry['input_hex'])):04x}" == entry["crc"]
    assert {"input_hex": b"123456789".hex(), "crc": "29b1"} in vectors["crc16"]


def test_signing_keys_come_from_their_seeds(vectors: dict[str, Any], keyring: PublicKeyring) -> None:
    import hashlib

    import nacl.signing

    for entry in vectors["signing_keys"]:
        seed = hashlib.sha256(entry["seed_text"].encode("ascii")).digest()
        assert seed.hex() == entry["seed"]
        public = bytes(nacl.signing.SigningKey(seed).verify_key)
        assert public.hex() == entry["public_key"]
        if entry["key_id"] in keyring.keys:
            assert keyring.keys[entry["key_id"]].public_key == public
            assert keyring.keys[entry["key_id"]].status == entry["status"]


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _decode_canonical(text: str) -> bytes:
    """An independent reading of canonical key text (the spec's arithmetic, nothing shared)."""
    digits = text.replace("-", "")
    number = 0
    for char in digits:
        number = number * 32 + _CROCKFORD.index(char)
    byte_count = len(digits) * 5 // 8
    return (number >> (len(digits) * 5 - byte_count * 8)).to_bytes(byte_count, "big")


def test_the_specification_matches_the_reference() -> None:
    """docs/key-format.md shows a real vector key, every reason code and every separator."""
    from licensing_client.keyformat import _SEPARATORS

    spec = (VECTORS.parents[1] / "docs" / "key-format.md").read_text(encoding="utf-8")
    example = spec.split("```text\n", 1)[1].split("```", 1)[0].replace("\n", "")  # the first block
    assert example == next(c["key"] for c in KEY_CASES if c["name"] == "valid/perpetual")
    for reason in Reason:
        assert f"`{reason.value}`" in spec
    for separator in _SEPARATORS:
        assert f"U+{ord(separator):04X}" in spec, f"separator U+{ord(separator):04X} is not in the spec"
