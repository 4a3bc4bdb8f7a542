"""Two writers issuing the same (order, product) at the same instant, on one PostgreSQL database.

Two server processes (or replicas) each run their own group-commit writer on their own
connection. When both insert the license for one pair, the second insert waits on the first's
uncommitted unique key, then inserts nothing. The serial is derived from (order, product), so it
is the same in both: the writer must not take "the stored serial is mine" for "I created it". Here
the two writers are two Issuers on one database (two group committers, two connections), the
first held just before its commit by a third connection's table lock until the second waits on it.

Whatever the terms each asked for, exactly one license is stored, one caller is told it created
it, the other is answered with the stored license (same terms: not created, same key) or refused
(other terms: ORDER_TERMS_MISMATCH), and one "issue" audit event exists.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pg
import psycopg2
import pytest
from homes import make_settings

from licensing.errors import Conflict
from licensing.issuance import Issuer, IssueRequest
from licensing.keyring import Keyring
from licensing.products import add_product
from licensing.records import Terms
from licensing.service import Service
from licensing.storage.models import AuditEvent, License, Order

WAIT_SECONDS = 30  # a bound on waiting for the writers to reach their locks, not a measurement


@pytest.fixture(scope="module")
def two_writers(
    tmp_path_factory: pytest.TempPathFactory, keyring_path: Path, keyring: Keyring
) -> Iterator[tuple[Issuer, Issuer, str]]:
    settings, databases = make_settings("postgres", tmp_path_factory.mktemp("issue-race"), keyring_path)
    service = Service.start(settings, keyring)
    other = Issuer(keyring, service.profiles)
    try:
        add_product("race-one", 301, "One")
        add_product("race-two", 302, "Two")
        yield service.issuer, other, databases[0]
    finally:
        other.stop()
        service.stop()
        for name in databases:
            pg.drop_database(name)


def _until_waiting(watch: psycopg2.extensions.connection, database: str, count: int) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while pg.waiting_on_locks(watch, database) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {count} transactions to wait on a lock")
        time.sleep(0.02)


@pytest.mark.parametrize("seconds_seats", [1, 5])
def test_two_writers_of_one_license_make_one_and_agree_on_it(
    two_writers: tuple[Issuer, Issuer, str], seconds_seats: int
) -> None:
    first_writer, second_writer, database = two_writers
    email, order = f"race-{uuid.uuid4().hex[:8]}@example.com", f"IR-{uuid.uuid4().hex[:10]}"
    first_writer.issue(IssueRequest(email, order, "race-one"), "setup")  # the order exists already
    holder = psycopg2.connect(host=pg.HOST, port=pg.PORT, user=pg.USER, dbname=database)
    watch = psycopg2.connect(host=pg.HOST, port=pg.PORT, user=pg.USER, dbname=database)
    watch.autocommit = True
    try:
        with holder.cursor() as cursor:  # holds the first writer after its license insert
            cursor.execute(f'LOCK TABLE "{AuditEvent._meta.table_name}" IN EXCLUSIVE MODE')
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(first_writer.issue, IssueRequest(email, order, "race-two"), "first")
            _until_waiting(watch, database, 1)
            second = pool.submit(
                second_writer.issue,
                IssueRequest(email, order, "race-two", Terms(seats=seconds_seats)),
                "second",
            )
            _until_waiting(watch, database, 2)  # its insert waits on the first's unique key
            holder.rollback()
            issued = first.result(WAIT_SECONDS)
            try:
                answer: object = second.result(WAIT_SECONDS)
            except Conflict as refused:
                answer = refused
    finally:
        holder.close()
        watch.close()
    stored = list(License.select().join(Order).where((Order.order_ref == order) & (License.product == 302)))
    assert len(stored) == 1 and stored[0].seats == 1
    assert issued.created and issued.license.serial == stored[0].serial
    if seconds_seats == 1:
        assert not isinstance(answer, Conflict)
        assert not answer.created  # type: ignore[attr-defined]
        assert answer.license.key_text == issued.license.key_text  # type: ignore[attr-defined]
    else:
        assert isinstance(answer, Conflict) and answer.reason == "ORDER_TERMS_MISMATCH"
    events = AuditEvent.select().where(
        (AuditEvent.action == "issue") & (AuditEvent.target == f"order:{order}")
    )
    assert events.count() == 2  # race-one's and race-two's: one each
