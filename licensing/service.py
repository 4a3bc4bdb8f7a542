"""The running service's parts, wired once: databases bound, keyring open, domain objects made.

Both the server and the operator's CLI start here, so they bind the same models the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

import peewee

from .bulk_issue import BulkIssuer
from .bulk_prepare import Chunk, Prepared, prepare_chunk
from .config import Settings
from .errors import SchemaOutdated
from .issuance import Issuer
from .keyring import Keyring
from .keyring_ledger import reconcile
from .prepare_pool import PreparePool
from .privacy import EmailVault
from .profiles import ProfileStore
from .storage.database import close_before_fork, open_database
from .storage.files import private_folder
from .storage.migrate import migrate_keystore, migrate_main, pending_migrations
from .storage.models import database, keystore, utcnow
from .support import Support
from .validation import Validator

__all__ = ["Databases", "Service", "bind_databases", "bind_only"]


@dataclass(frozen=True)
class Databases:
    main: peewee.Database
    keystore: peewee.Database

    def close(self) -> None:
        self.main.close()
        self.keystore.close()


def bind_only(settings: Settings, *, pool_size: int = 16) -> Databases:
    """Open both databases and bind the models to them; no schema check.

    The key store is touched only when a profile is created, read or erased: a small pool. The
    main pool has room for the group-commit writer and the health monitor beside the workers.
    """
    if settings.home.is_dir():  # the operator's home; a PostgreSQL-only set-up may have none
        private_folder(settings.home)
    main = open_database(settings.database_url, max_connections=pool_size + 2)
    keys = open_database(settings.keystore_url, max_connections=min(4, pool_size))
    database.initialize(main)
    keystore.initialize(keys)
    return Databases(main, keys)


def bind_databases(settings: Settings, *, migrate: bool = True, pool_size: int = 16) -> Databases:
    """Open both databases, bind the models, and bring the schemas up to date (or refuse)."""
    bound = bind_only(settings, pool_size=pool_size)
    main, keys = bound.main, bound.keystore
    if migrate:
        migrate_main(main)
        migrate_keystore(keys)
    else:
        pending = pending_migrations(main)
        if pending:
            raise SchemaOutdated(
                f"the database schema is {len(pending)} migration(s) behind; run `licensing migrate`"
            )
    return Databases(main, keys)


@dataclass(frozen=True)
class Service:
    """What a server process needs to answer calls."""

    settings: Settings
    databases: Databases
    keyring: Keyring
    issuer: Issuer
    profiles: ProfileStore
    validator: Validator
    support: Support
    bulk: BulkIssuer

    @classmethod
    def start(
        cls,
        settings: Settings,
        keyring: Keyring,
        *,
        migrate: bool = True,
        pool_size: int = 16,
        prepare_processes: int = 0,
    ) -> Service:
        """The parts, wired. `prepare_processes` > 0 forks that many workers for the bulk path's
        preparation (prepare_pool.py): call it before any gRPC object or thread exists."""
        databases = bind_databases(settings, migrate=migrate, pool_size=pool_size)
        reconcile(keyring)
        profiles = ProfileStore(EmailVault(keyring.master_key, keyring.blind_index_key))
        issuer = Issuer(keyring, profiles, clock=utcnow)
        # Free text written in clear before schema 3 (`licensing migrate` has no keyring to seal
        # it with). After the first start this finds nothing; it costs one scan of the license
        # and profile tables per start.
        profiles.seal_legacy_text()
        pool = _fork_prepare_pool(issuer, databases, prepare_processes) if prepare_processes > 0 else None
        return cls(
            settings=settings,
            databases=databases,
            keyring=keyring,
            issuer=issuer,
            profiles=profiles,
            validator=Validator(keyring, issuer.products),
            support=Support(profiles, issuer.keys),
            bulk=BulkIssuer(issuer, pool),
        )

    def stop(self) -> None:
        """After the server has drained: finish queued writes, then close the databases."""
        self.issuer.stop()
        if self.bulk.pool is not None:
            self.bulk.pool.stop()
        self.databases.close()

    @staticmethod
    def today() -> dt.date:
        return utcnow().date()


def _fork_prepare_pool(issuer: Issuer, databases: Databases, size: int) -> PreparePool[Chunk, Prepared]:
    """The bulk path's preparation workers, forked with the keyring and the vault's keys open
    (they touch no database; the server reopens its connections on demand)."""
    close_before_fork(databases.main, databases.keystore)
    return PreparePool(partial(prepare_chunk, issuer), size)
