"""License keys are no longer stored; email corrections get their own tables.

- license.key_text is dropped: a key is derived again, while the purchaser's email is held,
  from the license's terms and the email (signing is deterministic), so a copy of the database
  taken after an erasure holds no key that a candidate email could be checked against. The
  existing text is first blanked so that PostgreSQL's DROP COLUMN (which only hides the column)
  leaves no readable value in the live rows; `after` then rewrites the table (VACUUM FULL on
  PostgreSQL; on SQLite, secure_delete has zeroed the freed space and a checkpoint empties the
  write-ahead log).
- superseded_license: serials replaced when an email was corrected (revoked for good).
- email_correction: blind indexes of former addresses, so a retry with one is told why it fails.
- license.revocation_note_sealed, profile.newsletter_source_sealed: staff's free text about the
  purchaser, sealed under their data key. The migration has no keyring, so text written under
  schema 2 is sealed by the server's first start (ProfileStore.seal_legacy_text).
- audit_event: consent entries drop the source staff typed ("newsletter on via …"); the audit
  log names actions and pseudonymous targets only.
"""

from __future__ import annotations

import datetime as dt
import logging

import peewee
from playhouse.migrate import SchemaMigrator, migrate


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def up(migrator: SchemaMigrator, db: peewee.Database) -> None:
    class Base(peewee.Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Product(Base):
        number = peewee.IntegerField(primary_key=True)

    class Profile(Base):
        pass

    class Order(Base):
        pass

    class SupersededLicense(Base):
        serial = peewee.BigIntegerField(primary_key=True)
        order = peewee.ForeignKeyField(Order, on_delete="RESTRICT")
        product = peewee.ForeignKeyField(Product, on_delete="RESTRICT")
        key_id = peewee.IntegerField()
        replaced_by = peewee.BigIntegerField()
        supersede_time = peewee.DateTimeField(default=_now)

    class EmailCorrection(Base):
        profile = peewee.ForeignKeyField(Profile, on_delete="RESTRICT")
        former_index = peewee.BlobField(index=True)
        correct_time = peewee.DateTimeField(default=_now)

    db.create_tables([SupersededLicense, EmailCorrection])
    migrate(
        migrator.add_column("license", "revocation_note_sealed", peewee.BlobField(null=True)),
        migrator.add_column("profile", "newsletter_source_sealed", peewee.BlobField(null=True)),
    )
    for state in ("on", "off"):
        db.execute_sql(
            "UPDATE \"audit_event\" SET detail = %s WHERE action = 'consent' AND detail LIKE %s".replace(
                "%s", db.param
            ),
            (f"newsletter {state}", f"newsletter {state}%"),
        )
    db.execute_sql("UPDATE \"license\" SET key_text = ''")
    migrate(migrator.drop_column("license", "key_text"))


def after(db: peewee.Database) -> None:
    """Outside the migration's transaction: make the dropped key text unreadable in the files."""
    from ..database import CheckpointBusy, purge_deleted_rows

    try:
        purge_deleted_rows(db, "license", "audit_event", rewrite=True, attempts=10)
    except CheckpointBusy:
        logging.getLogger("licensing.storage").warning(
            "migration 3: old key text may remain in the files until another session ends; "
            'run VACUUM FULL "license" (PostgreSQL) or PRAGMA wal_checkpoint(TRUNCATE) (SQLite) later'
        )
