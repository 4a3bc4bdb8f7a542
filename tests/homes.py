"""Throw-away homes for tests: the test passphrase, and Settings for a fresh home on either engine.

A plain module on pytest's `pythonpath` (tests/), imported as `from homes import …`: conftest.py
holds fixtures only, and is never imported by name.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pg

from licensing.config import Settings

__all__ = ["REPO", "TEST_PASSPHRASE", "make_settings"]

REPO = Path(__file__).resolve().parents[1]
TEST_PASSPHRASE = b"correct horse battery staple, for tests only"


def make_settings(kind: str, home: Path, keyring_file: Path) -> tuple[Settings, list[str]]:
    """Settings for a fresh home on `kind`; returns the PostgreSQL databases to drop after."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy2(keyring_file, home / "keyring.bin")
    if kind == "sqlite":
        return Settings.from_environment({}, home=str(home)), []
    pg.require_postgres()
    main_name, main_url = pg.create_database()
    keys_name, keys_url = pg.create_database("licensing_test_keys")
    return Settings.from_environment({}, home=str(home), database_url=main_url, keystore_url=keys_url), [
        main_name,
        keys_name,
    ]
