"""SIGKILL under issuance load, again and again: nothing acknowledged is lost, nothing is doubled.

Several client threads issue licenses against a real `licensing serve` process while the test
kills it with SIGKILL at random moments and starts it again. A client counts an issuance as
acknowledged only when the call returned OK; a call that failed because the server died (or was
down) is retried after the restart, exactly as an order system's webhook retry would be. At the
end, on the database itself: every acknowledged license is there, with the key the client was
given, and validates offline; no order has two licenses; every retry got the identical key; the
SQLite files pass `PRAGMA integrity_check` (PostgreSQL: amcheck on every index).

LICENSING_CRASH_KILLS sets the number of kills per engine (CI: 20; `make crash`: 200).
LICENSING_CRASH_SEED replays a run (each run prints its seed).
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from harness import PRODUCTS, stored_key
from homes import TEST_PASSPHRASE
from licensing_client import validate
from serverchild import serve_home

from licensing._proto.licensing.v1 import (
    issuance_pb2,
    issuance_pb2_grpc,
    support_pb2,
    support_pb2_grpc,
)
from licensing.keyring import Keyring
from licensing.storage.models import License, Order, database

from .kit import Home, bearer, figure, prepare_home, size

KILLS = size("LICENSING_CRASH_KILLS", 20)
SEED = size("LICENSING_CRASH_SEED", 0) or random.SystemRandom().randrange(1, 2**31)
CLIENT_THREADS = 3
EMAILS = [f"crash.buyer{i}@example.com" for i in range(40)]  # shared: profiles are created under fire
# The call may or may not have taken effect: the client must retry it. Anything else is a finding.
NOT_ACKNOWLEDGED = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
LOOKUPS = ("--lookup-rate", "1000000", "--lookup-burst", "100000")


@dataclass(frozen=True)
class Purchase:
    order_id: str
    email: str
    product: str

    def request(self) -> issuance_pb2.IssueLicenseRequest:
        return issuance_pb2.IssueLicenseRequest(
            email=self.email, order_id=self.order_id, product=self.product
        )


@dataclass
class Ledger:
    """What the clients were told, and what went wrong in their eyes."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: dict[str, tuple[Purchase, str]] = field(default_factory=dict)  # order_id -> (order, key)
    pending: dict[str, Purchase] = field(default_factory=dict)  # sent, never acknowledged
    sent: dict[str, Purchase] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)  # the same order answered with another key
    unexpected: list[str] = field(default_factory=list)  # statuses other than OK or "retry"
    calls: int = 0
    oks: int = 0
    reissues_ok: int = 0
    not_acknowledged: int = 0

    def answered(self, order: Purchase, key: str) -> None:
        with self.lock:
            self.oks += 1
            self.pending.pop(order.order_id, None)
            known = self.acked.get(order.order_id)
            if known is None:
                self.acked[order.order_id] = (order, key)
            else:
                self.reissues_ok += 1
                if known[1] != key:
                    self.mismatches.append(order.order_id)


class Target:
    """The stub the clients should call now; None while the server is down."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stub: issuance_pb2_grpc.IssuanceServiceStub | None = None

    def set(self, stub: issuance_pb2_grpc.IssuanceServiceStub | None) -> None:
        with self._lock:
            self._stub = stub

    def get(self) -> issuance_pb2_grpc.IssuanceServiceStub | None:
        with self._lock:
            return self._stub


def client(index: int, target: Target, ledger: Ledger, token: str, stop: threading.Event) -> None:
    rng = random.Random(SEED * 100 + index)
    metadata = bearer(token)
    counter = 0
    while not stop.is_set():
        stub = target.get()
        if stub is None:
            time.sleep(0.02)
            continue
        with ledger.lock:
            if ledger.pending and rng.random() < 0.5:
                order = rng.choice(list(ledger.pending.values()))  # a retry, possibly racing another thread's
            elif ledger.acked and rng.random() < 0.25:
                order = rng.choice(list(ledger.acked.values()))[0]  # a webhook delivered twice
            else:
                counter += 1
                order = Purchase(
                    f"K{index}-{counter}-{rng.getrandbits(24):06x}",
                    rng.choice(EMAILS),
                    rng.choice(list(PRODUCTS)),
                )
                ledger.sent[order.order_id] = order
            ledger.calls += 1
        try:
            response = stub.IssueLicense(order.request(), metadata=metadata, timeout=10)
        except grpc.RpcError as error:
            with ledger.lock:
                if error.code() in NOT_ACKNOWLEDGED:
                    ledger.not_acknowledged += 1
                    if order.order_id not in ledger.acked:
                        ledger.pending[order.order_id] = order
                else:
                    ledger.unexpected.append(f"{error.code().name}: {error.details()}")
            time.sleep(0.02)  # the server is dying or down; do not spin
            continue
        ledger.answered(order, response.license.license_key)


@dataclass
class Campaign:
    """One engine's crash run: its home, what its clients saw, and how the run went."""

    home: Home
    log: Path
    ledger: Ledger = field(default_factory=Ledger)
    acks_per_life: list[int] = field(default_factory=list)
    start_seconds: list[float] = field(default_factory=list)
    seconds: float = 0.0
    retried: int = 0
    found: dict[str, set[str]] = field(default_factory=dict)
    error: BaseException | None = None

    def run(self) -> None:
        try:
            self._kill_repeatedly()
            self._settle()
        except BaseException as exc:  # noqa: BLE001 (re-raised by the test thread)
            self.error = exc

    def _kill_repeatedly(self) -> None:
        rng = random.Random(SEED)
        target, stop = Target(), threading.Event()
        threads = [
            threading.Thread(
                target=client, args=(i, target, self.ledger, self.home.tokens["issuer"], stop), daemon=True
            )
            for i in range(CLIENT_THREADS)
        ]
        channels: list[grpc.Channel] = []  # closed only when no client can be using them
        started = time.monotonic()
        for thread in threads:
            thread.start()
        try:
            for _ in range(KILLS):
                server = serve_home(self.home.settings, TEST_PASSPHRASE, "--workers", "8", log_file=self.log)
                self.start_seconds.append(server.start_seconds)
                channels.append(server.channel())
                before = self.ledger.oks
                target.set(issuance_pb2_grpc.IssuanceServiceStub(channels[-1]))
                time.sleep(rng.uniform(0.1, 0.3))  # a random moment under load
                server.kill()
                target.set(None)
                self.acks_per_life.append(self.ledger.oks - before)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            for channel in channels:
                channel.close()
        self.seconds = time.monotonic() - started

    def _settle(self) -> None:
        """A last, undisturbed server: the retries still owed go through; support looks people up."""
        ledger, tokens = self.ledger, self.home.tokens
        final = serve_home(self.home.settings, TEST_PASSPHRASE, *LOOKUPS, log_file=self.log)
        try:
            with final.channel() as channel:
                issuance = issuance_pb2_grpc.IssuanceServiceStub(channel)
                metadata = bearer(tokens["issuer"])
                owed = list(ledger.pending.values())
                self.retried = len(owed)
                for order in owed:
                    response = issuance.IssueLicense(order.request(), metadata=metadata, timeout=30)
                    ledger.answered(order, response.license.license_key)
                for order_id in random.Random(SEED).sample(sorted(ledger.acked), min(100, len(ledger.acked))):
                    order, _ = ledger.acked[order_id]
                    response = issuance.IssueLicense(order.request(), metadata=metadata, timeout=30)
                    ledger.answered(order, response.license.license_key)
                support = support_pb2_grpc.SupportServiceStub(channel)
                for email in EMAILS:
                    answer = support.FindLicenses(
                        support_pb2.FindLicensesRequest(email=email),
                        metadata=bearer(tokens["support"]),
                        timeout=30,
                    )
                    assert len(answer.profiles) <= 1
                    for record in answer.profiles:
                        assert record.profile.email == email  # the sealed email still opens
                        self.found[email] = {o.order_id for o in record.orders}
        finally:
            code = final.stop()
        assert code == 0, final.log_tail()


@pytest.fixture
def homes(tmp_path: Path, keyring_path: Path) -> Iterator[list[Home]]:
    """SQLite, and PostgreSQL when it is there (or required: then its absence fails the test)."""
    made: list[Home] = []
    try:
        for kind in ("sqlite", "postgres"):
            try:
                home = prepare_home(kind, tmp_path / kind, keyring_path)
            except pytest.skip.Exception:
                continue
            home.close()  # the server processes own the databases during the run
            made.append(home)
        yield made
    finally:
        for home in made:
            home.drop()


@pytest.mark.slow
def test_sigkill_under_load_loses_no_acknowledged_license(
    homes: list[Home], tmp_path: Path, keyring: Keyring
) -> None:
    """Both engines are attacked at once (each has its own server and clients) to halve the run."""
    print(f"crash run: kills={KILLS} per engine, seed={SEED} (LICENSING_CRASH_SEED={SEED} replays it)")
    campaigns = [Campaign(home, tmp_path / f"{home.kind}.log") for home in homes]
    runners = [threading.Thread(target=campaign.run) for campaign in campaigns]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()
    for campaign in campaigns:
        if campaign.error is not None:
            raise campaign.error
        verify(campaign, keyring)


def verify(campaign: Campaign, keyring: Keyring) -> None:
    home, ledger = campaign.home, campaign.ledger
    assert ledger.unexpected == [], home.kind
    assert ledger.mismatches == [], home.kind
    lived = sum(1 for acks in campaign.acks_per_life if acks)
    assert len(campaign.acks_per_life) == KILLS
    assert lived >= KILLS // 2, f"{home.kind}: too little load between kills: {campaign.acks_per_life}"
    home.bind()
    try:
        stored: dict[str, list[tuple[str, int]]] = {}
        emails = {o.order_id: o.email for o in ledger.sent.values()}
        for row in License.select(License, Order).join(Order):
            ref = row.order.order_ref  # the joined order, read with the license: no query per row
            key = stored_key(keyring, row, emails[ref]) if ref in emails else ""
            stored.setdefault(ref, []).append((key, row.product_id))
        orders_in_db = {order.order_ref for order in Order.select(Order.order_ref)}
        now = dt.datetime.now(dt.UTC)
        public = keyring.public_keyring(PRODUCTS)
        lost = [order_id for order_id in ledger.acked if order_id not in stored]
        doubled = [order_id for order_id, rows in stored.items() if len(rows) != 1]
        wrong_key = [o for o, (_, key) in ledger.acked.items() if o in stored and stored[o][0][0] != key]
        for order, key in ledger.acked.values():
            validate(key, order.email, PRODUCTS[order.product], public, now)  # raises if it does not
        assert (lost, doubled, wrong_key) == ([], [], []), home.kind
        assert orders_in_db == set(stored)  # every stored order has its license (the retries completed)
        assert set(ledger.acked) == set(ledger.sent) == orders_in_db  # nothing missing, nothing unasked-for
        for email in EMAILS:
            mine = {o.order_id for o, _ in ledger.acked.values() if o.email == email}
            assert campaign.found.get(email, set()) == mine, home.kind
        integrity = check_integrity(home)
    finally:
        home.close()
    figure(
        f"crash.{home.kind}",
        kills=KILLS,
        seed=SEED,
        calls=ledger.calls,
        acknowledged=len(ledger.acked),
        lost=len(lost),
        doubled=len(doubled),
        lives_with_acks=lived,
        retries_owed_after_kills=campaign.retried,
        duplicate_deliveries_identical=ledger.reissues_ok,
        key_mismatches=len(ledger.mismatches),
        unexpected_statuses=len(ledger.unexpected),
        integrity=integrity,
        seconds=round(campaign.seconds, 1),
        mean_restart_seconds=round(sum(campaign.start_seconds) / len(campaign.start_seconds), 2),
    )


def check_integrity(home: Home) -> str:
    """SQLite: integrity_check and foreign_key_check on both files; PostgreSQL: amcheck on every index."""
    if home.kind == "sqlite":
        for path in home.sqlite_files:
            connection = sqlite3.connect(path)
            try:
                assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)], path
                assert connection.execute("PRAGMA foreign_key_check").fetchall() == [], path
            finally:
                connection.close()
        return "sqlite integrity_check ok"
    for db in (database.obj,):
        db.execute_sql("CREATE EXTENSION IF NOT EXISTS amcheck")
        indexes = db.execute_sql(
            "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a ON a.oid = c.relam "
            "WHERE n.nspname = 'public' AND a.amname = 'btree'"
        ).fetchall()
        for (name,) in indexes:
            db.execute_sql("SELECT bt_index_parent_check(%s::regclass, true)", (name,))
    return f"postgres amcheck ok on {len(indexes)} indexes"


# --- SIGTERM: a graceful stop ---------------------------------------------------------------------


def test_sigterm_drains_calls_in_flight_refuses_new_ones_and_exits_cleanly(
    tmp_path: Path, keyring_path: Path, keyring: Keyring
) -> None:
    """Calls in flight when SIGTERM arrives are held in the database (the test owns SQLite's write
    lock), so they are certainly in flight; they must all finish OK after the signal, while a new
    call is refused at once, and the process then exits with status 0 and no traceback."""
    home = prepare_home("sqlite", tmp_path / "home", keyring_path)
    home.close()
    server = serve_home(home.settings, TEST_PASSPHRASE, log_file=tmp_path / "server.log")
    lock = sqlite3.connect(home.sqlite_files[0], isolation_level=None, timeout=30)
    try:
        with server.channel() as channel:
            issuance = issuance_pb2_grpc.IssuanceServiceStub(channel)
            metadata = bearer(home.tokens["issuer"])
            issuance.IssueLicense(
                Purchase("DRAIN-WARM", EMAILS[0], "photo-pro").request(), metadata=metadata, timeout=30
            )
            lock.execute("BEGIN IMMEDIATE")  # every write now waits in the server, in flight
            held = [Purchase(f"DRAIN-{i}", EMAILS[i], "photo-pro") for i in range(8)]
            in_flight = [
                issuance.IssueLicense.future(p.request(), metadata=metadata, timeout=60) for p in held
            ]
            time.sleep(0.5)
            assert not any(call.done() for call in in_flight)
            server.terminate()
            time.sleep(0.3)
            refused_at = time.monotonic()
            with pytest.raises(grpc.RpcError) as refused:
                issuance.IssueLicense(
                    Purchase("DRAIN-LATE", EMAILS[9], "photo-pro").request(), metadata=metadata, timeout=10
                )
            refusal_seconds = time.monotonic() - refused_at
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, refused.value
            assert server.process.poll() is None  # still draining
            lock.execute("ROLLBACK")
            keys = {
                p.order_id: call.result().license.license_key for p, call in zip(held, in_flight, strict=True)
            }
        code = server.wait(timeout=30)
    finally:
        lock.close()
        if server.process.poll() is None:
            server.kill()
    log = server.log_tail(100_000)
    assert code == 0, log
    assert "Traceback" not in log
    home.bind()
    try:
        emails = {f"DRAIN-{i}": EMAILS[i] for i in range(8)} | {"DRAIN-WARM": EMAILS[0]}
        stored = {
            o.order_ref: stored_key(
                keyring, License.select().where(License.order == o).get(), emails[o.order_ref]
            )
            for o in Order.select().where(Order.order_ref.startswith("DRAIN-"))
        }
    finally:
        home.drop()
    assert stored == {"DRAIN-WARM": stored["DRAIN-WARM"], **keys}  # DRAIN-LATE was never written
    figure(
        "sigterm.drain",
        in_flight=len(held),
        finished_ok=len(keys),
        new_call_refused_in_ms=round(refusal_seconds * 1e3, 1),
        exit_code=code,
    )
