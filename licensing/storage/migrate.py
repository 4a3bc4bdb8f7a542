"""Applies the numbered migrations to the main database and the key store.

Several replicas may start at once against one PostgreSQL database: the whole run holds a
transaction-scoped advisory lock there (SQLite's BEGIN IMMEDIATE serialises it already), and
each step re-checks what is recorded before applying anything.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import peewee
from playhouse.migrate import SchemaMigrator

from . import migrations
from .models import DataKey

__all__ = ["Migration", "applied_versions", "migrate_keystore", "migrate_main", "pending_migrations"]

_ADVISORY_LOCK = 0x4C494353  # "LICS": one number for this application's migrations


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    up: Callable[[SchemaMigrator, peewee.Database], None]
    # Work that cannot run inside a transaction (VACUUM), run once the migration has committed.
    after: Callable[[peewee.Database], None] | None = None


def _discover() -> list[Migration]:
    found = []
    for info in pkgutil.iter_modules(migrations.__path__):
        if info.name.startswith("m") and info.name[1:5].isdigit():
            module = importlib.import_module(f"{migrations.__name__}.{info.name}")
            found.append(
                Migration(int(info.name[1:5]), info.name[6:], module.up, getattr(module, "after", None))
            )
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError("migrations must be numbered 1, 2, 3, … without gaps")
    return found


MIGRATIONS = _discover()


def _history_table(db: peewee.Database) -> type[peewee.Model]:
    class SchemaMigration(peewee.Model):
        version = peewee.IntegerField(primary_key=True)
        name = peewee.CharField(max_length=100)
        applied_time = peewee.DateTimeField()

        class Meta:
            database = db
            table_name = "schema_migration"

    return SchemaMigration


def applied_versions(db: peewee.Database) -> set[int]:
    history = _history_table(db)
    if not db.table_exists(history._meta.table_name):
        return set()
    return {version for (version,) in db.execute_sql('SELECT version FROM "schema_migration"').fetchall()}


def pending_migrations(db: peewee.Database) -> list[Migration]:
    done = applied_versions(db)
    return [m for m in MIGRATIONS if m.version not in done]


def migrate_main(db: peewee.Database, *, up_to: int | None = None) -> list[Migration]:
    """Apply every pending migration (or those up to version `up_to`, for tests of a migration);
    return those applied (empty when up to date)."""
    history = _history_table(db)
    applied: list[Migration] = []
    with db.atomic():
        if isinstance(db, peewee.PostgresqlDatabase):
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK,))
        db.create_tables([history], safe=True)
        migrator = SchemaMigrator.from_database(db)
        for migration in pending_migrations(db):
            if up_to is not None and migration.version > up_to:
                break
            migration.up(migrator, db)
            history.create(
                version=migration.version,
                name=migration.name,
                applied_time=dt.datetime.now(dt.UTC).replace(tzinfo=None),
            )
            applied.append(migration)
    for migration in applied:
        if migration.after is not None:
            migration.after(db)
    return applied


def migrate_keystore(db: peewee.Database) -> None:
    """The key store has one table; creating it is idempotent."""
    with DataKey.bind_ctx(db):
        db.create_tables([DataKey], safe=True)
