"""One license per order under concurrency: threads on one server, and two server processes.

The guarantee comes from unique indexes in the database, so it must hold across processes
that share nothing but PostgreSQL.
"""

from __future__ import annotations

import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pg
from harness import PRODUCTS, Harness, ServerProcess
from homes import TEST_PASSPHRASE, make_settings

from licensing._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc
from licensing.products import add_product
from licensing.service import bind_databases
from licensing.storage.models import License, Order, Profile
from licensing.tokens import Role, create_token


def test_fifty_concurrent_identical_requests_give_one_license_and_fifty_identical_keys(
    server: Harness,
) -> None:
    ref = f"C-{uuid.uuid4().hex[:10]}"
    request = issuance_pb2.IssueLicenseRequest(email="race@example.com", order_id=ref, product="photo-pro")
    barrier_free_calls = [
        server.issuance.IssueLicense.future(request, metadata=server.auth(), timeout=60) for _ in range(50)
    ]
    responses = [call.result() for call in barrier_free_calls]
    assert len({r.license.license_key for r in responses}) == 1
    assert sum(r.created for r in responses) == 1
    assert License.select().join(Order).where(Order.order_ref == ref).count() == 1
    assert Profile.select().where(Profile.email_index.is_null(False)).count() >= 1


def test_concurrent_orders_of_one_new_purchaser_share_one_profile(server: Harness) -> None:
    email = f"many-{uuid.uuid4().hex[:6]}@example.com"
    refs = [f"P-{uuid.uuid4().hex[:10]}" for _ in range(20)]
    calls = [
        server.issuance.IssueLicense.future(
            issuance_pb2.IssueLicenseRequest(email=email, order_id=ref, product="photo-pro"),
            metadata=server.auth(),
            timeout=60,
        )
        for ref in refs
    ]
    for call in calls:
        call.result()
    owners = {order.profile_id for order in Order.select().where(Order.order_ref.in_(refs))}
    assert len(owners) == 1


def test_two_server_processes_on_one_postgresql_database_give_one_license_per_order(
    tmp_path: Path, keyring_path: Path
) -> None:
    settings, databases = make_settings("postgres", tmp_path / "home", keyring_path)
    try:
        bind_databases(settings)
        for code, number in PRODUCTS.items():
            add_product(code, number, code)
        token = create_token("race-issuer", Role.ISSUER)
        servers = [ServerProcess(settings, TEST_PASSPHRASE), ServerProcess(settings, TEST_PASSPHRASE)]
        try:
            stubs = [issuance_pb2_grpc.IssuanceServiceStub(s.channel()) for s in servers]
            refs = [f"R-{secrets.token_hex(5)}" for _ in range(40)]
            metadata = (("authorization", f"Bearer {token}"),)

            def issue(job: tuple[int, str]) -> str:
                index, ref = job
                request = issuance_pb2.IssueLicenseRequest(
                    email=f"{ref}@example.com", order_id=ref, product="photo-pro"
                )
                return str(
                    stubs[index % 2].IssueLicense(request, metadata=metadata, timeout=60).license.license_key
                )

            # Every order is asked for 6 times, alternating between the two processes.
            jobs = [(i, ref) for ref in refs for i in range(6)]
            with ThreadPoolExecutor(max_workers=24) as pool:
                keys = list(pool.map(issue, jobs))
            by_ref: dict[str, set[str]] = {}
            for (_, ref), key in zip(jobs, keys, strict=True):
                by_ref.setdefault(ref, set()).add(key)
            assert all(len(found) == 1 for found in by_ref.values())
            for ref in refs:
                assert License.select().join(Order).where(Order.order_ref == ref).count() == 1
        finally:
            codes = [s.stop() for s in servers]
        assert codes == [0, 0], [s.stderr[-2000:] for s in servers]
    finally:
        from licensing.storage.models import database, keystore

        database.obj.close() if database.obj else None
        keystore.obj.close() if keystore.obj else None
        for name in databases:
            pg.drop_database(name)
