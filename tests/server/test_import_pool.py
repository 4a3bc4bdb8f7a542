"""The bulk path through `licensing serve --prepare-processes N` (both engines).

- an import through the preparation pool stores what unary IssueLicense stores for the same
  orders on another database with the same keyring: the same keys byte for byte, the same
  license, order and audit rows, the same purchasers;
- a re-run writes nothing and prepares nothing new (no data key, profile, order, license or
  audit row appears; in process: no profile is sealed and no write reaches the group committer);
- a worker killed in the middle of an import ends the call with UNAVAILABLE, never a hang, and
  the retry completes;
- no worker outlives its server, after SIGTERM or SIGKILL.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pg
import pytest
from harness import PRODUCTS, reason_of
from homes import TEST_PASSPHRASE, make_settings
from proctree import alive, children_of
from serverchild import ServerChild, serve_home

from licensing._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc
from licensing.api.issuance_service import BULK_CHUNK
from licensing.bulk_issue import BulkIssuer
from licensing.bulk_lines import from_wire
from licensing.bulk_prepare import Chunk, prepare_chunk
from licensing.config import Settings
from licensing.keyring import Keyring
from licensing.products import add_product
from licensing.service import Service
from licensing.storage.models import AuditEvent, DataKey, License, Order, Product, Profile
from licensing.tokens import Role, create_token

ORDERS = 90


def _prepared_home(settings: Settings, keyring: Keyring) -> str:
    """The test products in the home's databases, and an issuer token for it."""
    service = Service.start(settings, keyring)
    try:
        for code, number in PRODUCTS.items():
            if not Product.select().where(Product.code == code).exists():
                add_product(code, number, code.title())
        return create_token(f"pool-{os.urandom(3).hex()}", Role.ISSUER)
    finally:
        service.stop()


@pytest.fixture(scope="module")
def homes(
    backend: Settings, keyring: Keyring, keyring_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[tuple[Settings, str], tuple[Settings, str]]]:
    """Two homes on the engine under test with the same keyring: one imports, one issues unary."""
    kind = "sqlite" if backend.database_url.startswith("sqlite") else "postgres"
    other, databases = make_settings(kind, tmp_path_factory.mktemp("unary-home"), keyring_path)
    try:
        yield (backend, _prepared_home(backend, keyring)), (other, _prepared_home(other, keyring))
    finally:
        for name in databases:
            pg.drop_database(name)


def _requests(tag: str, count: int = ORDERS) -> list[issuance_pb2.IssueLicenseRequest]:
    """Orders of every shape: repeat purchasers, terms, two products, consent, test orders."""
    out = []
    for i in range(count):
        message = issuance_pb2.IssueLicenseRequest(
            email=f"Buyer{i // 2 % 31}.{tag}@Example.com",
            order_id=f"IP-{tag}-{i // 2}",  # two products per order
            product=("photo-pro", "video-max")[i % 2],
            provider=("paddle", "")[i % 2],
            test_order=i % 7 == 0,
            newsletter_consent=i % 5 == 0,
        )
        message.order_time.FromDatetime(dt.datetime(2024, 1, 1) + dt.timedelta(hours=5 * (i // 2)))
        if i % 3 == 0:
            message.terms.seats = 1 + i % 9
            message.terms.edition = i % 4
            message.terms.feature_flags = i
            message.terms.expire_time.FromDatetime(dt.datetime(2030, 1, 1) + dt.timedelta(days=i))
        out.append(message)
    return out


def _stream(
    requests: list[issuance_pb2.IssueLicenseRequest], per_message: int = 25
) -> Iterator[issuance_pb2.IssueLicensesRequest]:
    for start in range(0, len(requests), per_message):
        yield issuance_pb2.IssueLicensesRequest(requests=requests[start : start + per_message])


def _stub(server: ServerChild) -> tuple[issuance_pb2_grpc.IssuanceServiceStub, grpc.Channel]:
    channel = server.channel()
    return issuance_pb2_grpc.IssuanceServiceStub(channel), channel


def _auth(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


def _stored(settings: Settings, keyring: Keyring, tag: str) -> dict[str, Any]:
    """Every row the orders of `tag` left, without ids and creation times (which differ by nature)."""
    service = Service.start(settings, keyring, migrate=False)
    try:
        prefix = f"IP-{tag}-"
        licenses = sorted(
            (
                row.order.order_ref,
                row.product_id,
                row.serial,
                row.key_id,
                row.issued,
                row.expires,
                row.updates_until,
                row.seats,
                row.edition,
                row.flags,
                row.revoke_time,
            )
            for row in License.select(License, Order).join(Order).where(Order.order_ref.startswith(prefix))
        )
        orders = sorted(
            (o.order_ref, o.provider, o.order_time, o.test_order, bytes(o.profile.email_index or b""))
            for o in Order.select(Order, Profile).join(Profile).where(Order.order_ref.startswith(prefix))
        )
        subscribed = sorted(
            (bytes(p.email_index or b""), p.newsletter_subscribed, p.newsletter_source)
            for p in Profile.select().join(Order).where(Order.order_ref.startswith(prefix)).distinct()
        )
        audit = sorted(
            (e.actor, e.action, e.target, e.detail)
            for e in AuditEvent.select().where(AuditEvent.target.startswith(f"order:{prefix}"))
        )
        return {
            "licenses": licenses,
            "orders": orders,
            "profiles": subscribed,
            "audit": [(action, target, detail) for _, action, target, detail in audit],
            "data_keys": DataKey.select().count(),
            "all_profiles": Profile.select().count(),
        }
    finally:
        service.stop()


def test_pool_import_stores_what_unary_issuance_stores(
    homes: tuple[tuple[Settings, str], tuple[Settings, str]], keyring: Keyring, tmp_path: Path
) -> None:
    (pooled_home, pooled_token), (unary_home, unary_token) = homes
    tag = os.urandom(3).hex()
    requests = _requests(tag)
    pooled = serve_home(
        pooled_home, TEST_PASSPHRASE, "--prepare-processes", "2", log_file=tmp_path / "pool.log"
    )
    unary = serve_home(unary_home, TEST_PASSPHRASE, log_file=tmp_path / "unary.log")
    try:
        bulk, bulk_channel = _stub(pooled)
        single, single_channel = _stub(unary)
        first = bulk.IssueLicenses(_stream(requests), metadata=_auth(pooled_token), timeout=120)
        assert (first.issued, first.existing, list(first.failures)) == (ORDERS, 0, [])
        unary_keys = [
            single.IssueLicense(r, metadata=_auth(unary_token), timeout=30).license.license_key
            for r in requests
        ]
        before_rerun = _stored(pooled_home, keyring, tag)

        again = bulk.IssueLicenses(_stream(requests), metadata=_auth(pooled_token), timeout=120)
        assert (again.issued, again.existing, list(again.failures)) == (0, ORDERS, [])
        # A re-run writes nothing, and leaves no data key of a profile it prepared for nothing.
        assert _stored(pooled_home, keyring, tag) == before_rerun

        # The keys of the imported licenses, derived again from what the import stored, are
        # byte for byte the keys unary issuance signed on the other database.
        retried = [bulk.IssueLicense(r, metadata=_auth(pooled_token), timeout=30) for r in requests]
        assert not any(r.created for r in retried)
        assert [r.license.license_key for r in retried] == unary_keys
        bulk_channel.close()
        single_channel.close()
    finally:
        assert pooled.stop() == 0, pooled.log_tail()
        assert unary.stop() == 0, unary.log_tail()
    imported, issued = _stored(pooled_home, keyring, tag), _stored(unary_home, keyring, tag)
    for table in ("licenses", "orders", "profiles", "audit"):
        assert imported[table] == issued[table], table
    assert len(imported["licenses"]) == ORDERS and len(imported["profiles"]) == 31
    assert "Traceback" not in pooled.log_tail(100_000)


def _until(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_worker_killed_mid_import_answers_unavailable_and_the_retry_completes(
    homes: tuple[tuple[Settings, str], tuple[Settings, str]], tmp_path: Path
) -> None:
    (home, token), _ = homes
    tag = os.urandom(3).hex()
    count = BULK_CHUNK + BULK_CHUNK // 2
    requests = [
        issuance_pb2.IssueLicenseRequest(
            email=f"k{i}.{tag}@example.com", order_id=f"KW-{tag}-{i}", product="photo-pro"
        )
        for i in range(count)
    ]
    server = serve_home(home, TEST_PASSPHRASE, "--prepare-processes", "1", log_file=tmp_path / "kill.log")
    try:
        (worker,) = children_of(server.pid)
        stub, channel = _stub(server)

        def stream() -> Iterator[issuance_pb2.IssueLicensesRequest]:
            yield from _stream(requests[:BULK_CHUNK], per_message=100)
            os.kill(worker, signal.SIGKILL)  # the first chunk is being prepared, or done
            assert _until(lambda: not alive(worker))
            yield from _stream(requests[BULK_CHUNK:], per_message=100)

        with pytest.raises(grpc.RpcError) as failed:
            stub.IssueLicenses(stream(), metadata=_auth(token), timeout=60)
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
        assert reason_of(failed.value) == "WORKER_LOST"

        retry = stub.IssueLicenses(_stream(requests, per_message=100), metadata=_auth(token), timeout=60)
        assert retry.issued + retry.existing == count and not retry.failures
        channel.close()
    finally:
        assert server.stop() == 0, server.log_tail()
    log = server.log_tail(100_000)
    assert "preparation worker ended unexpectedly" in log
    assert "@example.com" not in log and tag not in log


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGKILL"])
def test_no_worker_outlives_its_server(
    homes: tuple[tuple[Settings, str], tuple[Settings, str]], tmp_path: Path, stop: str
) -> None:
    (home, _), _ = homes
    server = serve_home(home, TEST_PASSPHRASE, "--prepare-processes", "2", log_file=tmp_path / "stop.log")
    workers = children_of(server.pid)
    assert len(workers) == 2 and all(alive(pid) for pid in workers)
    if stop == "SIGKILL":
        server.kill()
    else:
        assert server.stop() == 0, server.log_tail()
    assert _until(lambda: not any(alive(pid) for pid in workers)), "a preparation worker outlived its server"


def test_a_rerun_prepares_nothing_and_submits_nothing(
    homes: tuple[tuple[Settings, str], tuple[Settings, str]], keyring: Keyring
) -> None:
    """In process, on the same real database: the second pass of a chunk seals no profile (its
    orders are known before preparation) and hands the group committer no write at all."""
    (home, _), _ = homes
    tag = os.urandom(3).hex()
    requests = _requests(tag, 40)
    messages = [(i, m.SerializeToString()) for i, m in zip(range(0, 40, 25), _stream(requests), strict=True)]
    refs = {r.order_id for r in requests}
    codes = {r.product for r in requests}
    service = Service.start(home, keyring, migrate=False)
    try:
        bulk = BulkIssuer(service.issuer)
        first = bulk.issue(messages, refs, codes, "test")
        assert list(first.outcomes.values()) == [True] * 40 and len(first.created) == 40
        writes = service.issuer.committer.writes

        again = bulk.issue(messages, refs, codes, "test")
        assert list(again.outcomes.values()) == [False] * 40 and not again.created
        assert service.issuer.committer.writes == writes  # nothing was queued for the writer

        products = {code: service.issuer.product(code).number for code in codes}
        ready, failed = prepare_chunk(service.issuer, Chunk(messages, products, {}, frozenset(refs)))
        assert len(ready) == 40 and not failed
        assert all(from_wire(row).new_profile is None for row in ready)  # nothing sealed
    finally:
        service.stop()
