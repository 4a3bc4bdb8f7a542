"""Properties of reading and checking keys: every small corruption is refused, no input crashes
the validator, the encoding round-trips, and the ways people type a key are all accepted.

The single-character corruptions are tried exhaustively (every position, every character): a
few thousand checks, well under a second, and stronger than sampling them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from licensing_client import License, LicenseError, Reason, validate
from licensing_client.email import email_digest, normalize_email
from licensing_client.keyformat import (
    ALPHABET,
    EPOCH,
    crc16,
    decode_payload,
    encode_payload,
    format_key,
    read_key_bytes,
)

from .conftest import NOW, issue, make_keyring, make_license

EMAIL = "alice@example.com"
KEYRING = make_keyring({3: "active"})
LICENSE = make_license(expires=dt.date(2027, 1, 1), seats=3, flags=0x00F0)
KEY = issue(LICENSE, EMAIL)
DIGITS = KEY.replace("-", "")
REFUSED = {Reason.MALFORMED, Reason.BAD_SIGNATURE}

common = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _reason(text: str, email: str = EMAIL) -> Reason | None:
    """The reason `text` is refused, or None when it is accepted."""
    try:
        validate(text, email, 1, KEYRING, NOW)
    except LicenseError as error:
        return error.reason
    return None


def test_the_key_under_test_is_valid() -> None:
    assert validate(KEY, EMAIL, 1, KEYRING, NOW) == LICENSE
    assert len(KEY) == 160 and len(DIGITS) == 143


def test_every_single_substitution_is_refused() -> None:
    outcomes = {}
    for position, original in enumerate(DIGITS):
        for char in ALPHABET:
            if char != original:
                text = DIGITS[:position] + char + DIGITS[position + 1 :]
                outcomes[(position, char)] = _reason(text)
    assert len(outcomes) == 143 * 31
    assert set(outcomes.values()) <= REFUSED


def test_every_deletion_is_refused() -> None:
    for position in range(len(DIGITS)):
        assert _reason(DIGITS[:position] + DIGITS[position + 1 :]) in REFUSED, position


def test_every_insertion_is_refused() -> None:
    for position in range(len(DIGITS) + 1):
        for char in ALPHABET:
            assert _reason(DIGITS[:position] + char + DIGITS[position:]) in REFUSED, (position, char)


def test_every_truncation_is_refused() -> None:
    for length in range(len(KEY)):
        assert _reason(KEY[:length]) in REFUSED, length
    for length in range(len(DIGITS)):
        assert _reason(DIGITS[:length]) in REFUSED, length


def test_every_adjacent_swap_is_refused() -> None:
    for position in range(len(DIGITS) - 1):
        a, b = DIGITS[position], DIGITS[position + 1]
        if a != b:
            assert _reason(DIGITS[:position] + b + a + DIGITS[position + 2 :]) in REFUSED, position


@common
@given(st.text(max_size=3000))
def test_any_text_is_refused_with_a_license_error(text: str) -> None:
    with pytest.raises(LicenseError):
        validate(text, EMAIL, 1, KEYRING, NOW)


@common
@given(st.text(alphabet=ALPHABET + "-oOiIlL \n", min_size=140, max_size=170))
def test_key_like_text_is_refused_with_a_license_error(text: str) -> None:
    with pytest.raises(LicenseError):
        validate(text, EMAIL, 1, KEYRING, NOW)


@common
@given(st.binary(min_size=87, max_size=87), st.booleans())
def test_random_well_formed_keys_are_never_accepted(body: bytes, known_key: bool) -> None:
    """Right version, length and CRC, random content (half signed "by" key 3): always refused."""
    payload = bytes([1, 3 if known_key else body[1]]) + body[2:23]
    with pytest.raises(LicenseError) as caught:
        validate(format_key(payload, body[23:]), EMAIL, 1, KEYRING, NOW)
    assert caught.value.reason in {Reason.UNKNOWN_KEY, Reason.EMAIL_MISMATCH, Reason.BAD_SIGNATURE}


@common
@given(st.text(max_size=2000))
def test_any_email_gives_a_result_or_a_license_error(email: str) -> None:
    with pytest.raises(LicenseError) as caught:
        validate(KEY, email, 1, KEYRING, NOW)
    assert caught.value.reason in (Reason.INVALID_EMAIL, Reason.EMAIL_MISMATCH, Reason.BAD_SIGNATURE)


_days = st.integers(min_value=1, max_value=0xFFFF).map(lambda day: EPOCH + dt.timedelta(days=day))
_licenses = st.builds(
    License,
    key_id=st.integers(1, 255),
    product=st.integers(1, 0xFFFF),
    serial=st.integers(0, (1 << 48) - 1),
    issued=_days,
    expires=st.none() | _days,
    updates_until=st.none() | _days,
    seats=st.integers(1, 0xFFFF),
    edition=st.integers(0, 255),
    flags=st.integers(0, 0xFFFF),
)


@common
@given(_licenses, st.binary(min_size=32, max_size=32), st.binary(min_size=64, max_size=64))
def test_payload_and_text_round_trip(license: License, digest: bytes, signature: bytes) -> None:
    payload = encode_payload(license, digest)
    assert len(payload) == 23 and payload[0] == 1 and payload[10:12] == digest[:2]
    assert decode_payload(payload) == license
    text = format_key(payload, signature)
    assert len(text) == 160
    raw = read_key_bytes(text)
    assert raw[:23] == payload and raw[23:87] == signature and crc16(raw) == 0


_LOOK_ALIKES = {"0": "0oO", "1": "1iIlL"}
_SEPARATORS = [" ", "-", "\n", "\r\n", "\t", "  ", "\u2010", "\u2013", "\u00a0"]


@st.composite
def _typed_variants(draw: st.DrawFn) -> str:
    """KEY as a person might type or paste it: any case, look-alikes, any spacing."""
    # One draw of bytes steers every choice (a draw per character would be ten times slower).
    steer = draw(st.binary(min_size=2 * len(DIGITS) + 2, max_size=2 * len(DIGITS) + 2))
    out = []
    for i, char in enumerate(DIGITS):
        choices = _LOOK_ALIKES.get(char, char + char.lower())
        out.append(choices[steer[2 * i] % len(choices)])
        separator = steer[2 * i + 1]
        if separator < 3 * len(_SEPARATORS):  # about one character in eight
            out.append(_SEPARATORS[separator % len(_SEPARATORS)])
    return " \n"[: steer[-2] % 3] + "".join(out) + "\r\n "[: steer[-1] % 4]


@common
@given(_typed_variants())
def test_typed_variants_are_accepted(text: str) -> None:
    assert validate(text, EMAIL, 1, KEYRING, NOW) == LICENSE


@common
@given(
    st.sampled_from(["", " ", "\t", "\u00a0"]),
    st.sampled_from([str.lower, str.upper, str.title]),
    st.sampled_from(["", " ", "\n", "\u3000"]),
)
def test_email_case_and_spacing_do_not_matter(lead: str, case: Callable[[str], str], trail: str) -> None:
    email = lead + case(EMAIL) + trail
    assert normalize_email(email) == EMAIL
    assert email_digest(normalize_email(email)) == email_digest(EMAIL)
    assert validate(KEY, email, 1, KEYRING, NOW) == LICENSE
