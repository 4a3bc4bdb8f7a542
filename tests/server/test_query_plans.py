"""Every look-up on a hot path uses an index, never a scan: checked in the engines' own plans.

Look-up time then stays flat as the tables grow (bench/lookups.py measures it at 10k and 1M).
PostgreSQL prefers a sequential scan on a tiny table, so its plans are read with seqscan
disabled: the question is whether an index CAN serve the query.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peewee
import pg
import pytest
from homes import make_settings

from licensing.service import bind_databases
from licensing.storage.issuance_rows import known_orders_sql
from licensing.storage.models import AuditEvent, License, Order, Profile, database
from licensing.tokens import _BY_HASH


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path, keyring_path: Path) -> Iterator[peewee.Database]:
    settings, names = make_settings(request.param, tmp_path / "home", keyring_path)
    bound = bind_databases(settings)
    try:
        yield bound.main
    finally:
        bound.close()
        for name in names:
            pg.drop_database(name)


def hot_queries(db: peewee.Database) -> dict[str, tuple[str, list[Any]]]:
    def compiled(query: Any, *args: Any) -> tuple[str, list[Any]]:
        sql, params, _ = query._compile(db)
        return sql, [args[p.index] if hasattr(p, "index") else p for p in params]

    index = b"\x01" * 32
    return {
        "token by hash": compiled(_BY_HASH, b"\x02" * 32),
        "stored orders of an import chunk, with their purchaser and licenses": (
            known_orders_sql(db, 2),
            ["A-1", "A-2"],
        ),
        "profile by blind index": Profile.select(Profile.id).where(Profile.email_index == index).sql(),
        "profiles by blind index (batch)": Profile.select(Profile.id)
        .where(Profile.email_index.in_([index, b"\x03" * 32]))
        .sql(),
        "orders by reference (batch)": Order.select(Order.id)
        .where(Order.order_ref.in_(["A-1", "A-2"]))
        .sql(),
        "licenses of orders (batch)": License.select(License.serial).where(License.order.in_([1, 2])).sql(),
        "license by serial (key look-up, revocation check)": License.select()
        .where(License.serial == 42)
        .sql(),
        "orders of a profile (support view)": Order.select().where(Order.profile == 1).sql(),
        "audit history of a profile (export)": AuditEvent.select()
        .where(AuditEvent.target.in_(["profile:x", "order:A-1"]))
        .sql(),
        "revoked licenses (revocation list)": License.select(License.serial)
        .where(License.revoke_time.is_null(False))
        .sql(),
    }


def test_hot_look_ups_use_indexes(db: peewee.Database) -> None:
    assert db is database.obj
    problems = {}
    for name, (sql, params) in hot_queries(db).items():
        if isinstance(db, peewee.SqliteDatabase):
            plan = [row[-1] for row in db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()]
            scans = [line for line in plan if line.startswith("SCAN") and "USING COVERING INDEX" not in line]
        else:
            with db.atomic():
                db.execute_sql("SET LOCAL enable_seqscan = off")
                plan = [row[0] for row in db.execute_sql(f"EXPLAIN {sql}", params).fetchall()]
            scans = [line for line in plan if "Seq Scan" in line]
        if scans:
            problems[name] = plan
    assert problems == {}
