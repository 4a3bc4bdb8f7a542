"""From a provider's order to the IssueLicense calls that fulfil it. Pure.

Order IDs are derived, never stored, so a retry (or the IPN after the key generator, or the
webhook after the license request) asks for exactly the same licenses:

    one key for all units        <prefix>:<reference>            seats = Σ quantity × seats_per_unit
    one key per unit             <prefix>:<reference>:<n>        n = 1, 2, … per product in the order

The product is part of the server's idempotency key (order ID, product), so the lines of one
order that map to different products never collide. Units of one product are numbered across
the order's lines in the order the provider lists them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from .common import BadRequest, Purchase
from .config import ProductMapping

__all__ = ["KeyRequest", "plan_keys", "unit_order_id"]

ORDER_ID_MAX = 64


@dataclass(frozen=True)
class KeyRequest:
    order_id: str
    product: str
    seats: int
    expires: dt.date | None
    updates_until: dt.date | None
    edition: int
    feature_flags: int


def unit_order_id(order_ref: str, unit: int) -> str:
    return f"{order_ref}:{unit}"


def plan_keys(
    purchase: Purchase, products: Mapping[str, ProductMapping], *, today: dt.date, max_keys_per_line: int
) -> list[KeyRequest]:
    """The keys `purchase` asks for, in the order of its lines. Unmapped lines are skipped:
    the vendor may sell things through the same account that need no license key."""
    anchor = dt.date.fromisoformat(purchase.order_date) if purchase.order_date else today
    seats: dict[str, tuple[ProductMapping, int]] = {}
    units: dict[str, tuple[ProductMapping, int]] = {}
    order: list[tuple[str, bool]] = []
    for line in purchase.lines:
        mapping = next((products[code] for code in line.codes if code in products), None)
        if mapping is None:
            continue
        table = units if mapping.key_per_unit else seats
        if mapping.product not in table:
            order.append((mapping.product, mapping.key_per_unit))
            table[mapping.product] = (mapping, 0)
        first, count = table[mapping.product]
        added = line.quantity if mapping.key_per_unit else line.quantity * mapping.seats_per_unit
        table[mapping.product] = (first, count + added)

    keys: list[KeyRequest] = []
    for product, per_unit in order:
        mapping, count = (units if per_unit else seats)[product]
        terms = (
            mapping.expire_date(anchor),
            mapping.updates_date(anchor),
            mapping.edition,
            mapping.feature_flags,
        )
        if not per_unit:
            if count > 0xFFFF:
                raise BadRequest("the quantity gives more than 65535 seats")
            keys.append(KeyRequest(_checked(purchase.order_ref), product, count, *terms))
            continue
        if count > max_keys_per_line:
            raise BadRequest(f"the quantity asks for more than {max_keys_per_line} keys (max_keys_per_line)")
        keys.extend(
            KeyRequest(_checked(unit_order_id(purchase.order_ref, n)), product, 1, *terms)
            for n in range(1, count + 1)
        )
    return keys


def _checked(order_id: str) -> str:
    if len(order_id) > ORDER_ID_MAX:
        raise BadRequest("the provider's order reference is too long for an order ID")
    return order_id
