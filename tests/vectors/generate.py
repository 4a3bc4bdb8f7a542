"""Generate the key-format conformance vectors: keys.json, keyring.json, revocations.json.

    .venv/bin/python tests/vectors/generate.py          # rewrite the files beside this script
    .venv/bin/python tests/vectors/generate.py --check  # exit 1 if they differ from what it makes

Everything comes from fixed seeds (seed = SHA-256 of "licensing test vector key N"), and Ed25519
signatures are deterministic, so the output is the same on every run. tests/client/test_vectors.py
fails when the committed files drift from what this script makes: change the script, run it,
and commit both. The files are the conformance suite for validators in other languages
(docs/key-format.md); a change to an existing vector is a change of the format.

Keys that are not well formed are made from well-formed ones here, with a small independent
encoder (`encode_text`), so that a bug in the reference `format_key` cannot hide in both.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nacl.signing
from licensing_client import License, PublicKey, PublicKeyring, RevocationList
from licensing_client.email import InvalidEmail, email_digest, normalize_email
from licensing_client.keyformat import (
    ALPHABET,
    SIGNED_CONTEXT,
    crc16,
    encode_payload,
    format_key,
    signed_message,
)
from licensing_client.revocation import REVOCATIONS_FORMAT, revocation_message

HERE = Path(__file__).resolve().parent
VECTORS_FORMAT = "licensing-key-vectors/1"

# Key 1 retired, key 2 verify-only, key 3 active; key 4 signs but is absent from the keyring.
KEY_STATUSES = {1: "retired", 2: "verify-only", 3: "active", 4: None}
PRODUCTS = {"photo-pro": 1, "video-max": 2, "audio-lite": 300}
REVOKED_SERIALS = [0x0666, 0x10_0000_0001, 0xFFFF_FFFF_FFFF]
REVOCATIONS_SEQUENCE = 7
REVOCATIONS_ISSUE_TIME = int(dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp())
NOW = "2026-06-15T12:00:00+00:00"


def seed_text(key_id: int) -> bytes:
    return f"licensing test vector key {key_id}".encode("ascii")


def signing_key(key_id: int) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(hashlib.sha256(seed_text(key_id)).digest())


def encode_text(raw: bytes) -> str:
    """Any bytes as key text: big-endian number, zero pad bits, Crockford digits, groups of 8."""
    chars = -(-len(raw) * 8 // 5)
    number = int.from_bytes(raw, "big") << (chars * 5 - len(raw) * 8)
    digits = "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(chars)))
    return "-".join(digits[i : i + 8] for i in range(0, len(digits), 8))


def with_crc(body: bytes) -> bytes:
    return body + crc16(body).to_bytes(2, "big")


class Issued:
    """A key made as the server makes it, with the parts a vector records."""

    def __init__(self, license: License, email: str) -> None:
        self.license = license
        self.email = email
        self.digest = email_digest(normalize_email(email))
        self.payload = encode_payload(license, self.digest)
        self.message = signed_message(self.payload, self.digest)
        self.signature = signing_key(license.key_id).sign(self.message).signature
        self.raw = with_crc(self.payload + self.signature)
        self.text = format_key(self.payload, self.signature)
        if self.text != encode_text(self.raw):
            raise AssertionError("format_key and the independent encoder disagree")


def _license(**fields: Any) -> License:
    base: dict[str, Any] = {
        "key_id": 3,
        "product": 1,
        "serial": 1001,
        "issued": dt.date(2026, 1, 15),
        "expires": None,
        "updates_until": None,
        "seats": 1,
        "edition": 0,
        "flags": 0,
    }
    base.update(fields)
    return License(**base)


ALICE = Issued(_license(), "alice@example.com")
BOB = Issued(
    _license(
        product=2,
        serial=0x1002,
        issued=dt.date(2026, 2, 1),
        expires=dt.date(2026, 12, 31),
        updates_until=dt.date(2026, 12, 31),
        seats=5,
        edition=2,
        flags=0x0005,
    ),
    "  Bob.Smith+Licenses@Example.ORG ",
)
CAROL = Issued(
    _license(product=300, serial=0x0A0B0C0D0E0F, updates_until=dt.date(2026, 9, 30), seats=65535),
    "carol@sub.example.co.uk",
)
JURGEN = Issued(
    _license(serial=(1 << 48) - 2, edition=255, flags=0xFFFF), "J\u00fcrgen.M\u00fcller@B\u00fccher.example"
)
OLD_KEY = Issued(_license(key_id=2, serial=77, issued=dt.date(2025, 6, 1)), "dana@example.com")
RETIRED_KEY = Issued(_license(key_id=1, serial=78, issued=dt.date(2024, 6, 1)), "erin@example.com")
UNKNOWN_KEY = Issued(_license(key_id=4, serial=79), "frank@example.com")
REVOKED = Issued(_license(serial=0x0666), "grace@example.com")


def _reissue(
    issued: Issued, payload: bytes | None = None, signature: bytes | None = None, version: int | None = None
) -> bytes:
    """The key bytes of `issued` with a part replaced; the CRC recomputed so it still checks out."""
    payload = issued.payload if payload is None else payload
    if version is not None:
        payload = bytes([version]) + payload[1:]
    return with_crc(payload + (issued.signature if signature is None else signature))


def _signed_raw(key_id: int, payload: bytes, digest: bytes) -> bytes:
    """A genuinely signed key for a payload encode_payload would refuse to make."""
    signature = signing_key(key_id).sign(SIGNED_CONTEXT + payload + digest).signature
    return with_crc(payload + signature)


def _email_with_same_check(digest: bytes) -> str:
    """The first address of the form mallory<n>@example.com whose digest starts like `digest`."""
    n = 0
    while email_digest(f"mallory{n}@example.com")[:2] != digest[:2]:
        n += 1
    return f"mallory{n}@example.com"


def _replace_char(text: str, index: int, new: Callable[[str], str]) -> str:
    """`text` with its index-th key character (dashes not counted) replaced by new(old)."""
    positions = [i for i, ch in enumerate(text) if ch != "-"]
    at = positions[index]
    return text[:at] + new(text[at]) + text[at + 1 :]


def _digit(text: str, index: int) -> str:
    return text.replace("-", "")[index]


def _swap(text: str, index: int) -> str:
    """`text` with its index-th and next key characters swapped."""
    first, second = _digit(text, index), _digit(text, index + 1)
    return _replace_char(_replace_char(text, index, lambda ch: second), index + 1, lambda ch: first)


def _other_char(ch: str) -> str:
    return ALPHABET[(ALPHABET.index(ch) + 1) % 32]


def key_cases() -> list[dict[str, Any]]:
    """Every key vector: the text, its bytes, the inputs to validate and the expected result."""
    cases: list[dict[str, Any]] = []

    def case(
        name: str,
        note: str,
        key: str,
        raw: bytes | None,
        *,
        email: str,
        expected: str | License,
        product: int = 1,
        now: str = NOW,
        build_date: str | None = None,
        license: License | None = None,
    ) -> None:
        if isinstance(expected, License):
            outcome: dict[str, Any] = {"valid": True, "license": expected.to_json()}
        else:
            outcome = {"valid": False, "reason": expected}  # a failure carries no terms (section 4)
        case = {
            "name": name,
            "note": note,
            "key": key,
            "bytes": None if raw is None else raw.hex(),
            "email": email,
            "product": product,
            "now": now,
            "build_date": build_date,
            "expected": outcome,
        }
        if license is not None:  # for APIs that show which genuine license failed a later check
            case["failed_license"] = license.to_json()
        cases.append(case)

    def valid(name: str, note: str, issued: Issued, **kw: Any) -> None:
        kw.setdefault("email", issued.email)
        kw.setdefault("product", issued.license.product)
        case(name, note, issued.text, issued.raw, expected=issued.license, **kw)

    # -- valid keys, as issued
    valid("valid/perpetual", "product 1, no expiry, no updates limit, key 3 (active)", ALICE)
    valid(
        "valid/expiring",
        "product 2, expires and updates until 2026-12-31, 5 seats, edition 2, flags 0x0005; the email "
        "is given with spaces and capitals (normalised to bob.smith+licenses@example.org)",
        BOB,
    )
    valid(
        "valid/updates-until-last-build-day",
        "product 300 (code audio-lite); a build dated on the updates-until day is covered",
        CAROL,
        build_date="2026-09-30",
    )
    valid("valid/no-build-date", "updates-until is not checked when no build date is given", CAROL)
    valid(
        "valid/unicode-email",
        "non-ASCII local part and an IDN domain (xn--bcher-kva.example); the largest serial but one, "
        "edition 255, every flag",
        JURGEN,
    )
    valid(
        "valid/unicode-email-nfd",
        "the same key, the email typed in decomposed form (NFD) and in capitals",
        JURGEN,
        email=unicodedata.normalize("NFD", JURGEN.email).upper(),
    )
    valid("valid/verify-only-key", "signed by key 2, which is verify-only: still accepted", OLD_KEY)
    valid(
        "valid/first-day",
        "now is the first second of the issue day (UTC)",
        ALICE,
        now="2026-01-15T00:00:00+00:00",
    )
    valid(
        "valid/last-day",
        "now is the last second of the expiry day (UTC): still valid",
        BOB,
        now="2026-12-31T23:59:59+00:00",
    )
    valid(
        "valid/last-day-east",
        "2027-01-01T08:00+09:00 is 2026-12-31T23:00Z, the expiry day in UTC: valid",
        BOB,
        now="2027-01-01T08:00:00+09:00",
    )

    # -- the same key as people type or paste it
    text = ALICE.text
    variants = {
        "lowercase": ("all lower case", text.lower()),
        "no-dashes": ("no separators", text.replace("-", "")),
        "spaces": ("groups separated by spaces, surrounded by spaces", " " + text.replace("-", " ") + " "),
        "lines": ("groups on separate lines, CRLF", text.replace("-", "\r\n")),
        "regrouped": (
            "other group sizes, tabs",
            "\t".join(text.replace("-", "")[i : i + 5] for i in range(0, 143, 5)),
        ),
        "unicode-dashes": (
            "U+2010, U+2013, U+2212 as dashes, U+00A0 and U+3000 as spaces",
            text.replace("-", "\u2010", 5).replace("-", "\u2013", 5).replace("-", "\u2212", 2)
            + "\u00a0\u3000",
        ),
        "look-alikes": (
            "O for 0, I and L for 1 (and lower case o, i, l)",
            text.replace("0", "O", 3).replace("0", "o", 2).replace("1", "I", 2).replace("1", "l", 2),
        ),
    }
    for label, (note, variant) in variants.items():
        case(f"text/{label}", note, variant, ALICE.raw, email=ALICE.email, expected=ALICE.license)

    # -- MALFORMED: not a well-formed key
    malformed = "MALFORMED"
    case("malformed/empty", "no text", "", None, email=ALICE.email, expected=malformed)
    case(
        "malformed/char-u",
        "U is not in the alphabet (nor a look-alike)",
        _replace_char(text, 20, lambda ch: "U"),
        None,
        email=ALICE.email,
        expected=malformed,
    )
    case(
        "malformed/char-symbol",
        "a character outside the alphabet",
        _replace_char(text, 70, lambda ch: "*"),
        None,
        email=ALICE.email,
        expected=malformed,
    )
    case(
        "malformed/char-fullwidth",
        "a full-width digit is not read as a digit",
        _replace_char(text, 3, lambda ch: "\uff11"),
        None,
        email=ALICE.email,
        expected=malformed,
    )
    case(
        "malformed/missing-char",
        "142 characters: no whole number of bytes has that length",
        _replace_char(text, 60, lambda ch: ""),
        None,
        email=ALICE.email,
        expected=malformed,
    )
    case(
        "malformed/extra-char",
        "an inserted character: 144 characters, a length 90 bytes have, but the CRC does not match",
        _replace_char(text, 60, lambda ch: ch + "7"),
        None,
        email=ALICE.email,
        expected=malformed,
    )
    case(
        "malformed/extra-zero",
        "144 characters ending in 0: a zero byte after the CRC still checks out (a CRC of data and "
        "its own CRC is 0, and stays 0 over zero bytes), so this one fails the exact-length rule",
        text + "0",
        ALICE.raw + b"\x00",
        email=ALICE.email,
        expected=malformed,
    )
    case(
        "malformed/bad-crc",
        "one character changed in the signature part: the CRC does not match",
        _replace_char(text, 100, _other_char),
        None,
        email=ALICE.email,
        expected=malformed,
    )
    case(
        "malformed/swapped-chars",
        "two neighbouring characters swapped",
        _swap(text, next(i for i in range(30, 142) if _digit(text, i) != _digit(text, i + 1))),
        None,
        email=ALICE.email,
        expected=malformed,
    )
    last = text[-1]
    case(
        "malformed/pad-bits",
        "the last character has a non-zero pad bit (its low 3 bits must be 0)",
        text[:-1] + ALPHABET[ALPHABET.index(last) | 1],
        None,
        email=ALICE.email,
        expected=malformed,
    )
    case(
        "malformed/too-long-input",
        "more than 1024 characters of input are refused before any reading",
        text + " " * 1000,
        None,
        email=ALICE.email,
        expected=malformed,
    )
    no_issue_date = bytearray(ALICE.payload)
    no_issue_date[12:14] = b"\x00\x00"
    raw = _signed_raw(3, bytes(no_issue_date), ALICE.digest)
    case(
        "malformed/no-issue-date",
        "genuinely signed, but the issue date is 0: refused after the signature check",
        encode_text(raw),
        raw,
        email=ALICE.email,
        expected=malformed,
    )

    # -- UNSUPPORTED_VERSION: a well-formed key of another version
    for version in (2, 0):
        raw = _reissue(ALICE, version=version)
        case(
            f"version/{version}",
            f"version byte {version}, CRC recomputed: refused before any key lookup",
            encode_text(raw),
            raw,
            email=ALICE.email,
            expected="UNSUPPORTED_VERSION",
        )
    raw = with_crc(bytes([2]) + ALICE.payload[1:] + bytes(6) + ALICE.signature)
    case(
        "version/2-longer",
        "a 95-byte version-2 key: the version is read before the exact length",
        encode_text(raw),
        raw,
        email=ALICE.email,
        expected="UNSUPPORTED_VERSION",
    )

    # -- the keyring
    case(
        "unknown-key",
        "signed by key 4, absent from the keyring",
        UNKNOWN_KEY.text,
        UNKNOWN_KEY.raw,
        email=UNKNOWN_KEY.email,
        expected="UNKNOWN_KEY",
    )
    case(
        "key-retired",
        "signed by key 1, retired",
        RETIRED_KEY.text,
        RETIRED_KEY.raw,
        email=RETIRED_KEY.email,
        expected="KEY_RETIRED",
    )

    # -- the signature
    signature = bytearray(ALICE.signature)
    signature[10] ^= 0x01
    raw = _reissue(ALICE, signature=bytes(signature))
    case(
        "bad-signature/flipped-bit",
        "one bit of the signature flipped, CRC recomputed",
        encode_text(raw),
        raw,
        email=ALICE.email,
        expected="BAD_SIGNATURE",
    )
    altered = bytearray(ALICE.payload)
    altered[18:20] = (100).to_bytes(2, "big")
    raw = _reissue(ALICE, payload=bytes(altered))
    case(
        "bad-signature/altered-seats",
        "seats changed from 1 to 100 in the payload, CRC recomputed",
        encode_text(raw),
        raw,
        email=ALICE.email,
        expected="BAD_SIGNATURE",
    )
    altered = bytearray(ALICE.payload)
    altered[1] = 2
    raw = _reissue(ALICE, payload=bytes(altered))
    case(
        "bad-signature/other-key-id",
        "the key ID changed from 3 to 2 (a known key), CRC recomputed",
        encode_text(raw),
        raw,
        email=ALICE.email,
        expected="BAD_SIGNATURE",
    )
    case(
        "bad-signature/same-email-check",
        "another email whose digest begins with the same two bytes: told apart only by the signature",
        ALICE.text,
        ALICE.raw,
        email=_email_with_same_check(ALICE.digest),
        expected="BAD_SIGNATURE",
    )

    # -- the email
    case(
        "email-mismatch",
        "a genuine key checked with another email",
        ALICE.text,
        ALICE.raw,
        email="mallory@example.com",
        expected="EMAIL_MISMATCH",
    )
    case(
        "email-mismatch/plus-address",
        "no plus folding: bob.smith@example.org is another address",
        BOB.text,
        BOB.raw,
        email="bob.smith@example.org",
        product=2,
        expected="EMAIL_MISMATCH",
    )
    case(
        "invalid-email",
        "not an email address",
        ALICE.text,
        ALICE.raw,
        email="alice at example.com",
        expected="INVALID_EMAIL",
    )

    # -- the terms, read only from a verified key
    case(
        "wrong-product",
        "a genuine product-1 key checked for product 2",
        ALICE.text,
        ALICE.raw,
        email=ALICE.email,
        product=2,
        expected="WRONG_PRODUCT",
        license=ALICE.license,
    )
    case(
        "not-yet-valid",
        "now is the last second before the issue day (UTC)",
        ALICE.text,
        ALICE.raw,
        email=ALICE.email,
        now="2026-01-14T23:59:59+00:00",
        expected="NOT_YET_VALID",
        license=ALICE.license,
    )
    case(
        "expired",
        "now is the first second after the expiry day (UTC)",
        BOB.text,
        BOB.raw,
        email=BOB.email,
        product=2,
        now="2027-01-01T00:00:00+00:00",
        expected="EXPIRED",
        license=BOB.license,
    )
    case(
        "expired/west",
        "2026-12-31T20:00-05:00 is 2027-01-01T01:00Z, after the expiry day in UTC",
        BOB.text,
        BOB.raw,
        email=BOB.email,
        product=2,
        now="2026-12-31T20:00:00-05:00",
        expected="EXPIRED",
        license=BOB.license,
    )
    case(
        "updates-expired",
        "the build is dated the day after updates-until",
        CAROL.text,
        CAROL.raw,
        email=CAROL.email,
        product=300,
        build_date="2026-10-01",
        expected="UPDATES_EXPIRED",
        license=CAROL.license,
    )
    case(
        "revoked",
        "serial 0x000000000666 is in revocations.json",
        REVOKED.text,
        REVOKED.raw,
        email=REVOKED.email,
        expected="REVOKED",
        license=REVOKED.license,
    )
    return cases


EMAIL_INPUTS = [
    ("alice@example.com", "already normal"),
    ("  Alice@Example.COM\t", "surrounding whitespace trimmed, everything lower-cased"),
    ("\u00a0alice@example.com\u3000", "Unicode spaces are whitespace too"),
    ("Bob.Smith+Licenses@Example.ORG", "no dot or plus folding"),
    ("o'brien!#$%&*=?^_`{|}~-@example.com", "every ASCII symbol allowed in the local part"),
    ("J\u00fcrgen@example.de", "non-ASCII local part: Nameprep folds the case, NFKC composes"),
    ("Ju\u0308rgen@example.de", "NFD local part: NFKC composes it"),
    ("user@B\u00fccher.Example", "IDN domain: IDNA 2003 ToASCII"),
    ("user@BU\u0308CHER.EXAMPLE", "NFD, upper-case IDN domain"),
    ("user@fa\u00df.de", "IDNA 2003 maps sharp s to ss (IDNA 2008 would not)"),
    ("Stra\u00dfe@example.de", "sharp s folds to ss in the local part too (case folding, not lower-casing)"),
    ("user@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", "full-width domain: Nameprep maps it to ASCII"),
    ("\uff41\uff4c\uff49\uff43\uff45@example.com", "full-width local part: NFKC maps it to ASCII"),
    ("user@example\u3002com", "an ideographic full stop separates labels in a non-ASCII domain"),
    ("user@example\uff0ecom", "a full-width full stop separates labels"),
    ("\u03a3\u0391\u03a3@example.gr", "Greek capitals: sigma folds to \u03c3, final or not"),
    ("\u03c3\u03b1\u03c2@example.gr", "a final sigma folds to \u03c3"),
    ("\u0130stanbul@example.com", "dotted capital I folds to i + U+0307"),
    (
        "\u0434\u0438\u043c\u0430@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444",
        "Cyrillic local part and domain",
    ),
    ("\u7528\u6237@\u4f8b\u5b50.\u4e2d\u56fd", "Chinese local part and domain"),
    ("\u30e6\u30fc\u30b6\u30fc@\u4f8b\u3048.jp", "Japanese katakana local part"),
    (
        "\u0645\u062d\u0645\u062f123@example.com",
        "Arabic local part ending in digits: no bidi check on the local part",
    ),
    (
        "x@\u0645\u062d\u0645\u062f123.com",
        "invalid: an Arabic domain label ending in digits breaks the IDNA bidi rule",
    ),
    ("\u0905\u0928\u093f\u0932@example.in", "Devanagari local part (combining vowel signs)"),
    ("\u13a0\u13a1@example.com", "Cherokee capitals: Unicode 3.2 has no case mapping for them, so they stay"),
    ("x@\u13a0\u13a1.com", "Cherokee domain: not folded (a current Python's idna codec folds it, wrongly)"),
    ("\u10a0@example.ge", "Georgian Asomtavruli: no case mapping in Unicode 3.2"),
    ("\uab70@example.com", "invalid: Cherokee small letter, unassigned in Unicode 3.2"),
    ("a@\u0221omain.example", "invalid: U+0221, unassigned in Unicode 3.2, in the domain"),
    (
        "\U0001f130@example.com",
        "invalid: U+1F130, unassigned in Unicode 3.2 (a current NFKC would make it 'A')",
    ),
    ("x@\U0001f600.example", "invalid: an emoji domain (unassigned in Unicode 3.2)"),
    ("\U0001f600@example.com", "invalid: an emoji local part"),
    ("\uf951@example.com", "invalid: one of the six code points whose decomposition changed after 3.2"),
    ("soft\u00adhyphen@example.com", "table B.1: a soft hyphen is removed"),
    ("alice\u200b@example.com", "table B.1: a zero-width space is removed"),
    ("alice\u2028@example.com", "invalid: a line separator inside the address (C.2.2 after trimming)"),
    ("alice\ue000@example.com", "invalid: a private-use character (C.3)"),
    ("x@xn--bcher-kva.example", "an ASCII domain is kept as it is, even an A-label"),
    ("x@xn--b\u00fccher.example", "invalid: a non-ASCII label that begins with xn--"),
    ("\ufeffalice@example.com", "a byte-order mark (B.1) inside the text is removed"),
    ("a" * 64 + "@example.com", "the longest local part"),
    ("a@" + ".".join(["b" * 63] * 3) + "." + "c" * 60, "254 characters: the longest address"),
    ("no-at-sign.example.com", "invalid: no @"),
    ("@example.com", "invalid: empty local part"),
    ("alice@", "invalid: empty domain"),
    ("alice@localhost", "invalid: the domain has no dot"),
    ("alice@example..com", "invalid: empty label"),
    ("alice@-example.com", "invalid: label starts with a hyphen"),
    ("alice@exa_mple.com", "invalid: underscore in the domain"),
    ("alice smith@example.com", "invalid: space in the local part"),
    ('"alice"@example.com', "invalid: quoted local parts are not supported"),
    ("alice@bob@example.com", "invalid: @ in the local part"),
    ("alice\x07@example.com", "invalid: a control character"),
    ("a" * 65 + "@example.com", "invalid: local part of 65 characters"),
    ("a@" + ".".join(["b" * 63] * 3) + "." + "c" * 61, "invalid: 255 characters"),
    ("alice@" + "b" * 64 + ".com", "invalid: label of 64 characters"),
]


def email_cases() -> list[dict[str, Any]]:
    cases = []
    for text, note in EMAIL_INPUTS:
        try:
            normalized: str | None = normalize_email(text)
        except InvalidEmail:
            normalized = None
        cases.append(
            {
                "input": text,
                "note": note,
                "normalized": normalized,
                "digest": None if normalized is None else email_digest(normalized).hex(),
            }
        )
    return cases


def keyring() -> PublicKeyring:
    return PublicKeyring.of(
        [
            PublicKey(key_id, bytes(signing_key(key_id).verify_key), status)
            for key_id, status in KEY_STATUSES.items()
            if status is not None
        ],
        PRODUCTS,
    )


def revocations_document() -> str:
    message = revocation_message(3, REVOCATIONS_SEQUENCE, REVOCATIONS_ISSUE_TIME, REVOKED_SERIALS)
    document = {
        "format": REVOCATIONS_FORMAT,
        "key_id": 3,
        "sequence": REVOCATIONS_SEQUENCE,
        "issue_time": REVOCATIONS_ISSUE_TIME,
        "serials": REVOKED_SERIALS,
        "signature": signing_key(3).sign(message).signature.hex(),
    }
    RevocationList.from_json(json.dumps(document), keyring())  # the reference must accept it
    return _dump(document)


def keys_document() -> str:
    document = {
        "format": VECTORS_FORMAT,
        "about": (
            "Conformance vectors for license key format v1 (docs/key-format.md), generated by "
            "tests/vectors/generate.py: do not edit. Check every entry of 'keys' with the keyring "
            "in keyring.json and the revocation list in revocations.json; 'bytes' is the hex of the "
            "bytes the key text encodes (null when the text cannot be read)."
        ),
        "keyring": "keyring.json",
        "revocations": "revocations.json",
        "signing_keys": [
            {
                "key_id": key_id,
                "seed_text": seed_text(key_id).decode("ascii"),
                "seed": hashlib.sha256(seed_text(key_id)).hexdigest(),
                "public_key": bytes(signing_key(key_id).verify_key).hex(),
                "status": status or "absent from the keyring",
            }
            for key_id, status in KEY_STATUSES.items()
        ],
        "crc16": [
            {"input_hex": b"123456789".hex(), "crc": f"{crc16(b'123456789'):04x}"},
            {"input_hex": "", "crc": f"{crc16(b''):04x}"},
            {"input_hex": ALICE.raw[:-2].hex(), "crc": ALICE.raw[-2:].hex()},
        ],
        "signed_messages": [
            {
                "key": issued.text,
                "email_digest": issued.digest.hex(),
                "signed_message": issued.message.hex(),
                "signature": issued.signature.hex(),
            }
            for issued in (ALICE, JURGEN)
        ],
        "emails": email_cases(),
        "keys": key_cases(),
    }
    return _dump(document)


def _dump(document: object) -> str:
    # ASCII only: NFC and NFD inputs must look different in the file, not just be different.
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"


def _reference_verifies(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """The reference validator's Ed25519 call (libsodium through PyNaCl): docs/key-format.md 1.2."""
    import nacl.bindings
    import nacl.exceptions

    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except nacl.exceptions.CryptoError:
        return False
    return True


def ed25519_verdicts_document() -> str:
    """The reference's verdict on every public Ed25519 edge case, for other implementations."""
    cctv = json.loads((HERE / "ed25519" / "cctv-ed25519vectors.json").read_text(encoding="utf-8"))
    wycheproof = json.loads((HERE / "ed25519" / "wycheproof-ed25519_test.json").read_text(encoding="utf-8"))
    cases = []
    for record in cctv:
        public_key, signature = bytes.fromhex(record["key"]), bytes.fromhex(record["sig"])
        message = record["msg"].encode("utf-8")
        cases.append(
            {
                "source": f"cctv/{record['number']}",
                "public_key": public_key.hex(),
                "signature": signature.hex(),
                "message": message.hex(),
                "valid": _reference_verifies(public_key, signature, message),
            }
        )
    for group in wycheproof["testGroups"]:
        public_key = bytes.fromhex(group["publicKey"]["pk"])
        for test in group["tests"]:
            signature, message = bytes.fromhex(test["sig"]), bytes.fromhex(test["msg"])
            cases.append(
                {
                    "source": f"wycheproof/{test['tcId']}",
                    "public_key": public_key.hex(),
                    "signature": signature.hex(),
                    "message": message.hex(),
                    "valid": _reference_verifies(public_key, signature, message),
                }
            )
    return _dump(
        {
            "about": (
                "The reference's verdict (docs/key-format.md section 1.2, libsodium) on every C2SP/CCTV "
                "and Wycheproof Ed25519 case in tests/vectors/ed25519/ (see the README there for their "
                "sources and licences). A conforming validator gives the same verdict on each. Generated "
                "by tests/vectors/generate.py: do not edit."
            ),
            "cases": cases,
        }
    )


def build() -> dict[str, str]:
    """The files this script writes, by name: what the drift test compares with the committed ones."""
    return {
        "keyring.json": keyring().to_json(),
        "revocations.json": revocations_document(),
        "keys.json": keys_document(),
        "ed25519-verdicts.json": ed25519_verdicts_document(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for name, text in build().items():
        path = HERE / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"out of date: {', '.join(stale)} (run {Path(__file__).name})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
