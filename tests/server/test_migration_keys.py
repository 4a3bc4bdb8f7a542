"""Migration 3 on a database written under schema 2, on SQLite and PostgreSQL: the stored key
text is gone from the files (not just from the table), staff's free text is sealed at the first
start, the audit log loses the consent source, and support still sees the same key and note."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pg
import psycopg2
import pytest
from harness import PRODUCTS
from homes import make_settings
from reidentify import matched, read_all

from licensing.config import Settings
from licensing.keyring import Keyring
from licensing.license_keys import KeyMaker
from licensing.privacy import EmailVault
from licensing.profiles import ProfileStore
from licensing.records import Terms
from licensing.service import Service, bind_only
from licensing.storage.migrate import migrate_keystore, migrate_main
from licensing.storage.models import License, database

EMAIL = "legacy.buyer@example.org"
NOTE = f"refund asked by {EMAIL}"
SOURCE = f"phone {EMAIL}"


@pytest.fixture(params=["sqlite", "postgres"])
def old_home(request: pytest.FixtureRequest, tmp_path: Path, keyring_path: Path) -> Iterator[Settings]:
    settings, names = make_settings(request.param, tmp_path / "home", keyring_path)
    try:
        yield settings
    finally:
        for name in names:
            pg.drop_database(name)


def write_schema_2(settings: Settings, keyring: Keyring) -> str:
    """A purchaser, a revoked license with its key text and a note, consent, as schema 2 stored them."""
    bound = bind_only(settings)
    migrate_main(bound.main, up_to=2)
    migrate_keystore(bound.keystore)
    db, keys = bound.main, bound.keystore
    store = ProfileStore(EmailVault(keyring.master_key, keyring.blind_index_key))
    profile = store.prepare(EMAIL)
    key = KeyMaker(keyring).key(EMAIL, keyring.active_key_id, 1, 0x0123456789AB, dt.date(2025, 1, 2), Terms())
    now = dt.datetime(2025, 1, 2, 3, 4, 5)
    p = db.param
    keys.execute_sql(
        f"INSERT INTO data_key (profile_public_id, wrapped_key, create_time) VALUES ({p}, {p}, {p})",
        (profile.public_id, profile.wrapped_key, now),
    )
    for number, code in ((n, c) for c, n in PRODUCTS.items()):
        db.execute_sql(
            f"INSERT INTO product (number, code, name, create_time) VALUES ({p}, {p}, {p}, {p})",
            (number, code, code, now),
        )
    db.execute_sql(
        "INSERT INTO profile (public_id, email_index, email_ciphertext, create_time, newsletter_subscribed, "
        f"newsletter_change_time, newsletter_source) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p})",
        (profile.public_id, profile.email_index, profile.email_ciphertext, now, True, now, SOURCE),
    )
    (profile_id,) = db.execute_sql(
        f"SELECT id FROM profile WHERE public_id = {p}", (profile.public_id,)
    ).fetchone()
    db.execute_sql(
        f'INSERT INTO "order" (order_ref, provider, profile_id, order_time, test_order, create_time) VALUES ({p}, {p}, {p}, {p}, {p}, {p})',
        ("LEGACY-1", "manual", profile_id, now, False, now),
    )
    (order_id,) = db.execute_sql("SELECT id FROM \"order\" WHERE order_ref = 'LEGACY-1'").fetchone()
    db.execute_sql(
        "INSERT INTO license (serial, order_id, product_id, key_id, key_text, issued, seats, edition, flags, create_time, "
        f"revoke_time, revocation_reason, revocation_note) VALUES ({p}, {p}, 1, {p}, {p}, {p}, 1, 0, 0, {p}, {p}, 'refund', {p})",
        (0x0123456789AB, order_id, keyring.active_key_id, key, dt.date(2025, 1, 2), now, now, NOTE),
    )
    db.execute_sql(
        f"INSERT INTO audit_event (time, actor, action, target, detail) VALUES ({p}, 'support-1', 'consent', {p}, {p})",
        (now, f"profile:{profile.public_id}", f"newsletter on via {SOURCE}"),
    )
    bound.close()
    return key


def main_bytes(settings: Settings) -> bytes:
    """The main database as its files hold it (SQLite file and -wal; PostgreSQL: every page of its
    tables through pageinspect, dead tuples and free space included, plus a dump)."""
    if settings.database_url.startswith("sqlite"):
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        return b"".join(Path(f"{path}{s}").read_bytes() for s in ("", "-wal") if Path(f"{path}{s}").exists())
    connection = psycopg2.connect(settings.database_url)
    connection.autocommit = True
    out = subprocess.run(["pg_dump", settings.database_url], check=True, capture_output=True).stdout
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
            for table in ("license", "profile", "audit_event"):
                cursor.execute(
                    f"SELECT get_raw_page('{table}', b::int) FROM generate_series(0, pg_relation_size('{table}') / 8192 - 1) b"
                )
                out += b"".join(bytes(page) for (page,) in cursor.fetchall())
    finally:
        connection.close()
    return out


def test_schema_2_key_text_and_free_text_leave_the_files_and_support_still_sees_them(
    old_home: Settings, keyring: Keyring
) -> None:
    key = write_schema_2(old_home, keyring)
    assert key.encode() in main_bytes(old_home) and NOTE.encode() in main_bytes(
        old_home
    )  # the scan can see them

    service = Service.start(old_home, keyring)  # migrates, then seals the legacy text
    try:
        columns = {c.name for c in database.obj.get_columns("license")}
        assert "key_text" not in columns and "revocation_note_sealed" in columns
        [view] = service.support.find_by_order("LEGACY-1", "test-support")
        [lic] = view.orders[0].licenses
        assert lic.key_text == key  # derived again, byte for byte the key that was stored
        assert lic.revocation_note == NOTE and view.newsletter_source == SOURCE
        assert License.get().revocation_note is None
    finally:
        service.stop()

    raw = main_bytes(old_home)
    for secret in (key, key.replace("-", ""), NOTE, SOURCE, EMAIL):
        at = raw.find(secret.encode())
        assert at == -1, (secret, raw[max(0, at - 300) : at + 100])
    home_files = read_all([old_home.home])
    if not old_home.database_url.startswith("sqlite"):
        home_files.append(("pages and dump", raw))
    assert matched(home_files, keyring.public_keyring(), [EMAIL, "someone.else@example.org"]) == set()
