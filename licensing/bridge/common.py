"""What the provider modules share: the bridge's errors, the order model, raw form parsing.

Everything here is pure: bytes in, values out. The provider modules turn a provider's request
into a `Purchase` (issue keys) or a `Revocation` (revoke them); `orders.py` turns a purchase
into IssueLicense calls; `app.py` does the I/O.

    BridgeError                    base; `status` is the HTTP status the provider is answered
    ├── SignatureMissing           no signature where one is required            → 401
    ├── SignatureInvalid           a signature that does not verify              → 403
    ├── BadRequest                 a request we cannot use (missing field, …)    → 400
    │   └── UnknownProduct         a provider product code with no mapping       → 400
    └── ProviderUnavailable        the provider's own API did not answer         → 503

Messages name the field and the problem, never a value: values may be email addresses, keys or
(from a misconfigured provider) card data.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

__all__ = [
    "BadRequest",
    "BridgeError",
    "LineItem",
    "ProviderUnavailable",
    "Purchase",
    "Revocation",
    "SignatureInvalid",
    "SignatureMissing",
    "UnknownProduct",
    "check_reference",
    "constant_time_equal",
    "parse_form",
    "parse_quantity",
]

REASON_REFUND = "refund"
REASON_CHARGEBACK = "chargeback"
REASON_CANCELED = "canceled"
REASON_FRAUD = "fraud"
REVOCATION_REASONS = frozenset({REASON_REFUND, REASON_CHARGEBACK, REASON_CANCELED, REASON_FRAUD})

# A provider's order reference, as it may appear inside our order IDs (which allow
# [A-Za-z0-9._:/#+-]); anything else is refused rather than rewritten, so IDs stay stable.
# The server takes 64 printable characters; the bridge keeps 16 for the prefix it may add
# (paddle-classic:), so any reference a provider documents fits.
REFERENCE_MAX = 48


class BridgeError(Exception):
    status = 400

    @property
    def message(self) -> str:
        return str(self.args[0])


class SignatureMissing(BridgeError):
    status = 401


class SignatureInvalid(BridgeError):
    status = 403


class BadRequest(BridgeError):
    status = 400


class UnknownProduct(BadRequest):
    pass


class ProviderUnavailable(BridgeError):
    status = 503


@dataclass(frozen=True)
class LineItem:
    """One product line of an order, in the provider's terms.

    `codes` are the line's product identifiers, most specific first (2Checkout sends both the
    vendor's product code and its own product ID); the first one the mapping knows is used.
    """

    codes: tuple[str, ...]
    quantity: int


@dataclass(frozen=True)
class Purchase:
    """A paid order: issue (or find again) the key(s) of each mapped line.

    `order_ref` is our order ID prefix, e.g. "2co:12345678"; `order_date` anchors the expiry and
    updates dates (None: the bridge's today, UTC).
    """

    provider: str
    order_ref: str
    email: str
    lines: tuple[LineItem, ...]
    test_order: bool
    order_date: str | None = None  # ISO date (YYYY-MM-DD)


@dataclass(frozen=True)
class Revocation:
    """Revoke every license of an order: a refund, a chargeback, a cancellation."""

    order_ref: str
    reason: str  # one of REVOCATION_REASONS
    note: str  # for the record: never personal data


def constant_time_equal(expected: str | bytes, given: str | bytes) -> bool:
    """Compare a computed signature with a received one without leaking where they differ."""
    left = expected.encode("ascii", "replace") if isinstance(expected, str) else expected
    right = given.encode("ascii", "replace") if isinstance(given, str) else given
    return hmac.compare_digest(left, right)


def parse_form(raw: bytes) -> list[tuple[str, bytes]]:
    """`application/x-www-form-urlencoded` as (name, value bytes) pairs, in the order received.

    Unlike the usual parsers this keeps empty values and repeated names, and leaves the value
    as bytes: signatures count the bytes as sent, whatever their character set.
    """
    pairs: list[tuple[str, bytes]] = []
    if not raw:
        return pairs
    for part in raw.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        decoded_name = unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8", "replace")
        pairs.append((decoded_name, unquote_to_bytes(value.replace(b"+", b" "))))
    return pairs


def text(value: bytes) -> str:
    return value.decode("utf-8", "replace").strip()


def check_reference(value: str, field: str) -> str:
    if not value:
        raise BadRequest(f"{field} is missing")
    if len(value) > REFERENCE_MAX or not value.isprintable():
        raise BadRequest(f"{field} must be 1 to {REFERENCE_MAX} printable characters")
    return value


def parse_quantity(value: str, field: str) -> int:
    value = value.strip() or "1"
    if not value.isdigit() or not 1 <= int(value) <= 1_000_000:
        raise BadRequest(f"{field} must be a whole number of at least 1")
    return int(value)
