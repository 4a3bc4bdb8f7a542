"""Trends from the database: licenses issued and revoked per day, counted in SQL.

Only aggregates leave this module: a day, a product code, a provider or revocation reason, and
a count. The grouping happens in the database, so no row about a purchaser is ever read here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

import peewee

from .metrics import provider_label
from .storage.models import License, Order, Product

__all__ = ["DailyCount", "issued_per_day", "revoked_per_day"]


@dataclass(frozen=True, slots=True)
class DailyCount:
    day: dt.date
    product: str
    category: str  # the provider for issued licenses, the revocation reason for revoked ones
    count: int


def _day(value: object) -> dt.date:
    # SQLite's DATE() gives text, PostgreSQL's a date.
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _merge(rows: list[tuple[object, str, str, int]]) -> list[DailyCount]:
    """Rows whose category maps to the same label (providers outside the known set) are added."""
    merged: dict[tuple[dt.date, str, str], int] = {}
    for day, product, category, count in rows:
        key = (_day(day), product, category)
        merged[key] = merged.get(key, 0) + int(count)
    return [
        DailyCount(day, product, category, count)
        for (day, product, category), count in sorted(merged.items())
    ]


def issued_per_day(start: dt.date, end: dt.date) -> list[DailyCount]:
    """Licenses issued on days start..end (inclusive), test orders excluded."""
    count = peewee.fn.COUNT(License.serial)
    query = (
        License.select(License.issued, Product.code, Order.provider, count)
        .join(Product, on=License.product == Product.number)
        .switch(License)
        .join(Order, on=License.order == Order.id)
        .where(License.issued.between(start, end) & ~Order.test_order)
        .group_by(License.issued, Product.code, Order.provider)
        .tuples()
    )
    rows = cast(list[tuple[Any, str, str, int]], list(query))
    return _merge([(day, code, provider_label(provider), n) for day, code, provider, n in rows])


def revoked_per_day(start: dt.date, end: dt.date) -> list[DailyCount]:
    """Licenses revoked on days start..end (inclusive, UTC), by product and reason."""
    day = peewee.fn.DATE(License.revoke_time)
    query = (
        License.select(day, Product.code, License.revocation_reason, peewee.fn.COUNT(License.serial))
        .join(Product, on=License.product == Product.number)
        .where(
            License.revoke_time.is_null(False)
            & (License.revoke_time >= dt.datetime.combine(start, dt.time()))
            & (License.revoke_time < dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
        )
        .group_by(day, Product.code, License.revocation_reason)
        .tuples()
    )
    rows = cast(list[tuple[Any, str, str | None, int]], list(query))
    return _merge([(d, code, reason or "other", n) for d, code, reason, n in rows])
