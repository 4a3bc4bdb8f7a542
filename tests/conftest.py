"""Shared fixtures: one encrypted keyring per session, and a real server per engine.

`backend` is parametrised over SQLite (files in a temporary home) and PostgreSQL (a database
made for the module and dropped after it), so every server test runs on both engines.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pg
import pytest
from harness import Harness, running_server

from licensing.config import Settings
from licensing.keyring import Keyring

REPO = Path(__file__).resolve().parents[1]
TEST_PASSPHRASE = b"correct horse battery staple, for tests only"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first: with `-n auto --dist loadfile` their files start at once, on their
    own workers, instead of being the long tail of the run."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def keyring_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A keyring file made once per session (Argon2id MODERATE costs most of a second)."""
    path = tmp_path_factory.mktemp("keyring") / "keyring.bin"
    Keyring.create(path, TEST_PASSPHRASE)
    return path


@pytest.fixture(scope="session")
def keyring(keyring_path: Path) -> Keyring:
    return Keyring.open(keyring_path, TEST_PASSPHRASE)


def make_settings(kind: str, home: Path, keyring_file: Path) -> tuple[Settings, list[str]]:
    """Settings for a fresh home on `kind`; returns the PostgreSQL databases to drop after."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy2(keyring_file, home / "keyring.bin")
    if kind == "sqlite":
        return Settings.from_environment({}, home=str(home)), []
    pg.require_postgres()
    main_name, main_url = pg.create_database()
    keys_name, keys_url = pg.create_database("licensing_test_keys")
    return Settings.from_environment({}, home=str(home), database_url=main_url, keystore_url=keys_url), [main_name, keys_name]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, keyring_path: Path) -> Iterator[Settings]:
    settings, databases = make_settings(request.param, tmp_path_factory.mktemp(request.param), keyring_path)
    try:
        yield settings
    finally:
        for name in databases:
            pg.drop_database(name)


@pytest.fixture(scope="module")
def server(backend: Settings, keyring: Keyring) -> Iterator[Harness]:
    with running_server(backend, keyring) as harness:
        yield harness
