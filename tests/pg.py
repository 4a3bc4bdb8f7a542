"""Throw-away PostgreSQL databases for tests, on the server at 127.0.0.1:5432 (trust auth).

Without that server the PostgreSQL tests are skipped, unless LICENSING_TEST_REQUIRE_POSTGRES is
set (CI sets it): then they fail, so a green CI run always means both engines were tested.
"""

from __future__ import annotations

import os
import secrets

import psycopg2
import pytest

HOST, PORT, USER = "127.0.0.1", 5432, "postgres"


def _admin_connection() -> psycopg2.extensions.connection:
    connection = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname="postgres", connect_timeout=3)
    connection.autocommit = True
    return connection


def require_postgres() -> None:
    try:
        _admin_connection().close()
    except psycopg2.OperationalError as exc:
        message = f"PostgreSQL is not reachable on {HOST}:{PORT}: {exc}".strip()
        if os.environ.get("LICENSING_TEST_REQUIRE_POSTGRES"):
            pytest.fail(message + " (required: LICENSING_TEST_REQUIRE_POSTGRES is set)")
        pytest.skip(message)


def create_database(prefix: str = "licensing_test") -> tuple[str, str]:
    """A new empty database; returns (name, URL)."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin_execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql://{USER}@{HOST}:{PORT}/{name}"


def drop_database(name: str) -> None:
    admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def admin_execute(sql: str) -> None:
    connection = _admin_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def waiting_on_locks(watch: psycopg2.extensions.connection, database: str) -> int:
    """How many sessions of `database` wait on a lock now (for tests that force an interleaving)."""
    with watch.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            (database,),
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0
