"""Settings, from the environment and command-line flags, in one dataclass.

LICENSING_HOME             the service's home folder (keyring, SQLite files)   default ./var/home
LICENSING_DATABASE_URL     main database: sqlite:///PATH or postgresql://…     default <home>/licensing.sqlite3
LICENSING_KEYSTORE_URL     the data-key store, backed up apart from the main database
                                                                               default <home>/keystore.sqlite3
LICENSING_PASSPHRASE       the keyring passphrase (or LICENSING_PASSPHRASE_FILE: a 0600 file holding it)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings"]

DEFAULT_HOME = Path("var/home")


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    keystore_url: str

    @property
    def keyring_path(self) -> Path:
        return self.home / "keyring.bin"

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        home: str | None = None,
        database_url: str | None = None,
        keystore_url: str | None = None,
    ) -> Settings:
        """Flags win over environment variables, which win over the defaults."""
        env = os.environ if environ is None else environ
        home_path = Path(home or env.get("LICENSING_HOME") or DEFAULT_HOME).resolve()
        return cls(
            home=home_path,
            database_url=database_url
            or env.get("LICENSING_DATABASE_URL")
            or f"sqlite:///{home_path / 'licensing.sqlite3'}",
            keystore_url=keystore_url
            or env.get("LICENSING_KEYSTORE_URL")
            or f"sqlite:///{home_path / 'keystore.sqlite3'}",
        )
