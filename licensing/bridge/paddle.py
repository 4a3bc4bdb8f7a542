"""Paddle: Billing webhooks and the Classic fulfillment webhook. Pure functions.

Billing: `Paddle-Signature: ts=…;h1=…` is the hex HMAC-SHA256 of `ts + ":" + raw body`, keyed
with the endpoint's secret key exactly as Paddle shows it (the whole `pdl_ntf_…` string). While
a secret is being rotated Paddle sends one `h1` per secret; any that verifies will do. A `ts`
outside the tolerance is refused, so a captured post cannot be replayed later.

Classic: `p_signature` is an RSA PKCS#1 v1.5 / SHA-1 signature, by the vendor's Paddle key,
over the PHP `serialize()` of the other fields sorted by name (every value a string).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..errors import ConfigurationError
from .common import (
    REASON_CHARGEBACK,
    REASON_REFUND,
    BadRequest,
    LineItem,
    Purchase,
    Revocation,
    SignatureInvalid,
    SignatureMissing,
    check_reference,
    constant_time_equal,
    parse_quantity,
    text,
)

__all__ = [
    "PROVIDER",
    "BillingEvent",
    "ClassicRequest",
    "billing_signature",
    "classic_request",
    "load_public_key",
    "parse_billing_event",
    "php_serialize",
    "verify_billing",
    "verify_classic",
]

PROVIDER = "paddle"
BILLING_PREFIX = "paddle:"
CLASSIC_PREFIX = "paddle-classic:"

_ADJUSTMENT_REASONS = {"refund": REASON_REFUND, "chargeback": REASON_CHARGEBACK}


def billing_signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(secret, timestamp.encode("ascii") + b":" + body, hashlib.sha256).hexdigest()


def verify_billing(
    body: bytes, header: str | None, secrets: Sequence[bytes], *, now: float | None, tolerance: int
) -> None:
    """Check `Paddle-Signature`. `now` is the current Unix time, or None to skip the time check."""
    if not header:
        raise SignatureMissing("Paddle-Signature is missing")
    timestamp, signatures = "", []
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == "ts":
            timestamp = value
        elif name == "h1":
            signatures.append(value.lower())
    if not timestamp.isdigit() or not signatures:
        raise SignatureInvalid("Paddle-Signature has no ts or no h1")
    if now is not None and abs(now - int(timestamp)) > tolerance:
        raise SignatureInvalid("Paddle-Signature ts is outside the tolerance")
    for secret in secrets:
        expected = billing_signature(secret, timestamp, body)
        # Every h1 is compared, whether or not an earlier one matched: no timing on which did.
        if sum(constant_time_equal(expected, given) for given in signatures):
            return
    raise SignatureInvalid("Paddle-Signature does not verify")


@dataclass(frozen=True)
class BillingEvent:
    """A Billing notification and what it asks for. `customer_id` is set when the email must be
    read from Paddle's API (webhooks carry the customer's ID, not the address)."""

    event_id: str
    event_type: str
    action: Purchase | Revocation | None
    customer_id: str | None = None


def parse_billing_event(body: bytes, *, sandbox: bool) -> BillingEvent:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        raise BadRequest("data is missing")
    event_type = str(document.get("event_type") or "")
    event_id = str(document.get("event_id") or document.get("notification_id") or "")
    data: dict[str, Any] = document["data"]
    if event_type == "transaction.completed":
        purchase, customer_id = _transaction_purchase(data, sandbox=sandbox)
        return BillingEvent(event_id, event_type, purchase, customer_id)
    if event_type in {"adjustment.created", "adjustment.updated"}:
        return BillingEvent(
            event_id, event_type, _adjustment_revocation(data, created=event_type.endswith("created"))
        )
    return BillingEvent(event_id, event_type, None)


def _transaction_purchase(data: dict[str, Any], *, sandbox: bool) -> tuple[Purchase, str | None]:
    reference = BILLING_PREFIX + check_reference(str(data.get("id") or ""), "data.id")
    items = data.get("items")
    if not isinstance(items, list) or not items:
        raise BadRequest("data.items is missing")
    lines = []
    for index, item in enumerate(items):
        price = item.get("price") if isinstance(item, dict) else None
        if not isinstance(price, dict):
            raise BadRequest(f"data.items[{index}].price is missing")
        codes = tuple(str(code) for code in (price.get("id"), price.get("product_id")) if code)
        lines.append(
            LineItem(codes, parse_quantity(str(item.get("quantity", 1)), f"data.items[{index}].quantity"))
        )
    customer = data.get("customer")
    email = customer.get("email") if isinstance(customer, dict) else None
    customer_id = data.get("customer_id")
    if not email and not (isinstance(customer_id, str) and customer_id):
        raise BadRequest("data.customer_id is missing")
    billed = str(data.get("billed_at") or data.get("created_at") or "")
    purchase = Purchase(
        provider=PROVIDER,
        order_ref=reference,
        email=str(email or ""),
        lines=tuple(lines),
        test_order=sandbox,
        order_date=_iso_date(billed),
    )
    return purchase, None if email else str(customer_id)


def _adjustment_revocation(data: dict[str, Any], *, created: bool) -> Revocation | None:
    """A refund or chargeback revokes. A refund that Paddle rejects, a partial refund, or an
    update that is not the approval, does not."""
    reason = _ADJUSTMENT_REASONS.get(str(data.get("action") or ""))
    status = str(data.get("status") or "")
    if reason is None or status == "rejected" or data.get("type") == "partial":
        return None
    if not created and status != "approved":
        return None
    reference = BILLING_PREFIX + check_reference(str(data.get("transaction_id") or ""), "data.transaction_id")
    return Revocation(reference, reason, f"paddle adjustment {data.get('action')}")


def _iso_date(value: str) -> str | None:
    try:
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def customer_email(document: Any) -> str:
    """The email in Paddle's `GET /customers/{id}` answer."""
    data = document.get("data") if isinstance(document, dict) else None
    email = data.get("email") if isinstance(data, dict) else None
    if not isinstance(email, str) or not email:
        raise BadRequest("Paddle's customer record has no email")
    return email


# -- Classic -------------------------------------------------------------------------------


def php_serialize(fields: Mapping[str, str]) -> bytes:
    """PHP's serialize() of an array of strings, keys in the given order; lengths in bytes."""

    def string(value: str) -> bytes:
        raw = value.encode("utf-8")
        return b's:%d:"%s";' % (len(raw), raw)

    body = b"".join(string(key) + string(value) for key, value in fields.items())
    return b"a:%d:{%s}" % (len(fields), body)


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise ConfigurationError("paddle.classic_public_key_file is not a PEM public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigurationError("paddle.classic_public_key_file must hold an RSA public key (PEM)")
    return key


def verify_classic(pairs: Sequence[tuple[str, bytes]], public_key: rsa.RSAPublicKey) -> None:
    fields = {name: value.decode("utf-8", "replace") for name, value in pairs}
    encoded = fields.pop("p_signature", "")
    if not encoded:
        raise SignatureMissing("p_signature is missing")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureInvalid("p_signature is not base64") from None
    message = php_serialize(dict(sorted(fields.items())))
    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA1())
    except InvalidSignature:
        raise SignatureInvalid("p_signature does not verify") from None


@dataclass(frozen=True)
class ClassicRequest:
    """A Classic post: the fulfillment webhook (a purchase whose key we answer with) or an
    alert (a refund or dispute to revoke)."""

    action: Purchase | Revocation | None
    alert: str = ""


def classic_request(pairs: Sequence[tuple[str, bytes]], *, sandbox: bool) -> ClassicRequest:
    fields = {name: text(value) for name, value in pairs}
    alert = fields.get("alert_name", "")
    if alert:
        reference = CLASSIC_PREFIX + check_reference(fields.get("order_id", ""), "order_id")
        if alert == "payment_refunded" and fields.get("refund_type", "full") == "full":
            return ClassicRequest(
                Revocation(reference, REASON_REFUND, "paddle classic payment_refunded"), alert
            )
        if alert == "payment_dispute_created":
            return ClassicRequest(
                Revocation(reference, REASON_CHARGEBACK, "paddle classic payment_dispute_created"), alert
            )
        return ClassicRequest(None, alert)
    email = fields.get("email", "")
    if not email:
        raise BadRequest("email is missing")
    product = fields.get("p_product_id", "")
    if not product:
        raise BadRequest("p_product_id is missing")
    purchase = Purchase(
        provider=PROVIDER,
        order_ref=CLASSIC_PREFIX + check_reference(fields.get("p_order_id", ""), "p_order_id"),
        email=email,
        lines=(LineItem((product,), parse_quantity(fields.get("p_quantity", ""), "p_quantity")),),
        test_order=sandbox,
        order_date=_iso_date(fields.get("event_time", "")),
    )
    return ClassicRequest(purchase)
