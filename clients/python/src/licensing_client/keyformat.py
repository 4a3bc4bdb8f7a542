"""The license key format, version 1: the one implementation of its bytes and its text.

docs/key-format.md is the specification; this module is its reference reader, and the server
writes keys with these same functions.

Binary key (89 bytes):  payload (23) | Ed25519 signature (64) | CRC-16 (2)

    off size field          notes
    0   1    version        1
    1   1    key_id         signing key ID, 1..255
    2   2    product        product number, 1..65535, big-endian (as every integer here)
    4   6    serial         48-bit license serial
    10  2    email_check    first 2 bytes of the email digest (tells a wrong email from a forgery)
    12  2    issued         days since 2000-01-01 (UTC)
    14  2    expires        days since 2000-01-01, 0 = perpetual
    16  2    updates_until  days since 2000-01-01, 0 = updates without end
    18  2    seats          1..65535
    20  1    edition        0..255
    21  2    flags          16-bit feature mask

The signature covers SIGNED_CONTEXT | payload | email digest (32 bytes), so the key is bound to
the whole digest while carrying only two bytes of it. The CRC (CRC-16/CCITT-FALSE over the 87
bytes before it) exists only to tell a typo from a forgery.

Text: the 89 bytes as one big-endian number shifted left by 3 zero bits, written in Crockford's
base32 (143 characters), in groups of 8 joined by '-': 160 characters.

APPEND-ONLY RULE: fields are never reordered, resized, removed or given a new meaning. A new
field or meaning is a new version number with its own length; this reader keeps reading version
1 unchanged. The CRC is always the last two bytes and the version always the first byte, in
every version, so any reader can tell a typo from a key it is too old to understand.
"""

# No "from __future__ import annotations" here: NamedTuple turns string annotations into
# ForwardRefs, compiling each one, which made importing this module several times slower.
import base64
import binascii
import datetime as dt
import struct
from typing import NamedTuple

from .errors import LicenseError, Reason
from .license import License

__all__ = [
    "ALPHABET",
    "EPOCH",
    "FORMAT_VERSION",
    "KEY_BYTES",
    "PAYLOAD_BYTES",
    "SIGNED_CONTEXT",
    "KeyParts",
    "crc16",
    "date_to_day",
    "day_to_date",
    "decode_payload",
    "encode_payload",
    "format_key",
    "parse_key",
    "read_key_bytes",
    "signed_message",
]

FORMAT_VERSION = 1
EPOCH = dt.date(2000, 1, 1)
_EPOCH_ORDINAL = EPOCH.toordinal()
_from_ordinal = dt.date.fromordinal
PAYLOAD_BYTES = 23
SIGNATURE_BYTES = 64
CRC_BYTES = 2
KEY_BYTES = PAYLOAD_BYTES + SIGNATURE_BYTES + CRC_BYTES
_CRC_AT = PAYLOAD_BYTES + SIGNATURE_BYTES
SIGNED_CONTEXT = b"licensing.v1/key\x00"
GROUP = 8
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
MAX_TEXT_INPUT = 1024  # longer input is refused before any work is done

_PAYLOAD = struct.Struct(">BBH6s2sHHHHBH")
# The same 23 bytes with the serial read as 16 + 32 bits, so decoding needs no int.from_bytes.
_PAYLOAD_FIELDS = struct.Struct(">BBHHI2sHHHHBH")
_DIGITS = "0123456789abcdefghijklmnopqrstuv"  # what int(text, 32) reads
_RFC4648_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET.encode("ascii"))


_SEPARATORS = " \t\r\n\f\v-\u00a0\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u202f\u2007\u3000"


def _reading_tables() -> tuple[bytes, dict[int, int | None]]:
    """Typed text -> int() base-32 digits; look-alikes mapped; anything unused becomes '!'.

    Two forms of one mapping: a 256-byte table for the usual ASCII paste (bytes.translate runs
    in C), and a str table that also deletes the Unicode spaces and dashes mail clients insert.
    """
    table = bytearray(b"!" * 256)
    for value, char in enumerate(ALPHABET):
        table[ord(char)] = table[ord(char.lower())] = ord(_DIGITS[value])
    for look_alike, char in (("O", "0"), ("I", "1"), ("L", "1")):
        digit = ord(_DIGITS[ALPHABET.index(char)])
        table[ord(look_alike)] = table[ord(look_alike.lower())] = digit
    unicode_table: dict[int, int | None] = {code: table[code] for code in range(128)}
    for sep in _SEPARATORS:
        unicode_table[ord(sep)] = None
    return bytes(table), unicode_table


_READ_ASCII, _READ_UNICODE = _reading_tables()
_ASCII_SEPARATORS = _SEPARATORS[:7].encode("ascii")


class KeyParts(NamedTuple):
    """A key split into its parts, after the text and CRC checks, before any signature check."""

    payload: bytes
    signature: bytes

    @property
    def key_id(self) -> int:
        return self.payload[1]

    @property
    def email_check(self) -> bytes:
        return self.payload[10:12]


def date_to_day(value: dt.date | None) -> int:
    """A date as days since EPOCH; None (no limit) is 0."""
    if value is None:
        return 0
    day = (value - EPOCH).days
    if not 1 <= day <= 0xFFFF:
        raise ValueError(f"date {value.isoformat()} is outside 2000-01-02 .. 2179-06-06")
    return day


def day_to_date(day: int) -> dt.date | None:
    """The date `day` days after EPOCH; 0 (no limit) is None."""
    return None if day == 0 else _from_ordinal(_EPOCH_ORDINAL + day)


def encode_payload(license: License, email_digest: bytes) -> bytes:
    """The 23 payload bytes of a license; raises ValueError for a value that does not fit."""
    if not 1 <= license.key_id <= 0xFF:
        raise ValueError("key_id must be 1..255")
    if not 1 <= license.product <= 0xFFFF:
        raise ValueError("product must be 1..65535")
    if not 0 <= license.serial < 1 << 48:
        raise ValueError("serial must fit in 48 bits")
    if not 1 <= license.seats <= 0xFFFF:
        raise ValueError("seats must be 1..65535")
    if not 0 <= license.edition <= 0xFF:
        raise ValueError("edition must be 0..255")
    if not 0 <= license.flags <= 0xFFFF:
        raise ValueError("flags must fit in 16 bits")
    if len(email_digest) != 32:
        raise ValueError("the email digest must be 32 bytes")
    issued = date_to_day(license.issued)
    return _PAYLOAD.pack(
        FORMAT_VERSION,
        license.key_id,
        license.product,
        license.serial.to_bytes(6, "big"),
        email_digest[:2],
        issued,
        date_to_day(license.expires),
        date_to_day(license.updates_until),
        license.seats,
        license.edition,
        license.flags,
    )


def decode_payload(payload: bytes) -> License:
    """The license terms in a version-1 payload (not yet verified: check the signature first)."""
    (_, key_id, product, serial_high, serial_low, _, issued, expires, updates, seats, edition, flags) = (
        _PAYLOAD_FIELDS.unpack(payload)
    )
    if issued == 0:
        raise LicenseError(Reason.MALFORMED, "the key has no issue date")
    # This runs on every check: dates by ordinal (several times faster than EPOCH + timedelta)
    # and License._make (cheaper than keyword arguments), as measured in docs/benchmarks.md.
    return License._make(
        (
            key_id,
            product,
            serial_high << 32 | serial_low,
            _from_ordinal(_EPOCH_ORDINAL + issued),
            _from_ordinal(_EPOCH_ORDINAL + expires) if expires else None,
            _from_ordinal(_EPOCH_ORDINAL + updates) if updates else None,
            seats,
            edition,
            flags,
        )
    )


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor).

    binascii.crc_hqx is exactly this CRC once given 0xFFFF as its start value.
    """
    return binascii.crc_hqx(data, 0xFFFF)


def signed_message(payload: bytes, email_digest: bytes) -> bytes:
    """The exact bytes the Ed25519 signature covers."""
    return SIGNED_CONTEXT + payload + email_digest


def format_key(payload: bytes, signature: bytes) -> str:
    """The text of a key: payload and signature, CRC appended, base32 in dashed groups."""
    if len(payload) != PAYLOAD_BYTES or len(signature) != SIGNATURE_BYTES:
        raise ValueError("a version-1 key has a 23-byte payload and a 64-byte signature")
    body = payload + signature
    raw = body + crc16(body).to_bytes(CRC_BYTES, "big")
    # RFC 4648 base32 packs bits exactly as this format does (left-aligned, zero bits after the
    # last byte); only the alphabet differs, and the '=' padding is not part of a key.
    text = base64.b32encode(raw).rstrip(b"=").translate(_RFC4648_TO_CROCKFORD).decode("ascii")
    return "-".join(text[i : i + GROUP] for i in range(0, len(text), GROUP))


def parse_key(text: str) -> KeyParts:
    """Read a typed or pasted key; raise LicenseError(MALFORMED or UNSUPPORTED_VERSION)."""
    raw = read_key_bytes(text)
    return KeyParts(raw[:PAYLOAD_BYTES], raw[PAYLOAD_BYTES:_CRC_AT])


def read_key_bytes(text: str) -> bytes:
    """The 89 bytes of a version-1 key (CRC included) after the reading rules, in their order.

    The order is the specification's (docs/key-format.md, "Reading a key"): alphabet, length,
    pad bits, CRC, version, exact length. The CRC comes before the version so that a typo is
    reported as a typo, and the version before the exact length so that a longer key of a later
    version is reported as UNSUPPORTED_VERSION, not as a typo.
    """
    if not isinstance(text, str):
        raise LicenseError(Reason.MALFORMED, "a license key must be text")
    if len(text) > MAX_TEXT_INPUT:
        raise LicenseError(Reason.MALFORMED, "the text is far too long to be a license key")
    if text.isascii():
        digits = text.encode().translate(_READ_ASCII, _ASCII_SEPARATORS)
    else:
        unicode_digits = text.translate(_READ_UNICODE)
        if not unicode_digits.isascii():
            raise LicenseError(Reason.MALFORMED, "the key contains a character that is not used in keys")
        digits = unicode_digits.encode("ascii")
    if b"!" in digits:
        raise LicenseError(Reason.MALFORMED, "the key contains a character that is not used in keys")
    # A whole number of bytes, 3 or more (version and CRC), written in as few digits as it takes:
    # then fewer than 5 bits are left over as padding. Any other length lost or gained a digit.
    byte_count = len(digits) * 5 // 8
    pad_bits = len(digits) * 5 - byte_count * 8
    # Fewer digits than a version-1 key has: whatever check fails first, the likely cause is a
    # cut-off paste or a key wrapped over lines in an email, not a wrong character.
    if byte_count < 3 or pad_bits > 4:
        if 0 < len(digits) < _text_length(KEY_BYTES):
            raise _incomplete(len(digits))
        raise LicenseError(
            Reason.MALFORMED, "the key is too short or too long: check for a missing or extra character"
        )
    number = int(digits, 32)
    if number & ((1 << pad_bits) - 1):
        if len(digits) < _text_length(KEY_BYTES):
            raise _incomplete(len(digits))
        raise LicenseError(Reason.MALFORMED, "the last character of the key is wrong")
    raw = (number >> pad_bits).to_bytes(byte_count, "big")
    # A CRC without reflection or final xor, run over the data and its own CRC, gives 0.
    if crc16(raw):
        if len(digits) < _text_length(KEY_BYTES):
            raise _incomplete(len(digits))
        raise LicenseError(Reason.MALFORMED, "the key has a typo: a character is wrong or two are swapped")
    if raw[0] != FORMAT_VERSION:
        raise LicenseError(
            Reason.UNSUPPORTED_VERSION,
            f"the key is in format version {raw[0]}; this program reads version {FORMAT_VERSION}",
        )
    if byte_count != KEY_BYTES:
        raise LicenseError(Reason.MALFORMED, "the key has the wrong length for format version 1")
    return raw


def _incomplete(digit_count: int) -> LicenseError:
    full = _text_length(KEY_BYTES)
    return LicenseError(
        Reason.MALFORMED,
        f"the key is incomplete: {full - digit_count} of its {full} characters are missing; copy the whole key",
    )


def _text_length(byte_count: int) -> int:
    return -(-byte_count * 8 // 5)
