"""The database as configured: SQLite pragmas, migrations recorded, an old schema detected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pg
import pytest
from homes import TEST_PASSPHRASE, make_settings

from licensing.errors import SchemaOutdated
from licensing.service import bind_databases, bind_only
from licensing.storage.database import open_database, redact_url
from licensing.storage.migrate import MIGRATIONS, applied_versions, migrate_main, pending_migrations


def test_sqlite_connections_are_durable_and_wait_for_locks(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    pragmas = {
        name: db.execute_sql(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
    }
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 30000, "foreign_keys": 1}
    db.close()


def test_unknown_database_url_is_a_clear_error_without_the_password() -> None:
    from licensing.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as error:
        open_database("mysql://user:hunter2@db/licensing")
    assert "hunter2" not in str(error.value)
    assert redact_url("postgresql://u:hunter2@h/d") == "postgresql://u:***@h/d"


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_migrations_are_recorded_and_an_old_schema_is_refused_with_the_command_to_run(
    kind: str, tmp_path: Path, keyring_path: Path
) -> None:
    settings, databases = make_settings(kind, tmp_path / "home", keyring_path)
    try:
        bound = bind_only(settings)
        assert [m.version for m in pending_migrations(bound.main)] == [m.version for m in MIGRATIONS]
        with pytest.raises(SchemaOutdated, match="licensing migrate"):
            bind_databases(settings, migrate=False)
        applied = migrate_main(bound.main)
        assert [m.version for m in applied] == [m.version for m in MIGRATIONS]
        assert migrate_main(bound.main) == []  # a second run changes nothing
        assert applied_versions(bound.main) == {m.version for m in MIGRATIONS}
        bind_databases(settings, migrate=False).close()
        bound.close()
    finally:
        for name in databases:
            pg.drop_database(name)


def test_migrate_command_then_serve_without_migrating(tmp_path: Path, keyring_path: Path) -> None:
    settings, _ = make_settings("sqlite", tmp_path / "home", keyring_path)
    env = {
        "LICENSING_HOME": str(settings.home),
        "LICENSING_PASSPHRASE": TEST_PASSPHRASE.decode(),
        "PATH": "/usr/bin:/bin",
    }
    cli = [sys.executable, "-m", "licensing.cli.main"]
    refused = subprocess.run(
        [*cli, "serve", "--no-migrate", "--address", "127.0.0.1:0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1
    assert "run `licensing migrate`" in refused.stderr and "Traceback" not in refused.stderr
    migrated = subprocess.run(
        [*cli, "migrate"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert migrated.returncode == 0 and f"applied {len(MIGRATIONS)} migration(s)" in migrated.stdout
    again = subprocess.run(
        [*cli, "migrate"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert "up to date" in again.stdout
