"""The write path without gRPC: the group committer and the issuer on a real database (both engines).

- a failing group fails none of its neighbours: each write is retried alone;
- a retry of one write returns the stored license, with the same key, and changes nothing;
- serial collisions: a serial held by another order moves the new license to the next serial;
- two writes of the same order in one group: one license, both answered with it (and a third with
  other terms refused).

Groups are made deterministic with a gate: the writer is held inside a first group while the writes
under test queue up, so that they are certainly taken as one group (the flush records group sizes).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import peewee
import pytest
from harness import PRODUCTS

from licensing.config import Settings
from licensing.errors import Conflict, Unavailable
from licensing.issuance import Issuer, IssueRequest, derive_serial
from licensing.issuance_rules import IssueResult
from licensing.issuance_writer import store_data_keys, write_rows
from licensing.keyring import Keyring
from licensing.products import add_product
from licensing.records import Terms
from licensing.service import Service
from licensing.storage.group_commit import GroupCommitter, PendingWrite
from licensing.storage.models import License, Order, Product, database, keystore


@pytest.fixture(scope="module")
def service(backend: Settings, keyring: Keyring) -> Iterator[Service]:
    running = Service.start(backend, keyring)
    for code, number in PRODUCTS.items():
        if not Product.select().where(Product.code == code).exists():
            add_product(code, number, code.title())
    try:
        yield running
    finally:
        running.stop()


def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(2000):
        if condition():
            return
        time.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


class Gate:
    """Wraps a flush: the first group waits at the gate, so what is queued meanwhile forms one group."""

    def __init__(self, flush: Callable[[list[Any], Any], None]) -> None:
        self.flush = flush
        self.sizes: list[int] = []
        self.open = threading.Event()

    def __call__(self, group: list[Any], prepared: Any) -> None:
        self.sizes.append(len(group))
        self.open.wait(30)
        self.flush(group, prepared)


@dataclass(eq=False, kw_only=True)
class NewProduct(PendingWrite):
    code: str
    number: int


def _insert_products(group: list[NewProduct], prepared: None) -> None:
    for write in group:  # a plain INSERT: a taken number fails the whole group
        Product.insert(code=write.code, number=write.number, name=write.code).execute()
        write.result = write.number


def test_a_failing_group_fails_none_of_its_neighbours(service: Service) -> None:
    gate = Gate(_insert_products)
    committer: GroupCommitter[NewProduct] = GroupCommitter(database.obj, gate)
    base = 900 + int(time.time() * 1000) % 50 * 2  # fresh numbers on every run of the module
    try:
        first = NewProduct(code=f"gate-{base}", number=base)
        holder = threading.Thread(target=committer.submit_many, args=([first],))
        holder.start()
        _until(lambda: gate.sizes == [1], "the writer holds the first group")
        good_a = NewProduct(code=f"good-a-{base}", number=base + 1)
        taken = NewProduct(code="taken", number=PRODUCTS["photo-pro"])  # the number exists: IntegrityError
        good_b = NewProduct(code=f"good-b-{base}", number=base + 100)
        group = [good_a, taken, good_b]
        waiter = threading.Thread(target=committer.submit_many, args=(group,))
        waiter.start()
        _until(lambda: committer._queue.qsize() == 3, "the three writes are queued")
        gate.open.set()
        holder.join(30)
        waiter.join(30)
        assert gate.sizes[:2] == [1, 3]  # the three were one group, which failed, then one by one
        assert (good_a.result, good_a.error) == (base + 1, None)
        assert (good_b.result, good_b.error) == (base + 100, None)
        assert isinstance(taken.error, Unavailable) and taken.error.reason == "WRITE_CONFLICT"
        assert Product.select().where(Product.number.in_([base + 1, base + 100])).count() == 2
        assert Product.get(Product.number == PRODUCTS["photo-pro"]).code == "photo-pro"  # unchanged
    finally:
        gate.open.set()
        committer.stop()


def _request(order: str, email: str = "", **terms: Any) -> IssueRequest:
    return IssueRequest(
        email=email or f"{order.lower()}@example.com",
        order_ref=order,
        product="photo-pro",
        terms=Terms(**terms),
    )


def test_a_retry_returns_the_stored_license_and_changes_nothing(service: Service) -> None:
    order = f"WP-RETRY-{time.monotonic_ns()}"
    first = service.issuer.issue(_request(order), "test")
    again = service.issuer.issue(_request(order), "test")
    assert first.created and not again.created
    assert again.license.serial == first.license.serial and again.license.key_text == first.license.key_text
    with pytest.raises(Conflict) as other_terms:
        service.issuer.issue(_request(order, seats=5), "test")
    assert other_terms.value.reason == "ORDER_TERMS_MISMATCH"
    with pytest.raises(Conflict) as other_email:
        service.issuer.issue(_request(order, email="someone.else@example.com"), "test")
    assert other_email.value.reason == "ORDER_EMAIL_MISMATCH"
    rows = License.select().join(Order).where(Order.order_ref == order)
    assert [(r.serial, r.seats) for r in rows] == [(first.license.serial, 1)]


def test_a_serial_held_by_another_order_moves_to_the_next(service: Service) -> None:
    order = f"WP-COLLIDE-{time.monotonic_ns()}"
    wanted = derive_serial(order, PRODUCTS["photo-pro"])
    squatter = service.issuer.issue(_request(f"{order}-OTHER"), "test")
    License.update(serial=wanted).where(
        License.serial == squatter.license.serial
    ).execute()  # a 48-bit collision
    issued = service.issuer.issue(_request(order), "test")
    assert issued.created and issued.license.serial == derive_serial(order, PRODUCTS["photo-pro"], 1)
    retried = service.issuer.issue(_request(order), "test")
    assert not retried.created and retried.license.serial == issued.license.serial
    assert retried.license.key_text == issued.license.key_text


def _queue_holds(issuer: Issuer, count: int) -> bool:
    return issuer.committer._queue.qsize() == count


def _issued_in_one_group(
    service: Service, keyring: Keyring, requests: list[IssueRequest]
) -> tuple[list[IssueResult | Exception], list[int]]:
    """Each request issued by a caller of its own, all in one group and in this order: the writer
    is held inside a first group while they queue one after another. Each caller's outcome, and the
    sizes of the groups the writer took."""
    gate = Gate(write_rows)
    issuer = Issuer(keyring, service.issuer.profiles)
    issuer.committer = GroupCommitter(
        database.obj, gate, before_commit=store_data_keys, other_databases=(keystore.obj,)
    )
    outcomes: dict[int, IssueResult | Exception] = {}

    def issue(n: int, request: IssueRequest) -> None:
        try:
            outcomes[n] = issuer.issue(request, "test")
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes[n] = exc

    try:
        holder = threading.Thread(
            target=issuer.issue, args=(_request(f"WP-HOLD-{time.monotonic_ns()}"), "test")
        )
        holder.start()
        _until(lambda: gate.sizes == [1], "the writer holds the first group")
        callers = [threading.Thread(target=issue, args=(n, request)) for n, request in enumerate(requests)]
        for queued, caller in enumerate(callers, 1):
            caller.start()
            _until(functools.partial(_queue_holds, issuer, queued), f"write {queued} is queued")
        gate.open.set()
        holder.join(30)
        for caller in callers:
            caller.join(30)
    finally:
        gate.open.set()
        issuer.stop()
    return [outcomes[n] for n in range(len(requests))], gate.sizes


def test_two_writes_of_one_order_in_one_group_make_one_license(service: Service, keyring: Keyring) -> None:
    order = f"WP-TWICE-{time.monotonic_ns()}"
    (one, two, three), sizes = _issued_in_one_group(
        service, keyring, [_request(order), _request(order), _request(order, seats=3)]
    )
    assert sizes[:2] == [1, 3]
    assert isinstance(one, IssueResult) and isinstance(two, IssueResult)
    assert [one.created, two.created] == [True, False]
    assert one.license.serial == two.license.serial and one.license.key_text == two.license.key_text
    assert isinstance(three, Conflict) and three.reason == "ORDER_TERMS_MISMATCH"
    assert License.select().join(Order).where(Order.order_ref == order).count() == 1


def test_a_deadlock_is_retried_write_by_write_not_taken_for_a_lost_connection(service: Service) -> None:
    """PostgreSQL undoes one of two transactions that wait on each other (40P01); peewee reports
    that as an OperationalError, like a lost connection. The group must be retried write by write
    (one cannot fail its neighbours), not once whole on a fresh connection and then refused."""
    if not isinstance(database.obj, peewee.PostgresqlDatabase):
        pytest.skip("SQLite runs one write transaction at a time: no deadlock between writers")
    base = 700 + int(time.time() * 1000) % 50 * 2
    other = peewee.PostgresqlDatabase(database.obj.database, **database.obj.connect_params)
    holding, waiting = threading.Event(), threading.Event()
    sizes: list[int] = []

    def rival() -> None:  # holds the second number, then asks for the first: the cycle
        with other.atomic():
            other.execute_sql("SET LOCAL deadlock_timeout = '10s'")  # so the writer is the victim
            Product.insert(code=f"dl-b-{base}", number=base + 1, name="b").execute(other)
            holding.set()
            waiting.wait(10)
            Product.insert(code=f"dl-a2-{base}", number=base, name="a2").on_conflict_ignore().execute(other)

    def flush(group: list[NewProduct], prepared: None) -> None:
        sizes.append(len(group))
        if len(sizes) == 1:  # the first attempt walks into the rival's lock cycle
            database.obj.execute_sql("SET LOCAL deadlock_timeout = '100ms'")
            Product.insert(code=f"dl-a-{base}", number=base, name="a").on_conflict_ignore().execute()
            holding.wait(10)
            waiting.set()
            Product.insert(code=f"dl-b2-{base}", number=base + 1, name="b2").on_conflict_ignore().execute()
        for write in group:
            Product.insert(
                code=write.code, number=write.number, name=write.code
            ).on_conflict_ignore().execute()
            write.result = write.number

    committer: GroupCommitter[NewProduct] = GroupCommitter(database.obj, flush)
    thread = threading.Thread(target=rival)
    thread.start()
    writes = [
        NewProduct(code=f"dl-w1-{base}", number=base + 20),
        NewProduct(code=f"dl-w2-{base}", number=base + 21),
    ]
    try:
        committer.submit_many(writes)
    finally:
        waiting.set()
        thread.join(30)
        committer.stop()
        other.close()
    assert sizes == [2, 1, 1]  # the group, then each write alone (not [2, 2]: the whole group again)
    assert [(w.result, w.error) for w in writes] == [(base + 20, None), (base + 21, None)]


def test_no_profile_is_kept_for_an_email_whose_order_went_to_another(
    service: Service, keyring: Keyring
) -> None:
    """Two new purchasers claim one new order in one group: the order goes to the first, the second
    is refused, and no email of the second is stored (their profile would hold an email with no order)."""
    order = f"WP-CLAIM-{time.monotonic_ns()}"
    first, second = (
        _request(order, email=f"first-{order.lower()}@example.com"),
        _request(order, email=f"second-{order.lower()}@example.com"),
    )
    (won, lost), sizes = _issued_in_one_group(service, keyring, [first, second])
    assert sizes[:2] == [1, 2]
    assert isinstance(won, IssueResult) and won.created
    assert isinstance(lost, Conflict) and lost.reason == "ORDER_EMAIL_MISMATCH"
    assert service.issuer.profiles.find(first.email) is not None
    assert service.issuer.profiles.find(second.email) is None
