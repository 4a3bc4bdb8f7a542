"""The tables, as Peewee models bound late to one database, so SQLite and PostgreSQL share them.

What is stored, and what is not: a profile holds the purchaser's email only encrypted (under
its own data key, kept in the separate key store) and a keyed digest of it for look-up (the
blind index); an order holds the provider's reference and no payment data at all; a license
holds its terms and its revocation, never its key text (the key is derived again from the
terms and the purchaser's email while the email is held, so an erasure leaves no key behind);
an API token only a hash of the token.
"""

from __future__ import annotations

import datetime as dt

import peewee

__all__ = [
    "MAIN_MODELS",
    "ApiToken",
    "AuditEvent",
    "BaseModel",
    "DataKey",
    "EmailCorrection",
    "KeystoreModel",
    "License",
    "Order",
    "Product",
    "Profile",
    "SigningKeyRecord",
    "SupersededLicense",
    "database",
    "keystore",
    "utcnow",
]

database = peewee.DatabaseProxy()  # the main database, bound at start-up
keystore = peewee.DatabaseProxy()  # the data-key store: a separate database, backed up apart


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


class Product(BaseModel):
    """A product the vendor sells; `number` is what keys carry, `code` what people type."""

    number = peewee.IntegerField(primary_key=True)
    code = peewee.CharField(max_length=40, unique=True)
    name = peewee.CharField(max_length=200)
    create_time = peewee.DateTimeField(default=utcnow)


class Profile(BaseModel):
    """One purchaser. The email is ciphertext; look-up goes through `email_index`."""

    id = peewee.AutoField()

    public_id = peewee.CharField(max_length=32, unique=True)  # opaque, random; names the data key
    email_index = peewee.BlobField(null=True, unique=True)  # keyed digest; NULL once erased
    email_ciphertext = peewee.BlobField(null=True)  # NULL once erased
    create_time = peewee.DateTimeField(default=utcnow)
    erase_time = peewee.DateTimeField(null=True)
    newsletter_subscribed = peewee.BooleanField(default=False)
    newsletter_change_time = peewee.DateTimeField(null=True)
    newsletter_source = peewee.CharField(max_length=64, null=True)  # only "checkout"; staff's text is sealed
    newsletter_source_sealed = peewee.BlobField(null=True)  # under the data key


class Order(BaseModel):
    """An order as the e-commerce provider reported it: its reference and nothing of payment."""

    id = peewee.AutoField()
    profile_id: int  # set by Peewee for the foreign key below

    order_ref = peewee.CharField(max_length=64, unique=True)
    provider = peewee.CharField(max_length=32)
    profile = peewee.ForeignKeyField(Profile, backref="orders", on_delete="RESTRICT")
    order_time = peewee.DateTimeField()
    test_order = peewee.BooleanField(default=False)
    create_time = peewee.DateTimeField(default=utcnow)


class License(BaseModel):
    """A license: one per (order, product), enforced by a unique index across replicas."""

    order_id: int  # set by Peewee for the foreign keys below
    product_id: int

    serial = peewee.BigIntegerField(primary_key=True)  # 48-bit, derived from order and product
    order = peewee.ForeignKeyField(Order, backref="licenses", on_delete="RESTRICT")
    product = peewee.ForeignKeyField(Product, backref="licenses", on_delete="RESTRICT")
    key_id = peewee.IntegerField()
    issued = peewee.DateField()
    expires = peewee.DateField(null=True)
    updates_until = peewee.DateField(null=True)
    seats = peewee.IntegerField()
    edition = peewee.IntegerField()
    flags = peewee.IntegerField()
    create_time = peewee.DateTimeField(default=utcnow)
    revoke_time = peewee.DateTimeField(null=True, index=True)
    revocation_reason = peewee.CharField(max_length=16, null=True)
    revocation_note = peewee.CharField(max_length=200, null=True)  # schema 2 only: sealed at start-up
    revocation_note_sealed = peewee.BlobField(null=True)  # under the purchaser's data key

    class Meta:
        indexes = ((("order", "product"), True),)


class SigningKeyRecord(BaseModel):
    """Every signing key a server has run with, as the database last saw it (keyring_ledger.py)."""

    key_id = peewee.IntegerField(primary_key=True)
    public_key = peewee.BlobField()
    status = peewee.CharField(max_length=16)
    record_time = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "signing_key"


class SupersededLicense(BaseModel):
    """A serial replaced by a new one when the purchaser's email was corrected: its key (bound to
    the former address) is revoked, and listed in every revocation list from then on."""

    order_id: int
    product_id: int

    serial = peewee.BigIntegerField(primary_key=True)
    order = peewee.ForeignKeyField(Order, on_delete="RESTRICT")
    product = peewee.ForeignKeyField(Product, on_delete="RESTRICT")
    key_id = peewee.IntegerField()
    replaced_by = peewee.BigIntegerField()
    supersede_time = peewee.DateTimeField(default=utcnow)


class EmailCorrection(BaseModel):
    """The blind index of an address a profile moved away from, so that the order system's retry
    with the former address is told EMAIL_CORRECTED. Deleted when the profile is erased."""

    profile_id: int

    id = peewee.AutoField()
    profile = peewee.ForeignKeyField(Profile, on_delete="RESTRICT")
    former_index = peewee.BlobField(index=True)
    correct_time = peewee.DateTimeField(default=utcnow)


class ApiToken(BaseModel):
    """A caller's credential. Only the SHA-256 of the token is kept; the token is shown once."""

    id = peewee.AutoField()

    name = peewee.CharField(max_length=64, unique=True)
    role = peewee.CharField(max_length=16)
    token_hash = peewee.BlobField(unique=True)
    create_time = peewee.DateTimeField(default=utcnow)
    revoke_time = peewee.DateTimeField(null=True)


class AuditEvent(BaseModel):
    """Append-only record of issuance, revocation and support actions; never an email."""

    id = peewee.AutoField()

    time = peewee.DateTimeField(default=utcnow, index=True)
    actor = peewee.CharField(max_length=64)  # the token's name
    action = peewee.CharField(max_length=32, index=True)
    target = peewee.CharField(max_length=120, index=True)  # e.g. "order:A-17", "profile:3f2a…"
    detail = peewee.CharField(max_length=200, default="")


class KeystoreModel(peewee.Model):
    class Meta:
        database = keystore
        legacy_table_names = False


class DataKey(KeystoreModel):
    """A profile's data key, wrapped by the master key. Deleting the row shreds the email."""

    profile_public_id = peewee.CharField(max_length=32, primary_key=True)
    wrapped_key = peewee.BlobField()
    create_time = peewee.DateTimeField(default=utcnow)


MAIN_MODELS: tuple[type[BaseModel], ...] = (
    Product, Profile, Order, License, SupersededLicense, EmailCorrection, SigningKeyRecord, ApiToken, AuditEvent,
)  # fmt: skip
