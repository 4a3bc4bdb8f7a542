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
_ORDER_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/#+-]{0,63}")
_PROVIDER = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){12,18}")


def check_email(value: str, field: str = "email") -> str:
    """The normalised address, or InvalidArgument that does not repeat it."""
    if not value:
        raise InvalidArgument(field, "is required", reason="EMAIL_REQUIRED")
    try:
        normalized = normalize_email(value)
    except InvalidEmail as exc:
        raise InvalidArgument(field, f"is not a valid email address ({exc})", reason="INVALID_EMAIL") from None
    if looks_like_card_number(normalized.rpartition("@")[0]):
        raise InvalidArgument(
            field, "looks like a payment card number, not a purchaser's address", reason="CARD_NUMBER_REFUSED"
        )
    return normalized


def looks_like_card_number(text: str) -> bool:
    """True when `text` holds 13 to 19 digits (optionally spaced or dashed) passing the Luhn check.

    The service never receives or stores a card number; refusing anything shaped like one keeps
    a misconfigured integration from writing card data into an order reference or a note.
    """
    for match in _DIGIT_RUN.finditer(text):
        digits = [int(ch) for ch in match.group() if ch.isdigit()]
        for start in range(len(digits) - 12):
            for end in range(start + 13, min(len(digits), start + 19) + 1):
                if _luhn_ok(digits[start:end]):
                    return True
    return False


def _luhn_ok(digits: list[int]) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def check_order_ref(value: str, field: str = "order_id") -> str:
    if not value:
        raise InvalidArgument(field, "is required", reason="ORDER_ID_REQUIRED")
    if len(value) > ORDER_REF_MAX:
        raise InvalidArgument(field, f"is longer than {ORDER_REF_MAX} characters", reason="ORDER_ID_TOO_LONG")
    if not _ORDER_REF.fullmatch(value):
        raise InvalidArgument(
            field,
            "may contain only letters, digits and . _ : / # + - (starting with a letter or digit)",
            reason="ORDER_ID_INVALID",
        )
    if looks_like_card_number(value):
        raise InvalidArgument(
            field,
            "looks like a payment card number; send the provider's order reference, never card data",
            reason="CARD_NUMBER_REFUSED",
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
    if not value.isprintable():
        raise InvalidArgument(field, "contains control characters", reason="TEXT_INVALID")
    if looks_like_card_number(value):
        raise InvalidArgument(field, "looks like a payment card number", reason="CARD_NUMBER_REFUSED")
    return value
