"""The database remembers every signing key it has run with; a keyring older than it is refused.

The keyring is a file, backed up and restored apart from the database. Restored from before a
rotation, it would bring a retired key back to life, or lack the newest key so that the next
`keys generate` hands out a key ID that customers' programs already trust for another key.
Each start compares the keyring with the keys recorded in the database, refuses to serve on a
keyring that is behind it, and then records what it runs with.
"""

from __future__ import annotations

import hmac

from .errors import ConfigurationError
from .keyring import Keyring
from .storage.models import SigningKeyRecord, database, utcnow

__all__ = ["KeyringBehindDatabase", "reconcile"]


class KeyringBehindDatabase(ConfigurationError):
    """The keyring file is older than the database (restored from an old backup, or another home's)."""


def reconcile(keyring: Keyring) -> None:
    """Refuse a keyring that lacks, changes or revives a key the database has seen; then record it."""
    current = {key.key_id: key for key in keyring.keys}
    with database.atomic():
        for row in SigningKeyRecord.select().order_by(SigningKeyRecord.key_id):
            key = current.get(row.key_id)
            if key is None:
                raise KeyringBehindDatabase(
                    f"the keyring lacks signing key {row.key_id}, which this database has recorded: it is "
                    "older than the database (restored from a backup taken before a rotation?); restore "
                    "the newest keyring backup"
                )
            if not hmac.compare_digest(bytes(row.public_key), key.public_key):
                raise KeyringBehindDatabase(
                    f"signing key {row.key_id} in the keyring is not the key this database recorded under "
                    "that ID: this keyring belongs to another home or an older set-up"
                )
            if row.status == "retired" and key.status != "retired":
                raise KeyringBehindDatabase(
                    f"signing key {row.key_id} was retired, but this keyring has it {key.status}: it is older "
                    "than the database; restore the newest keyring backup"
                )
        for key in current.values():
            SigningKeyRecord.insert(
                key_id=key.key_id, public_key=key.public_key, status=key.status, record_time=utcnow()
            ).on_conflict(
                conflict_target=[SigningKeyRecord.key_id],
                update={SigningKeyRecord.status: key.status, SigningKeyRecord.record_time: utcnow()},
            ).execute()
