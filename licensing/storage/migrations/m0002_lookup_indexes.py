"""Indexes for the look-ups that would otherwise scan as the tables grow.

- audit_event.target: a profile export gathers its history by target.
- license.revoke_time: the revocation list reads only revoked licenses.
"""

from __future__ import annotations

import peewee
from playhouse.migrate import SchemaMigrator, migrate


def up(migrator: SchemaMigrator, db: peewee.Database) -> None:
    migrate(
        migrator.add_index("audit_event", ("target",), False),
        migrator.add_index("license", ("revoke_time",), False),
    )
