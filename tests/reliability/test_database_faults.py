"""Database faults: PostgreSQL stopped under load, and SQLite under many concurrent writers.

The outage uses a PostgreSQL cluster the test makes itself (initdb on a free port, see
privatepg.py), so stopping it disturbs nothing else on the machine. One `licensing serve` process
lives through the whole outage: while the database is gone its calls answer UNAVAILABLE and its
health NOT_SERVING; once the database is back the same process answers again and reports SERVING,
and every license it acknowledged before, during or after the outage is in the database.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import PRODUCTS, error_info, stored_key
from homes import TEST_PASSPHRASE
from licensing_client import validate
from serverchild import ServerChild, serve_home

from licensing._proto.licensing.v1 import (
    issuance_pb2,
    issuance_pb2_grpc,
    license_pb2,
    support_pb2,
    support_pb2_grpc,
)
from licensing.config import Settings
from licensing.keyring import Keyring
from licensing.products import add_product
from licensing.storage.models import License, Order
from licensing.tokens import Role, create_token

from .kit import Home, bearer, figure, prepare_home
from .privatepg import PrivatePostgres

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass
class Load:
    """Client threads issuing new licenses until told to stop; what they were told, with times."""

    stub: issuance_pb2_grpc.IssuanceServiceStub
    token: str
    threads: int = 3
    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: dict[str, tuple[str, str]] = field(default_factory=dict)  # order -> (email, key)
    pending: dict[str, str] = field(default_factory=dict)  # order -> email, never acknowledged
    outcomes: list[tuple[float, str, str]] = field(default_factory=list)  # (time, code, reason)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for index in range(self.threads):
            worker = threading.Thread(target=self._run, args=(index,), daemon=True)
            self._workers.append(worker)
            worker.start()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=60)

    def _run(self, index: int) -> None:
        counter = 0
        while not self._stop.is_set():
            counter += 1
            order, email = f"PG{index}-{counter}", f"outage.buyer{counter % 7}@example.com"
            request = issuance_pb2.IssueLicenseRequest(email=email, order_id=order, product="photo-pro")
            try:
                response = self.stub.IssueLicense(request, metadata=bearer(self.token), timeout=30)
            except grpc.RpcError as error:
                info = error_info(error)
                with self.lock:
                    self.pending[order] = email
                    self.outcomes.append((time.monotonic(), error.code().name, info.reason if info else ""))
                time.sleep(0.1)  # an order system backs off while the service is unavailable
                continue
            with self.lock:
                self.acked[order] = (email, response.license.license_key)
                self.outcomes.append((time.monotonic(), "OK", ""))

    def first_ok_after(self, moment: float) -> float | None:
        with self.lock:
            return next((at for at, code, _ in self.outcomes if at >= moment and code == "OK"), None)


class HealthWatch:
    """Polls the health service every 20 ms and keeps every change of status with its time."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = health_pb2_grpc.HealthStub(channel)
        self.changes: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status = self.stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2).status
            except grpc.RpcError:
                status = -1
            if not self.changes or self.changes[-1][1] != status:
                self.changes.append((time.monotonic(), status))
            time.sleep(0.02)

    def wait_for(self, status: int, after: float, within: float = 20.0) -> float:
        """When the status became `status`, at or after `after` (`after` if it already was)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            changes = list(self.changes)
            became = [at for at, value in changes if value == status and at >= after]
            if became:
                return became[0]
            if changes and changes[-1][1] == status:
                return after
            time.sleep(0.02)
        raise AssertionError(f"health did not become {status} within {within} s: {self.changes}")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


def test_postgresql_stopped_mid_run_is_unavailable_then_the_same_process_recovers(
    private_pg: PrivatePostgres, tmp_path: Path, keyring_path: Path, keyring: Keyring
) -> None:
    home_dir = tmp_path / "home"
    home_dir.mkdir()
    shutil.copy2(keyring_path, home_dir / "keyring.bin")
    settings = Settings(
        home_dir, private_pg.create_database("licensing"), private_pg.create_database("licensing_keys")
    )
    home = Home("postgres", settings, {})
    bootstrap = prepare_home_on(settings, home)
    server = serve_home(settings, TEST_PASSPHRASE, log_file=tmp_path / "server.log")
    channel = server.channel()
    watch = HealthWatch(channel)
    load = Load(issuance_pb2_grpc.IssuanceServiceStub(channel), bootstrap["issuer"])
    try:
        watch.wait_for(SERVING, after=0)
        load.start()
        time.sleep(0.5)
        acked_before = len(load.acked)

        stopped_at = time.monotonic()
        private_pg.stop("immediate")  # like a crash of the database server: no checkpoint
        not_serving_at = watch.wait_for(NOT_SERVING, after=stopped_at)
        time.sleep(0.5)  # the outage goes on; the clients keep calling
        with load.lock:
            during = [(code, reason) for at, code, reason in load.outcomes if at > not_serving_at]
        restart_at = time.monotonic()
        private_pg.start()
        back_at = time.monotonic()  # pg_ctl -w: accepting connections
        serving_at = watch.wait_for(SERVING, after=back_at)
        deadline = time.monotonic() + 20
        while load.first_ok_after(back_at) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        first_ok_at = load.first_ok_after(back_at)
        assert first_ok_at is not None, "no call succeeded after the database came back"
        time.sleep(0.5)
    finally:
        load.stop()
        watch.stop()

    try:
        assert server.process.poll() is None, server.log_tail()  # the same process throughout
        with load.lock:
            failures = [(code, reason) for _, code, reason in load.outcomes if code != "OK"]
            after_serving = [code for at, code, _ in load.outcomes if at > serving_at + 0.05 and code != "OK"]
        assert during and all(outcome == ("UNAVAILABLE", "DATABASE_UNAVAILABLE") for outcome in during), set(
            during
        )
        assert {code for code, _ in failures} == {"UNAVAILABLE"}, set(failures)
        # Retry what was never acknowledged, as an order system would; the same process serves it.
        metadata = bearer(bootstrap["issuer"])
        for order, email in sorted(load.pending.items()):
            request = issuance_pb2.IssueLicenseRequest(email=email, order_id=order, product="photo-pro")
            response = load.stub.IssueLicense(request, metadata=metadata, timeout=30)
            if order in load.acked:
                assert load.acked[order][1] == response.license.license_key
            load.acked[order] = (email, response.license.license_key)
        for order, (email, key) in random.Random(1).sample(
            sorted(load.acked.items()), min(30, len(load.acked))
        ):
            request = issuance_pb2.IssueLicenseRequest(email=email, order_id=order, product="photo-pro")
            assert load.stub.IssueLicense(request, metadata=metadata, timeout=30).license.license_key == key
    finally:
        channel.close()
        assert server.stop() == 0, server.log_tail()

    home.bind()
    try:
        stored = {
            row.order.order_ref: stored_key(keyring, row, load.acked[row.order.order_ref][0])
            if row.order.order_ref in load.acked
            else ""
            for row in License.select(License, Order).join(Order)
        }
    finally:
        home.close()
    lost = [order for order in load.acked if order not in stored]
    wrong = [order for order, (_, key) in load.acked.items() if stored.get(order, key) != key]
    assert lost == [] and wrong == []
    assert set(stored) == set(load.acked)  # nothing half-written and never answered
    public = keyring.public_keyring(PRODUCTS)
    now = dt.datetime.now(dt.UTC)
    for email, key in load.acked.values():
        validate(key, email, PRODUCTS["photo-pro"], public, now)
    figure(
        "outage.postgres",
        acknowledged_before=acked_before,
        acknowledged_total=len(load.acked),
        lost=len(lost),
        calls_failed=len(failures),
        failed_statuses="UNAVAILABLE/DATABASE_UNAVAILABLE" if failures else "none",
        not_serving_after_stop_s=round(not_serving_at - stopped_at, 2),
        postgres_restart_s=round(back_at - restart_at, 2),
        serving_after_database_back_s=round(serving_at - back_at, 2),
        first_ok_after_database_back_s=round(first_ok_at - back_at, 2),
        failures_after_serving=len(after_serving),
    )


def prepare_home_on(settings: Settings, home: Home) -> dict[str, str]:
    """Migrate, add the products and make tokens on databases that already exist."""
    home.bind()
    try:
        for code, number in PRODUCTS.items():
            add_product(code, number, code.title())
        home.tokens = {role.value: create_token(f"outage-{role.value}", role) for role in Role}
    finally:
        home.close()
    return home.tokens


# --- SQLite: many writers, two processes, one file ------------------------------------------------


def test_sqlite_database_is_locked_never_reaches_a_caller(tmp_path: Path, keyring_path: Path) -> None:
    """Two server processes on one SQLite home, twelve client threads writing all they can:
    new and repeated issuance, revocation, consent and erasure (which also checkpoints the key
    store). Every call must succeed; a busy database may make a writer wait, never fail."""
    home = prepare_home("sqlite", tmp_path / "home", keyring_path)
    home.close()
    servers: list[ServerChild] = []
    starters = [
        threading.Thread(
            target=lambda i=i: servers.append(
                serve_home(
                    home.settings,
                    TEST_PASSPHRASE,
                    "--lookup-rate",
                    "1000000",
                    log_file=tmp_path / f"s{i}.log",
                )
            )
        )
        for i in range(2)
    ]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join()
    assert len(servers) == 2
    channels = [server.channel() for server in servers]
    outcomes: dict[str, int] = {}
    problems: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    issued: list[tuple[str, str]] = []  # (order, email) of the shared, never-erased pool

    def writer(index: int) -> None:
        rng = random.Random(index)
        channel = channels[index % 2]
        issuance = issuance_pb2_grpc.IssuanceServiceStub(channel)
        support = support_pb2_grpc.SupportServiceStub(channel)
        issuer, staff = bearer(home.tokens["issuer"]), bearer(home.tokens["support"])
        counter = 0
        while not stop.is_set():
            counter += 1
            choice = rng.random()
            try:
                if choice < 0.45 or not issued:
                    email = f"kept{rng.randrange(8)}@example.com"
                    order = f"W{index}-{counter}"
                    issuance.IssueLicense(
                        issuance_pb2.IssueLicenseRequest(
                            email=email, order_id=order, product=rng.choice(list(PRODUCTS))
                        ),
                        metadata=issuer,
                        timeout=60,
                    )
                    with lock:
                        issued.append((order, email))
                    name = "issue"
                elif choice < 0.6:
                    order, email = rng.choice(issued)
                    found = support.FindLicenses(
                        support_pb2.FindLicensesRequest(order_id=order), metadata=staff, timeout=60
                    )
                    assert found.profiles[0].profile.email == email
                    name = "find"
                elif choice < 0.72:
                    order, _ = rng.choice(issued)
                    issuance.RevokeLicense(
                        issuance_pb2.RevokeLicenseRequest(
                            order_id=order, reason=license_pb2.REVOCATION_REASON_REFUND
                        ),
                        metadata=issuer,
                        timeout=60,
                    )
                    name = "revoke"
                elif choice < 0.85:
                    support.SetNewsletterConsent(
                        support_pb2.SetNewsletterConsentRequest(
                            email=rng.choice(issued)[1], subscribed=rng.random() < 0.5, source="support-call"
                        ),
                        metadata=staff,
                        timeout=60,
                    )
                    name = "consent"
                else:
                    email = f"gone{index}-{counter}@example.com"  # issued, then erased at once
                    issuance.IssueLicense(
                        issuance_pb2.IssueLicenseRequest(
                            email=email, order_id=f"E{index}-{counter}", product="photo-pro"
                        ),
                        metadata=issuer,
                        timeout=60,
                    )
                    support.EraseProfile(
                        support_pb2.EraseProfileRequest(email=email), metadata=staff, timeout=60
                    )
                    name = "issue+erase"
            except grpc.RpcError as error:
                info = error_info(error)
                with lock:
                    problems.append(f"{error.code().name} {info.reason if info else ''}: {error.details()}")
                continue
            except (AssertionError, IndexError) as error:
                with lock:
                    problems.append(repr(error))
                continue
            with lock:
                outcomes[name] = outcomes.get(name, 0) + 1

    writers = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(12)]
    started = time.monotonic()
    try:
        for thread in writers:
            thread.start()
        time.sleep(2.0)
    finally:
        stop.set()
        for thread in writers:
            thread.join(timeout=120)
        for channel in channels:
            channel.close()
        codes = [server.stop() for server in servers]
        home.drop()
    seconds = time.monotonic() - started
    assert problems == []
    assert codes == [0, 0]
    assert "database is locked" not in "".join(server.log_tail(1_000_000) for server in servers)
    figure(
        "sqlite.concurrent_writers",
        processes=2,
        threads=12,
        calls=sum(outcomes.values()),
        seconds=round(seconds, 1),
        failures=len(problems),
        **outcomes,
    )
