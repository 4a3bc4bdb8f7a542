"""Hypothesis strategies for hostile input: strings, identifiers, dates and numbers that a careless or
malicious caller might send, for every field of every request.

Strings protobuf can carry: very long ones, control characters and NUL, mixed scripts, right-to-left
and zero-width marks, look-alike digits, card-number-shaped digit runs (Luhn-valid, plain, spaced or
dashed, alone or inside other text), and identifiers of the wrong kind (an email where an order ID
goes, a key where an email goes, numbers, paths, SQL, format strings). Lone surrogates cannot be
encoded by protobuf at all, so they travel as raw bytes (`raw_requests`): the transport is then
exercised with undecodable UTF-8, wrong wire types and truncated fields.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, TypeVar

from google.protobuf import timestamp_pb2
from hypothesis import strategies as st

T = TypeVar("T")

__all__ = [
    "CONTROL",
    "boundary_numbers",
    "boundary_timestamps",
    "card_numbers",
    "hostile_text",
    "luhn_complete",
    "maybe",
    "raw_requests",
]

CONTROL = "".join(map(chr, [*range(32), 127, *range(0x80, 0xA0)]))
MARKS = (
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u00ad\u034f"
)
SCRIPTS = "aZ9ÄßçøЖжЯΩωאבعربي中文日本語한국어ไทยदेव🙂𝔘\u0301\u0308"
LOOK_ALIKES = "٠١٢٣٤٥٦٧٨٩０１２３４５６７８９𝟎𝟏𝟐"  # Arabic-Indic, full-width and mathematical digits
WRONG_KIND = [
    "buyer@example.com",
    "ORDER-1001",
    "photo-pro",
    "0",
    "-1",
    "18446744073709551616",
    "0x1F",
    "1e309",
    "NaN",
    "null",
    "true",
    "[]",
    '{"order_id": 1}',
    "' OR '1'='1' --",
    "'; DROP TABLE license; --",
    "../../../etc/passwd",
    "%s%s%s%n",
    "${jndi:ldap://x/a}",
    "<script>alert(1)</script>",
    "\\x00",
    "00000000-0000-0000-0000-000000000000",
    "040G00F7-GEJDFG8Y-VDAJCR80-00000001",
    "AAAAAAAA-" * 20,
]
_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
_PROTOBUF_SAFE = st.characters(exclude_categories=_SURROGATES)  # no surrogates: protobuf refuses them


def luhn_complete(digits: str) -> str:
    """`digits` followed by the check digit that makes the whole pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return digits + str((10 - total % 10) % 10)


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """A card number of a real network's prefix and length with a valid Luhn digit, plain, spaced
    or dashed in fours, alone or inside other text (never glued to a letter: "A4111…" is some
    other code, as licensing.inputs reads it)."""
    prefix, length = draw(
        st.sampled_from(
            [("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("37", 15), ("6011", 16), ("3530", 16)]
        )
    )
    body = draw(st.text("0123456789", min_size=length - 1 - len(prefix), max_size=length - 1 - len(prefix)))
    number = luhn_complete(prefix + body)
    separator = draw(st.sampled_from(["", "", " ", "-"]))
    if separator:
        number = separator.join(number[i : i + 4] for i in range(0, len(number), 4))
    before = draw(st.sampled_from(["", "", "PAY-", "A ", "card ", "x:"]))
    after = draw(st.sampled_from(["", "", "@example.com", "-1", " ok"]))
    return before + number + after


def _long_text() -> st.SearchStrategy[str]:
    return st.builds(
        lambda chunk, times: chunk * times,
        st.sampled_from(["A", "é", "中", "\x00", "-", "1", "a@b.co", "\u202e"]),
        st.sampled_from([65, 161, 401, 1025, 4097, 70_000]),
    )


def hostile_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Any of the hostile string families, protobuf-encodable."""
    return st.one_of(
        st.just(""),
        st.sampled_from(WRONG_KIND),
        card_numbers(),
        _long_text(),
        st.text(st.sampled_from(CONTROL), min_size=1, max_size=8),
        st.text(st.sampled_from(MARKS + SCRIPTS + LOOK_ALIKES + "-_.@+/ "), min_size=1, max_size=max_size),
        st.text(_PROTOBUF_SAFE, max_size=max_size),
        st.builds(
            lambda a, b, c: a + b + c,
            st.sampled_from(["ORDER-", "buyer", "photo-pro", ""]),
            st.sampled_from([*CONTROL[:3], *MARKS[:6], "\x00", " ", "\n"]),
            st.sampled_from(["1", "@example.com", ""]),
        ),
    )


def maybe(valid: st.SearchStrategy[T], hostile: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """Mostly a valid value (so that calls reach deep into the service), one time in six a hostile one."""
    return st.integers(0, 5).flatmap(lambda n: hostile if n == 0 else valid)


MIN_SECONDS, MAX_SECONDS = -62135596800, 253402300799


def _seconds(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def boundary_timestamps() -> st.SearchStrategy[timestamp_pb2.Timestamp]:
    today = dt.datetime.now(dt.UTC).date()
    seconds = st.one_of(
        st.sampled_from(
            [
                MIN_SECONDS - 1,
                MIN_SECONDS,
                -1,
                0,
                1,
                _seconds(dt.date(2000, 1, 1)),
                _seconds(dt.date(2000, 1, 2)) - 1,
                _seconds(dt.date(2000, 1, 2)),
                _seconds(today) - 86_400,
                _seconds(today),
                _seconds(today) + 86_400,
                _seconds(today) + 2 * 86_400 + 1,
                _seconds(dt.date(2179, 6, 6)),
                _seconds(dt.date(2179, 6, 7)),
                MAX_SECONDS,
                MAX_SECONDS + 1,
                2**62,
                -(2**62),
            ]
        ),
        st.integers(-(2**63), 2**63 - 1),
    )
    nanos = st.sampled_from([0, 0, 1, 999_999_999, 1_000_000_000, -1, 2**31 - 1, -(2**31)])
    return st.builds(timestamp_pb2.Timestamp, seconds=seconds, nanos=nanos)


def boundary_numbers(bits: int = 32) -> st.SearchStrategy[int]:
    top = 2**bits - 1
    return st.one_of(
        st.sampled_from(
            [n for n in (0, 1, 2, 254, 255, 256, 65534, 65535, 65536, 2**31 - 1, 2**31, top) if n <= top]
        ),
        st.integers(0, top),
    )


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


@st.composite
def raw_requests(draw: st.DrawFn, valid: bytes) -> bytes:
    """Bytes on the wire that protobuf may or may not parse: lone surrogates and invalid UTF-8 in a
    string field, wrong wire types for known fields, truncation, random bytes, a valid request
    with bytes flipped."""
    field = draw(st.integers(1, 8))
    kind = draw(
        st.sampled_from(
            ["surrogate", "bad-utf8", "wrong-type", "truncated", "random", "flipped", "unknown-field"]
        )
    )
    if kind == "surrogate":
        payload = (
            b"A"
            + draw(st.sampled_from([b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xed\xb2\x80"]))
            + b"@example.com"
        )
        return _varint(field << 3 | 2) + _varint(len(payload)) + payload
    if kind == "bad-utf8":
        payload = draw(
            st.sampled_from([b"\xff", b"\xc0\xaf", b"\xe0\x80\x80", b"\xf8\x88\x80\x80\x80", b"a\x80b"])
        )
        return _varint(field << 3 | 2) + _varint(len(payload)) + payload
    if kind == "wrong-type":
        wire = draw(st.sampled_from([0, 1, 5]))
        body = {0: _varint(draw(st.integers(0, 2**64 - 1))), 1: b"\x01" * 8, 5: b"\x01" * 4}[wire]
        return _varint(field << 3 | wire) + body
    if kind == "truncated":
        return valid[: draw(st.integers(0, max(0, len(valid) - 1)))] + _varint(field << 3 | 2) + b"\x7f"
    if kind == "flipped" and valid:
        data = bytearray(valid)
        for _ in range(draw(st.integers(1, 3))):
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
        return bytes(data)
    if kind == "unknown-field":
        return valid + _varint(draw(st.integers(100, 2**29 - 1)) << 3 | 2) + b"\x03abc"
    return draw(st.binary(max_size=64))
