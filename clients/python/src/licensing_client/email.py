"""The one email normalisation, and the digest that binds a key to an address.

The server and every validator must agree on this byte for byte, so it lives here, in the
reference reader, and the server imports it. Normalisation (docs/key-format.md, "Email"):
trim surrounding whitespace, Unicode NFC, lower-case the whole address, then IDNA ToASCII for
the domain (RFC 3490, as Python's built-in ``idna`` codec; for an ASCII domain that is just
lower-casing). Nothing provider-specific: no dot or plus folding.
"""

from __future__ import annotations

import re
import sys

# Why not hashlib: importing it loads OpenSSL's libcrypto, about 3.5 MiB of memory and a few
# milliseconds of start-up, for one short hash per check (docs/benchmarks.md). CPython's own
# SHA-256 gives the same bytes; tests/client/test_email.py checks them against hashlib.
try:
    if sys.version_info >= (3, 12):
        from _sha2 import sha256 as _sha256
    else:
        from _sha256 import sha256 as _sha256  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # an interpreter built without it (some FIPS builds): same bytes, more memory
    from hashlib import sha256 as _sha256

__all__ = ["EMAIL_DIGEST_CONTEXT", "InvalidEmail", "email_digest", "normalize_email"]

EMAIL_DIGEST_CONTEXT = b"licensing.v1/email\x00"
MAX_EMAIL_LENGTH = 254  # RFC 5321 path limit, in characters after normalisation
MAX_LOCAL_LENGTH = 64
# Longer input is refused before any work; the slack is room for surrounding spaces and for
# decomposed (NFD) characters that NFC will join.
_MAX_INPUT_LENGTH = 4 * MAX_EMAIL_LENGTH
_FORBIDDEN_IN_LOCAL = set(' "(),:;<>@[\\]')
# The common case, an ASCII address, checked in one regular expression (the full rules below
# give the same answer for it; the fast path only skips Unicode work it does not need).
_ASCII_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ascii_address = re.compile(
    r"[!#-'*+\--9=?A-Z^-~]{1,64}@" + _ASCII_LABEL + r"(?:\." + _ASCII_LABEL + r")+"
).fullmatch


class InvalidEmail(ValueError):
    """The text is not an email address. The message never repeats the address."""


def normalize_email(raw: str) -> str:
    """Return the canonical form of an email address or raise InvalidEmail."""
    if not isinstance(raw, str):
        raise InvalidEmail("the email must be text")
    if len(raw) > _MAX_INPUT_LENGTH:
        raise InvalidEmail("the email is too long")
    if raw.isascii():
        quick = raw.strip().lower()
        if len(quick) <= MAX_EMAIL_LENGTH and _ascii_address(quick):
            return quick
    import unicodedata  # only for addresses that are not plain ASCII

    text = unicodedata.normalize("NFC", raw.strip()).lower()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise InvalidEmail("the email must have the form name@domain")
    if len(local) > MAX_LOCAL_LENGTH:
        raise InvalidEmail(f"the part before @ is longer than {MAX_LOCAL_LENGTH} characters")
    if any(ch in _FORBIDDEN_IN_LOCAL or not ch.isprintable() for ch in local):
        raise InvalidEmail("the part before @ contains a space, a control or a reserved character")
    ascii_domain = _domain_to_ascii(domain)
    address = f"{local}@{ascii_domain}"
    if len(address) > MAX_EMAIL_LENGTH:
        raise InvalidEmail(f"the email is longer than {MAX_EMAIL_LENGTH} characters")
    return address


def _domain_to_ascii(domain: str) -> str:
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise InvalidEmail("the domain is not a valid internationalised domain name") from exc
    labels = domain.split(".")
    if len(labels) < 2:
        raise InvalidEmail("the domain must contain a dot")
    for label in labels:
        if not 1 <= len(label) <= 63:
            raise InvalidEmail("the domain has an empty or over-long label")
        if label[0] == "-" or label[-1] == "-" or not all(ch.isalnum() or ch == "-" for ch in label):
            raise InvalidEmail("the domain may contain only letters, digits, dots and hyphens")
    return domain


def email_digest(normalized: str) -> bytes:
    """SHA-256 of the context string and the normalised address: 32 bytes, signed into keys."""
    digest: bytes = _sha256(EMAIL_DIGEST_CONTEXT + normalized.encode()).digest()
    return digest
