"""The set-wise statements of the issuance writer (issuance_writer.py): reads and inserts for a whole
group, one statement each.

Plain SQL built from the models (see compiled.py: building Peewee queries per group would cost the
single writer thread more than running them). The rules that use them live in issuance_rules.py, the writer in issuance_writer.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from itertools import chain
from typing import Any, NamedTuple

import peewee

from .compiled import select_in
from .models import License, Order, Profile, database

__all__ = [
    "KnownOrder",
    "group_time",
    "insert_rows",
    "known_orders",
    "known_orders_sql",
    "licenses_of_orders",
    "orders_by_ref",
    "profiles_by_index",
]

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


# -- inserts from parameter tuples, and the import's look-up of stored orders ---------------------

_BATCH = 1000  # rows per INSERT: well under SQLite's 32,766 parameters at a dozen columns


def insert_rows(
    db: peewee.Database,
    model: type[peewee.Model],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """INSERT rows given as tuples of plain values in `columns`' order, skipping any row that
    violates a unique key (ON CONFLICT DO NOTHING, the same in SQLite and PostgreSQL); with
    `returning`, those columns of the rows inserted (not of those skipped), as the driver gives them.

    No conversion per value: the writer builds each tuple with the values both drivers take as
    they are (int, str, bool, bytes, date, datetime), which is what the fields' db_value gives."""
    if not rows:
        return []
    fields = [model._meta.fields[name] for name in columns]
    names = ", ".join(f'"{f.column_name}"' for f in fields)
    row_marks = "(" + ", ".join([db.param] * len(fields)) + ")"
    head = f'INSERT INTO "{model._meta.table_name}" ({names}) VALUES '
    tail = " ON CONFLICT DO NOTHING"
    if returning:
        tail += " RETURNING " + ", ".join(f'"{model._meta.fields[n].column_name}"' for n in returning)
    inserted: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), _BATCH):
        part = rows[start : start + _BATCH]
        cursor = db.execute_sql(
            head + ", ".join([row_marks] * len(part)) + tail, list(chain.from_iterable(part))
        )
        if returning:
            inserted += cursor.fetchall()
    return inserted


def group_time(db: peewee.Database, now: dt.datetime) -> dt.datetime | str:
    """The one timestamp of a group's rows as a parameter: for SQLite already as the text its
    driver would make of it (datetime.isoformat(" ")), so that it is formatted once, not per row."""
    return now.isoformat(" ") if isinstance(db, peewee.SqliteDatabase) else now


class KnownOrder(NamedTuple):
    """An order already stored: its profile's blind index (None once erased) and its licenses."""

    order_id: int
    profile_id: int
    test_order: bool
    email_index: bytes | None
    licenses: dict[int, dict[str, Any]]  # product number -> the license's terms and issue day


_KNOWN_LICENSE_FIELDS: tuple[peewee.Field, ...] = (
    License.product,
    License.serial,
    License.key_id,
    License.issued,
    License.expires,
    License.updates_until,
    License.seats,
    License.edition,
    License.flags,
)


def known_orders_sql(db: peewee.Database, count: int) -> str:
    """known_orders' statement for `count` references (tests/server/test_query_plans.py reads its plan)."""
    license_columns = ", ".join(f'l."{f.column_name}"' for f in _KNOWN_LICENSE_FIELDS)
    return (
        f'SELECT o."{Order.order_ref.column_name}", o."{Order.id.column_name}", '
        f'o."{Order.profile.column_name}", o."{Order.test_order.column_name}", '
        f'p."{Profile.email_index.column_name}", {license_columns} '
        f'FROM "{Order._meta.table_name}" AS o '
        f'JOIN "{Profile._meta.table_name}" AS p ON p."{Profile.id.column_name}" = o."{Order.profile.column_name}" '
        f'LEFT JOIN "{License._meta.table_name}" AS l ON l."{License.order.column_name}" = o."{Order.id.column_name}" '
        f'WHERE o."{Order.order_ref.column_name}" IN ({", ".join([db.param] * count)})'
    )


def known_orders(refs: Sequence[str]) -> dict[str, KnownOrder]:
    """Which of these order references are stored, with their purchaser's index and licenses:
    one statement, so that a re-run of an import learns what exists before preparing anything."""
    if not refs:
        return {}
    db = database.obj
    found: dict[str, KnownOrder] = {}
    for start in range(0, len(refs), _BATCH):
        part = refs[start : start + _BATCH]
        cursor = db.execute_sql(known_orders_sql(db, len(part)), list(part))
        for ref, order_id, profile_id, test_order, index, *stored in cursor.fetchall():
            known = found.get(ref)
            if known is None:
                known = found[ref] = KnownOrder(
                    order_id,
                    profile_id,
                    Order.test_order.python_value(test_order),
                    None if index is None else bytes(index),
                    {},
                )
            if stored[0] is not None:
                row = {f.name: f.python_value(v) for f, v in zip(_KNOWN_LICENSE_FIELDS, stored, strict=True)}
                known.licenses[row["product"]] = row
    return found
