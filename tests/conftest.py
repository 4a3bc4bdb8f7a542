"""Shared fixtures: one encrypted keyring per session, and a real server per engine.

`backend` is parametrised over SQLite (files in a temporary home) and PostgreSQL (a database
made for the module and dropped after it), so every server test runs on both engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pg
import pytest
from harness import Harness, running_server
from homes import REPO, TEST_PASSPHRASE, make_settings

from licensing.config import Settings
from licensing.keyring import Keyring

__all__ = ["REPO", "TEST_PASSPHRASE", "make_settings"]  # for tests still importing them from here


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


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, keyring_path: Path
) -> Iterator[Settings]:
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
