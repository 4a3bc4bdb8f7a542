"""Limits and overload, against a real `licensing serve` process.

- A message above the size limit is RESOURCE_EXHAUSTED, and the server's memory stays flat however
  often it is tried (its resident set size is read from /proc before and after).
- A client deadline is honoured: the caller gets DEADLINE_EXCEEDED at its deadline even while the
  database holds the write up, and no transaction stays open afterwards (SQLite: the test can take
  the write lock; PostgreSQL: pg_stat_activity shows no session idle or waiting in a transaction).
  A retry of the same order then returns its one license.
- More calls than --max-concurrent: the excess is refused with RESOURCE_EXHAUSTED at once, while
  the calls already admitted finish normally; nothing queues without bound.

The database "holds the write up" because the test itself takes the lock the server needs, so the
calls are certainly in flight when the limit or the deadline is tested.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import psycopg2
import pytest
from homes import TEST_PASSPHRASE
from serverchild import ServerChild, serve_home

from licensing._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc, validation_pb2, validation_pb2_grpc
from licensing.storage.models import License, Order

from .kit import Home, bearer, figure, prepare_home, size

MAX_CONCURRENT = 4
ATTEMPTS = size("LICENSING_OVERSIZE_ATTEMPTS", 20)  # each refusal of 1 MiB takes grpcio ~0.1-0.3 s


def new_order(tag: str) -> issuance_pb2.IssueLicenseRequest:
    return issuance_pb2.IssueLicenseRequest(
        email=f"limits.{tag}@example.com", order_id=f"LIM-{tag}-{os.urandom(4).hex()}", product="photo-pro"
    )


class Served:
    def __init__(self, home: Home, server: ServerChild) -> None:
        self.home, self.server = home, server
        self.channel = server.channel()
        self.issuance = issuance_pb2_grpc.IssuanceServiceStub(self.channel)
        self.validation = validation_pb2_grpc.ValidationServiceStub(self.channel)
        self.issuer = bearer(home.tokens["issuer"])

    def write_lock(self) -> sqlite3.Connection:
        """This test's own connection holding SQLite's write lock until rolled back."""
        connection = sqlite3.connect(self.home.sqlite_files[0], isolation_level=None, timeout=30)
        connection.execute("BEGIN IMMEDIATE")
        return connection


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, keyring_path: Path) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("limits")
    home = prepare_home("sqlite", folder / "home", keyring_path)
    home.close()
    server = serve_home(
        home.settings,
        TEST_PASSPHRASE,
        "--max-concurrent",
        str(MAX_CONCURRENT),
        "--workers",
        "8",
        log_file=folder / "server.log",
    )
    try:
        yield Served(home, server)
    finally:
        assert server.stop() == 0, server.log_tail()
        home.drop()


def test_oversized_messages_are_resource_exhausted_and_memory_stays_flat(served: Served) -> None:
    oversized = new_order("big")
    oversized.provider = "x" * (1 << 20)  # 1 MiB, sixteen times the limit
    stream_item = issuance_pb2.IssueLicensesRequest(request=oversized)

    def attempt(index: int) -> float:
        started = time.perf_counter()
        with pytest.raises(grpc.RpcError) as refused:
            if index % 2:
                served.issuance.IssueLicenses(iter([stream_item]), metadata=served.issuer, timeout=30)
            else:
                served.issuance.IssueLicense(oversized, metadata=served.issuer, timeout=30)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, refused.value
        return time.perf_counter() - started

    for index in range(10):  # warm up: allocator pools and gRPC buffers reach their working size
        attempt(index)
    before = served.server.rss_bytes()
    times = [attempt(index) for index in range(ATTEMPTS)]
    after = served.server.rss_bytes()
    growth = after - before
    assert growth < 8 * 2**20, f"RSS grew by {growth / 2**20:.1f} MiB over {ATTEMPTS} oversized attempts"
    assert served.issuance.IssueLicense(new_order("after-big"), metadata=served.issuer, timeout=30).created
    figure(
        "limits.oversized",
        attempts=ATTEMPTS,
        bytes_each=oversized.ByteSize(),
        all_resource_exhausted=True,
        rss_before_mib=round(before / 2**20, 1),
        rss_after_mib=round(after / 2**20, 1),
        rss_growth_kib=growth // 1024,
        median_refusal_ms=round(statistics.median(times) * 1e3, 2),
    )


def test_a_deadline_is_honoured_and_leaves_no_open_transaction_sqlite(served: Served) -> None:
    request = new_order("deadline")
    lock = served.write_lock()
    try:
        started = time.perf_counter()
        with pytest.raises(grpc.RpcError) as late:
            served.issuance.IssueLicense(request, metadata=served.issuer, timeout=0.5)
        waited = time.perf_counter() - started
        assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert waited < 1.5, f"the deadline was 0.5 s but the call returned after {waited:.2f} s"
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    # No transaction stays open: the test can take the write lock again straight away.
    probe = sqlite3.connect(served.home.sqlite_files[0], isolation_level=None, timeout=5)
    taken = time.perf_counter()
    probe.execute("BEGIN IMMEDIATE")
    lock_wait = time.perf_counter() - taken
    probe.execute("ROLLBACK")
    probe.close()
    retried = served.issuance.IssueLicense(request, metadata=served.issuer, timeout=30)
    served.home.bind()
    try:
        licenses = License.select().join(Order).where(Order.order_ref == request.order_id).count()
    finally:
        served.home.close()
    assert licenses == 1
    figure(
        "limits.deadline.sqlite",
        deadline_ms=500,
        answered_after_ms=round(waited * 1e3),
        write_lock_free_after_ms=round(lock_wait * 1e3, 1),
        late_write_committed=not retried.created,
        licenses_for_the_order=licenses,
    )


def test_a_deadline_is_honoured_and_leaves_no_open_transaction_postgres(
    tmp_path: Path, keyring_path: Path
) -> None:
    home = prepare_home("postgres", tmp_path / "home", keyring_path)
    home.close()
    server = serve_home(home.settings, TEST_PASSPHRASE, log_file=tmp_path / "server.log")
    admin = psycopg2.connect(home.settings.database_url)
    database_name = home.settings.database_url.rsplit("/", 1)[1]
    try:
        with server.channel() as channel:
            issuance = issuance_pb2_grpc.IssuanceServiceStub(channel)
            issuer = bearer(home.tokens["issuer"])
            issuance.IssueLicense(new_order("warm"), metadata=issuer, timeout=30)
            request = new_order("deadline")
            with admin.cursor() as cursor:
                cursor.execute("LOCK TABLE license IN EXCLUSIVE MODE")  # reads pass, the insert waits
                started = time.perf_counter()
                with pytest.raises(grpc.RpcError) as late:
                    issuance.IssueLicense(request, metadata=issuer, timeout=0.5)
                waited = time.perf_counter() - started
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
                    "AND wait_event_type = 'Lock'",
                    (database_name,),
                )
                waiting_while_locked = cursor.fetchone()[0]
            admin.rollback()
            assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            assert waited < 1.5
            open_transactions = None
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with admin.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
                        "AND (state LIKE 'idle in transaction%%' OR wait_event_type = 'Lock' OR xact_start IS NOT NULL "
                        "AND state <> 'idle')",
                        (database_name,),
                    )
                    open_transactions = cursor.fetchone()[0]
                admin.rollback()
                if open_transactions == 0:
                    break
                time.sleep(0.05)
            assert open_transactions == 0
            retried = issuance.IssueLicense(request, metadata=issuer, timeout=30)
        assert server.stop() == 0, server.log_tail()
        home.bind()
        licenses = License.select().join(Order).where(Order.order_ref == request.order_id).count()
        assert licenses == 1
    finally:
        admin.close()
        if server.process.poll() is None:
            server.kill()
        home.drop()
    figure(
        "limits.deadline.postgres",
        deadline_ms=500,
        answered_after_ms=round(waited * 1e3),
        server_sessions_waiting_while_locked=waiting_while_locked,
        open_transactions_after=open_transactions,
        late_write_committed=not retried.created,
        licenses_for_the_order=licenses,
    )


def test_calls_beyond_max_concurrent_are_refused_at_once_not_queued(served: Served) -> None:
    lock = served.write_lock()
    try:
        admitted = [
            served.issuance.IssueLicense.future(new_order(f"held{i}"), metadata=served.issuer, timeout=60)
            for i in range(MAX_CONCURRENT)
        ]
        time.sleep(0.5)  # all of them are now inside the server, waiting for the database
        assert not any(call.done() for call in admitted)
        excess_started = time.perf_counter()
        excess = [
            served.validation.GetRevocationList.future(
                validation_pb2.GetRevocationListRequest(), metadata=served.issuer, timeout=30
            )
            for _ in range(40)
        ]
        latencies, codes = [], []
        for call in excess:
            try:
                call.result()
                codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as error:
                codes.append(error.code())
            latencies.append(time.perf_counter() - excess_started)
        assert set(codes) == {grpc.StatusCode.RESOURCE_EXHAUSTED}
        assert max(latencies) < 2.0, f"the excess waited {max(latencies):.2f} s: it was queued, not refused"
        assert not any(call.done() for call in admitted)  # the admitted calls are still held
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert all(call.result().created for call in admitted)  # and they finish normally
    served.validation.GetRevocationList(
        validation_pb2.GetRevocationListRequest(), metadata=served.issuer, timeout=30
    )
    figure(
        "limits.overload",
        max_concurrent=MAX_CONCURRENT,
        admitted_and_held=len(admitted),
        excess_calls=len(excess),
        excess_refused_resource_exhausted=codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED),
        excess_all_answered_within_ms=round(max(latencies) * 1e3, 1),
        admitted_finished_ok=len(admitted),
    )
