"""The signing keys the database has seen, so a keyring restored from before a rotation is noticed."""

from __future__ import annotations

import datetime as dt

import peewee
from playhouse.migrate import SchemaMigrator


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def up(migrator: SchemaMigrator, db: peewee.Database) -> None:
    class SigningKey(peewee.Model):
        key_id = peewee.IntegerField(primary_key=True)
        public_key = peewee.BlobField()
        status = peewee.CharField(max_length=16)
        record_time = peewee.DateTimeField(default=_now)

        class Meta:
            database = db
            table_name = "signing_key"

    db.create_tables([SigningKey])
