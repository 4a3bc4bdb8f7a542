"""Checks of caller-supplied values, shared by every service. Each failure names its field.

Messages never repeat the offending value: it may be an email address, a key or card data.
"""

from __future__ import annotations

import re

from licensing_client.email import InvalidEmail, normalize_email

from .errors import InvalidArgument

__all__ = [
    "check_email",
    "check_free_text",
    "check_order_ref",
    "check_product_code",
    "check_provider",
    "looks_like_card_number",
]

ORDER_REF_MAX = 64
PRODUCT_CODE_MAX = 40  # Product.code's column width
_PROVIDER = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
# Digits in groups joined by what people type between them: spaces, dashes, dots, underscores,
# slashes, plus signs, '#' and ':', single or doubled (any run of up to three).
_SEPARATOR = r"[\s\-._/+#:]{1,3}"
_DIGIT_GROUPS = re.compile(r"\d+(?:" + _SEPARATOR + r"\d+)*")
_GROUP = re.compile(r"\d+")


def check_email(value: str, field: str = "email") -> str:
    """The normalised address, or InvalidArgument that does not repeat it."""
    if not value:
        raise InvalidArgument(field, "is required", reason="EMAIL_REQUIRED")
    try:
        return normalize_email(value)
    except InvalidEmail as exc:
        raise InvalidArgument(
            field, f"is not a valid email address ({exc})", reason="INVALID_EMAIL"
        ) from None


def looks_like_card_number(text: str) -> bool:
    """True when `text` holds a payment card number, however it is spaced or punctuated.

    The service never asks for card data, so this guards only the free-text fields a person
    types into (notes, consent sources). To refuse as few honest texts as possible, a match
    needs all of: 13 to 19 digits written as cards are written (in one piece, in groups of four,
    or 4-6-5 and 4-6-4 as American Express and Diners print them), not continuing a code glued
    to a letter ("DE13 …" is an IBAN, "GPA.4597-…" a Google Play order), an issuer prefix and a
    length that a card network uses, and a valid Luhn check digit. Any separators and doubled
    separators are read through. docs/reliability.md has the figures of honest notes refused and
    card numbers caught.
    """
    for run in _DIGIT_GROUPS.finditer(text):
        if _letter_at(text, run.start() - 1):
            continue
        groups = _GROUP.findall(run.group())
        for first in range(len(groups)):
            for last in range(first, min(first + 5, len(groups))):
                window = groups[first : last + 1]
                digits = "".join(window)
                if len(digits) > 19:
                    break
                if (
                    len(digits) >= 13
                    and _printed_like_a_card([len(g) for g in window])
                    and not (last == len(groups) - 1 and _letter_at(text, run.end()))
                    and _card_shaped(digits)
                ):
                    return True
    return False


def _printed_like_a_card(sizes: list[int]) -> bool:
    if len(sizes) == 1 or sizes in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(size == 4 for size in sizes[:-1]) and 1 <= sizes[-1] <= 4


def _letter_at(text: str, index: int) -> bool:
    return 0 <= index < len(text) and text[index].isalpha()


# (prefixes, lengths) of the card networks' numbers (ISO/IEC 7812 issuer identification ranges,
# as the networks publish them). Narrow on purpose: a broad "starts with 6" would refuse every
# note that quotes an Amazon or Google Play order number.
_NETWORKS: tuple[tuple[tuple[str, ...], frozenset[int]], ...] = (
    (("4",), frozenset({13, 16, 19})),  # Visa
    (("51", "52", "53", "54", "55", *(str(n) for n in range(2221, 2721))), frozenset({16})),  # Mastercard
    (("34", "37"), frozenset({15})),  # American Express
    (("300", "301", "302", "303", "304", "305", "36", "38", "39"), frozenset({14, 16, 19})),  # Diners Club
    (("6011", "644", "645", "646", "647", "648", "649", "65"), frozenset({16, 19})),  # Discover
    (tuple(str(n) for n in range(3528, 3590)), frozenset({16, 19})),  # JCB
    (("62",), frozenset({16, 17, 18, 19})),  # UnionPay
    (
        ("5018", "5020", "5038", "5893", "6304", "6759", "6761", "6762", "6763"),
        frozenset(range(13, 20)),
    ),  # Maestro
    (("2200", "2201", "2202", "2203", "2204"), frozenset({16, 17, 18, 19})),  # Mir
)


def _card_shaped(digits: str) -> bool:
    return any(
        len(digits) in lengths and digits.startswith(prefixes) for prefixes, lengths in _NETWORKS
    ) and _luhn_ok(digits)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def check_order_ref(value: str, field: str = "order_id") -> str:
    """The provider's order reference, taken as an opaque identifier.

    Any printable text of 1 to 64 characters is accepted as it is (no trimming, no case folding):
    real stores use digits, dashes, dots, spaces and letters of every script, and a reference is
    never a place for card data, which no provider sends. "Printable" is Python's: letters,
    marks, digits, punctuation, symbols and the ASCII space, but no control, format or other
    invisible character (a NUL, which PostgreSQL cannot store, included).
    """
    if not value:
        raise InvalidArgument(field, "is required", reason="ORDER_ID_REQUIRED")
    if len(value) > ORDER_REF_MAX:
        raise InvalidArgument(field, f"is longer than {ORDER_REF_MAX} characters", reason="ORDER_ID_TOO_LONG")
    if not value.isprintable():
        raise InvalidArgument(
            field,
            "may contain only printable characters (no control, line-break or invisible characters)",
            reason="ORDER_ID_INVALID",
        )
    return value


def check_product_code(value: str, field: str = "product") -> str:
    """Refuse, before any query, a product code that no product can have.

    PostgreSQL cannot even compare a string holding NUL (psycopg2 raises ValueError), so without
    this such a code fails the call as INTERNAL on PostgreSQL while SQLite answers "unknown".
    An empty code passes: whether the product is required is the caller's decision.
    """
    if len(value) > PRODUCT_CODE_MAX or not value.isprintable():
        raise InvalidArgument(field, "is not a known product code", reason="UNKNOWN_PRODUCT")
    return value


def check_provider(value: str, field: str = "provider") -> str:
    if not value:
        return "manual"
    if not _PROVIDER.fullmatch(value):
        raise InvalidArgument(
            field, "must be 1 to 32 lower-case letters, digits or hyphens", reason="PROVIDER_INVALID"
        )
    if looks_like_card_number(value):
        raise InvalidArgument(field, "looks like a payment card number", reason="CARD_NUMBER_REFUSED")
    return value


def check_free_text(value: str, field: str, max_length: int) -> str:
    """Short operator text (notes, sources): printable, bounded, and never card-shaped."""
    if len(value) > max_length:
        raise InvalidArgument(field, f"is longer than {max_length} characters", reason="TEXT_TOO_LONG")
    if looks_like_card_number(value):  # before the printable check: the more useful reason
        raise InvalidArgument(
            field, "looks like a payment card number; card data is never stored", reason="CARD_NUMBER_REFUSED"
        )
    if not value.isprintable():
        raise InvalidArgument(field, "contains control characters", reason="TEXT_INVALID")
    return value
