"""The first schema: products, profiles, orders, licenses, API tokens and the audit log."""

from __future__ import annotations

import datetime as dt

import peewee
from playhouse.migrate import SchemaMigrator


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def up(migrator: SchemaMigrator, db: peewee.Database) -> None:
    class Base(peewee.Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Product(Base):
        number = peewee.IntegerField(primary_key=True)
        code = peewee.CharField(max_length=40, unique=True)
        name = peewee.CharField(max_length=200)
        create_time = peewee.DateTimeField(default=_now)

    class Profile(Base):
        public_id = peewee.CharField(max_length=32, unique=True)
        email_index = peewee.BlobField(null=True, unique=True)
        email_ciphertext = peewee.BlobField(null=True)
        create_time = peewee.DateTimeField(default=_now)
        erase_time = peewee.DateTimeField(null=True)
        newsletter_subscribed = peewee.BooleanField(default=False)
        newsletter_change_time = peewee.DateTimeField(null=True)
        newsletter_source = peewee.CharField(max_length=64, null=True)

    class Order(Base):
        order_ref = peewee.CharField(max_length=64, unique=True)
        provider = peewee.CharField(max_length=32)
        profile = peewee.ForeignKeyField(Profile, on_delete="RESTRICT")
        order_time = peewee.DateTimeField()
        test_order = peewee.BooleanField(default=False)
        create_time = peewee.DateTimeField(default=_now)

    class License(Base):
        serial = peewee.BigIntegerField(primary_key=True)
        order = peewee.ForeignKeyField(Order, on_delete="RESTRICT")
        product = peewee.ForeignKeyField(Product, on_delete="RESTRICT")
        key_id = peewee.IntegerField()
        key_text = peewee.CharField(max_length=160)
        issued = peewee.DateField()
        expires = peewee.DateField(null=True)
        updates_until = peewee.DateField(null=True)
        seats = peewee.IntegerField()
        edition = peewee.IntegerField()
        flags = peewee.IntegerField()
        create_time = peewee.DateTimeField(default=_now)
        revoke_time = peewee.DateTimeField(null=True)
        revocation_reason = peewee.CharField(max_length=16, null=True)
        revocation_note = peewee.CharField(max_length=200, null=True)

        class Meta:
            indexes = ((("order", "product"), True),)

    class ApiToken(Base):
        name = peewee.CharField(max_length=64, unique=True)
        role = peewee.CharField(max_length=16)
        token_hash = peewee.BlobField(unique=True)
        create_time = peewee.DateTimeField(default=_now)
        revoke_time = peewee.DateTimeField(null=True)

    class AuditEvent(Base):
        time = peewee.DateTimeField(default=_now, index=True)
        actor = peewee.CharField(max_length=64)
        action = peewee.CharField(max_length=32, index=True)
        target = peewee.CharField(max_length=120)
        detail = peewee.CharField(max_length=200, default="")

    db.create_tables([Product, Profile, Order, License, ApiToken, AuditEvent])
