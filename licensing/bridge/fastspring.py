"""FastSpring: the Remote Server Request license generator and webhooks. Pure functions.

License generator: FastSpring posts (or gets) the order's parameters with
`security_request_hash`, the MD5 hex of the values of all other parameters sorted by name,
concatenated, followed by the private key. We answer text/plain, one key per line.

Webhooks: a JSON body `{"events": [...]}` signed in `X-FS-Signature`, the base64 HMAC-SHA256
of the raw body keyed with the webhook secret. Each event is handled on its own; FastSpring
retries the events the answer does not list as processed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .common import (
    REASON_CANCELED,
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
    "WebhookEvent",
    "license_purchase",
    "license_request_hash",
    "license_response",
    "parse_webhook",
    "verify_license_request",
    "verify_webhook",
    "webhook_signature",
]

PROVIDER = "fastspring"
ORDER_PREFIX = "fs:"
HASH_FIELD = "security_request_hash"

_REVOKING_EVENTS = {
    "return.created": REASON_REFUND,
    "chargeback.created": REASON_CHARGEBACK,
    "order.canceled": REASON_CANCELED,
}


def license_request_hash(pairs: Iterable[tuple[str, bytes]], private_key: bytes) -> str:
    """MD5 hex of every parameter's value but the hash's own, sorted by name, then the key."""
    kept = sorted((name, value) for name, value in pairs if name != HASH_FIELD)
    return hashlib.md5(b"".join(value for _, value in kept) + private_key).hexdigest()


def verify_license_request(pairs: Sequence[tuple[str, bytes]], private_keys: Sequence[bytes]) -> None:
    given = [value for name, value in pairs if name == HASH_FIELD]
    if not given or not given[0]:
        raise SignatureMissing(f"{HASH_FIELD} is missing")
    received = text(given[0]).lower()
    for key in private_keys:
        if constant_time_equal(license_request_hash(pairs, key), received):
            return
    raise SignatureInvalid(f"{HASH_FIELD} does not verify")


def license_purchase(pairs: Sequence[tuple[str, bytes]]) -> Purchase:
    """The order a license request describes. Only the fields the license needs are read."""
    fields = {name: text(value) for name, value in pairs}
    email = fields.get("email", "")
    if not email:
        raise BadRequest("email is missing")
    product = fields.get("product", "")
    if not product:
        raise BadRequest("product is missing")
    return Purchase(
        provider=PROVIDER,
        order_ref=ORDER_PREFIX + check_reference(fields.get("reference", ""), "reference"),
        email=email,
        lines=(LineItem((product,), parse_quantity(fields.get("quantity", ""), "quantity")),),
        test_order=fields.get("test", "").lower() in {"true", "1", "yes"},
    )


def license_response(keys: Sequence[str]) -> str:
    return "".join(f"{key}\n" for key in keys)


def webhook_signature(body: bytes, secret: bytes) -> str:
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode("ascii")


def verify_webhook(body: bytes, header: str | None, secrets: Sequence[bytes]) -> None:
    if not header:
        raise SignatureMissing("X-FS-Signature is missing")
    try:
        given = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureInvalid("X-FS-Signature is not base64") from None
    for secret in secrets:
        if constant_time_equal(hmac.new(secret, body, hashlib.sha256).digest(), given):
            return
    raise SignatureInvalid("X-FS-Signature does not verify")


@dataclass(frozen=True)
class WebhookEvent:
    """One event of a webhook post and what it asks for (None: nothing for the bridge to do)."""

    event_id: str
    event_type: str
    action: Purchase | Revocation | None
    error: BadRequest | None = None  # the event could not be used; the others still can


def parse_webhook(body: bytes) -> list[WebhookEvent]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not JSON") from None
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, list):
        raise BadRequest("events is missing")
    parsed = []
    for event in events:
        if not isinstance(event, dict):
            raise BadRequest("an event is not an object")
        event_id, event_type = str(event.get("id") or ""), str(event.get("type") or "")
        if not event_id:
            raise BadRequest("an event has no id")
        try:
            parsed.append(WebhookEvent(event_id, event_type, _event_action(event)))
        except BadRequest as error:
            parsed.append(WebhookEvent(event_id, event_type, None, error))
    return parsed


def _event_action(event: dict[str, Any]) -> Purchase | Revocation | None:
    kind = event.get("type")
    data = event.get("data")
    if not isinstance(data, dict):
        return None
    if kind == "order.completed":
        return _order_purchase(data, live=bool(event.get("live", data.get("live", True))))
    reason = _REVOKING_EVENTS.get(str(kind))
    if reason is None:
        return None
    reference = _original_reference(data)
    return Revocation(ORDER_PREFIX + check_reference(reference, "reference"), reason, f"fastspring {kind}")


def _order_purchase(data: dict[str, Any], *, live: bool) -> Purchase:
    customer = data.get("customer")
    email = customer.get("email") if isinstance(customer, dict) else None
    if not isinstance(email, str) or not email:
        raise BadRequest("customer.email is missing")
    items = data.get("items")
    if not isinstance(items, list) or not items:
        raise BadRequest("items is missing")
    lines = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("product"), str):
            raise BadRequest(f"items[{index}].product is missing")
        lines.append(
            LineItem(
                (item["product"],), parse_quantity(str(item.get("quantity", 1)), f"items[{index}].quantity")
            )
        )
    return Purchase(
        provider=PROVIDER,
        order_ref=ORDER_PREFIX + check_reference(str(data.get("reference") or ""), "reference"),
        email=email,
        lines=tuple(lines),
        test_order=not live,
    )


def _original_reference(data: dict[str, Any]) -> str:
    """The order reference a return, chargeback or cancellation is about.

    A return names its order in `original`; a chargeback in `order`; a canceled order is the
    order itself.
    """
    for key in ("original", "order"):
        nested = data.get(key)
        if isinstance(nested, dict) and isinstance(nested.get("reference"), str):
            return str(nested["reference"])
    reference = data.get("reference")
    return reference if isinstance(reference, str) else ""
