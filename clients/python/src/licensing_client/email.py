"""The one email normalisation, and the digest that binds a key to an address.

The server and every validator must agree on this byte for byte, in every language and on every
Unicode version, so it lives here, in the reference reader, and the server imports it. The rules
(docs/key-format.md, section 3) use only Unicode 3.2 data through the RFC 3454 (stringprep)
tables, which never change: trim, split at the last @, refuse code points unassigned in 3.2,
Nameprep's mapping, NFKC and prohibitions for the local part (not its bidi check), IDNA 2003
ToASCII for the domain. An ASCII address is only trimmed and lower-cased. Nothing
provider-specific: no dot or plus folding.
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


# Python's str.strip() set, written out: the spec lists it, so it must not follow the host.
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# Their decomposition was corrected after Unicode 3.2 (Corrigendum #4), so implementations
# disagree on them; the spec refuses them rather than pick a side.
_CORRECTED_AFTER_3_2 = frozenset("\uf951\U0002f868\U0002f874\U0002f91f\U0002f95f\U0002f9bf")
_LABEL_DOTS = re.compile("[.\u3002\uff0e\uff61]")


def normalize_email(raw: str) -> str:
    """Return the canonical form of an email address or raise InvalidEmail."""
    if not isinstance(raw, str):
        raise InvalidEmail("the email must be text")
    if len(raw) > _MAX_INPUT_LENGTH:
        raise InvalidEmail("the email is too long")
    text = raw.strip(_WHITESPACE)
    if text.isascii():
        quick = text.lower()
        if len(quick) <= MAX_EMAIL_LENGTH and _ascii_address(quick):
            return quick
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise InvalidEmail("the email must have the form name@domain")
    for part in (local, domain):
        if not part.isascii():
            _refuse_unstable(part)
    local = _map_local(local)
    if len(local) > MAX_LOCAL_LENGTH:
        raise InvalidEmail(f"the part before @ is longer than {MAX_LOCAL_LENGTH} characters")
    if any(ch in _FORBIDDEN_IN_LOCAL or ch < " " or ch == "\x7f" for ch in local):
        raise InvalidEmail("the part before @ contains a space, a control or a reserved character")
    address = f"{local}@{_domain_to_ascii(domain)}"
    if len(address) > MAX_EMAIL_LENGTH:
        raise InvalidEmail(f"the email is longer than {MAX_EMAIL_LENGTH} characters")
    return address


def _refuse_unstable(part: str) -> None:
    """Step 4: a code point unassigned in Unicode 3.2 would normalise differently by version."""
    import stringprep

    for ch in part:
        if stringprep.in_table_a1(ch) or ch in _CORRECTED_AFTER_3_2:
            raise InvalidEmail(
                f"the email contains U+{ord(ch):04X}, a character this service cannot store the same way "
                "in every program (unassigned in Unicode 3.2)"
            )


def _map_local(local: str) -> str:
    """Step 5: Nameprep's mapping, NFKC (Unicode 3.2) and prohibitions, without its bidi check."""
    if local.isascii():
        return local.lower()
    return _nameprep(local, bidi=False)


def _nameprep(text: str, *, bidi: bool) -> str:
    """RFC 3491 on Unicode 3.2 alone: B.1 removed, B.2 mapped, NFKC, C.* prohibited, D.* bidi."""
    import stringprep
    from unicodedata import ucd_3_2_0

    mapped = "".join(_map_b2(ch) for ch in text if not stringprep.in_table_b1(ch))
    folded = ucd_3_2_0.normalize("NFKC", mapped)
    for ch in folded:
        if _prohibited(ch):
            raise InvalidEmail(f"the email contains U+{ord(ch):04X}, which is not allowed in an address")
    if bidi and _breaks_bidi_rules(folded):
        raise InvalidEmail(
            "a label of the domain breaks the right-to-left rules of IDNA (RFC 3454 section 6)"
        )
    return folded


def _breaks_bidi_rules(text: str) -> bool:
    """RFC 3454 section 6: text with right-to-left characters has no left-to-right ones, and
    starts and ends with a right-to-left character."""
    import stringprep

    if not any(stringprep.in_table_d1(ch) for ch in text):
        return False
    return any(stringprep.in_table_d2(ch) for ch in text) or not (
        stringprep.in_table_d1(text[0]) and stringprep.in_table_d1(text[-1])
    )


def _map_b2(ch: str) -> str:
    """Table B.2 of RFC 3454 for one code point.

    Python's stringprep.map_table_b2 lower-cases with the host's Unicode database, so on a current
    Python it maps 126 code points that Unicode 3.2 left alone (Cherokee, Georgian capitals,
    U+04C0, U+2132, U+2183) to letters added later. Every such target is unassigned in 3.2, and a
    3.2 mapping can only lead to an assigned character, so those mappings are dropped here.
    tests/client/test_email_tables.py checks the result against libidn's copy of the table.
    """
    import stringprep

    mapped = stringprep.map_table_b2(ch)
    if mapped != ch and any(stringprep.in_table_a1(out) for out in mapped):
        return ch
    return mapped


def _prohibited(ch: str) -> bool:
    import stringprep

    return (
        stringprep.in_table_c12(ch)
        or stringprep.in_table_c22(ch)
        or stringprep.in_table_c3(ch)
        or stringprep.in_table_c4(ch)
        or stringprep.in_table_c5(ch)
        or stringprep.in_table_c6(ch)
        or stringprep.in_table_c7(ch)
        or stringprep.in_table_c8(ch)
        or stringprep.in_table_c9(ch)
    )


def _to_ascii(label: str) -> str:
    """IDNA 2003 ToASCII (RFC 3490 4.1) with AllowUnassigned and UseSTD3ASCIIRules off."""
    if not label.isascii():
        label = _nameprep(label, bidi=True)
        if not label.isascii():
            if label[:4].lower() == "xn--":
                raise InvalidEmail("a label of the domain starts with xn-- but is not ASCII")
            label = "xn--" + label.encode("punycode").decode("ascii")
    if not 1 <= len(label) <= 63:
        raise InvalidEmail("the domain has an empty or over-long label")
    return label


def _domain_to_ascii(domain: str) -> str:
    """Steps 6 and 7: IDNA 2003 ToASCII label by label (step 4 has refused unassigned code points)."""
    domain = domain.translate(_ASCII_UPPER_TO_LOWER)
    labels = (
        domain.split(".") if domain.isascii() else [_to_ascii(label) for label in _LABEL_DOTS.split(domain)]
    )
    if len(labels) < 2:
        raise InvalidEmail("the domain must contain a dot")
    for label in labels:
        if not 1 <= len(label) <= 63:
            raise InvalidEmail("the domain has an empty or over-long label")
        if label[0] == "-" or label[-1] == "-" or not _ldh_label(label):
            raise InvalidEmail("the domain may contain only letters, digits, dots and hyphens")
    return ".".join(labels)


_ASCII_UPPER_TO_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ldh_label = re.compile("[a-z0-9-]+").fullmatch


def email_digest(normalized: str) -> bytes:
    """SHA-256 of the context string and the normalised address: 32 bytes, signed into keys."""
    digest: bytes = _sha256(EMAIL_DIGEST_CONTEXT + normalized.encode()).digest()
    return digest
