"""The set-wise reads the issuance writer makes for a whole group, one statement each.

Plain SQL built from the models (see compiled.py: building Peewee queries per group would cost the
single writer thread more than running them). The rules that use them live in issuance_batch.py.
"""

from __future__ import annotations

from typing import Any

import peewee

from .compiled import select_in
from .models import License, Order, Profile, database

__all__ = ["licenses_of_orders", "orders_by_ref", "profiles_by_index", "serials_of_orders"]

_LICENSE_FIELDS = License._meta.sorted_fields


def profiles_by_index(indexes: set[bytes], *, hold: bool = False) -> dict[bytes, tuple[int, bool]]:
    """Blind index -> (profile id, subscribed to the newsletter).

    `hold`: on PostgreSQL, keep the rows found from changing their blind index (an email
    correction, an erasure) until this transaction ends, so that what the writer builds on them
    cannot commit past such a change unseen. SQLite runs one write transaction at a time already.
    """
    db = database.obj
    rows = select_in(
        db,
        [Profile.id, Profile.email_index, Profile.newsletter_subscribed],
        Profile.email_index,
        list(indexes),
        " FOR KEY SHARE" if hold and isinstance(db, peewee.PostgresqlDatabase) else "",
    )
    return {bytes(index): (pid, subscribed) for pid, index, subscribed in rows}


def orders_by_ref(refs: set[str]) -> dict[str, tuple[int, int, bool]]:
    """Order reference -> (order id, profile id, test order)."""
    rows = select_in(
        database.obj,
        [Order.order_ref, Order.id, Order.profile, Order.test_order],
        Order.order_ref,
        list(refs),
    )
    return {ref: (oid, profile_id, test) for ref, oid, profile_id, test in rows}


def licenses_of_orders(order_ids: set[int]) -> dict[tuple[int, int], dict[str, Any]]:
    """(order id, product number) -> the license row, every field by name."""
    rows = select_in(database.obj, _LICENSE_FIELDS, License.order, list(order_ids))
    found = (dict(zip((f.name for f in _LICENSE_FIELDS), row, strict=True)) for row in rows)
    return {(row["order"], row["product"]): row for row in found}


def serials_of_orders(order_ids: set[int]) -> dict[tuple[int, int], int]:
    """Which serial holds each (order, product): all a freshly inserted row needs to be told apart."""
    rows = select_in(
        database.obj, [License.order, License.product, License.serial], License.order, list(order_ids)
    )
    return {(order, product): serial for order, product, serial in rows}
