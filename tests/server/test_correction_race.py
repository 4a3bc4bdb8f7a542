"""An email correction and an issuance for the same purchaser, at the same time, on PostgreSQL.

SQLite runs one write transaction at a time; PostgreSQL runs both at once, each seeing what was
committed when its statement started. The interleaving that once went wrong, forced here rather
than hoped for: the correction has moved the profile to the new address and read the licenses it
will reissue, but not committed; the issuance, for a product the purchaser has no license for
yet, reads the profile by the old address. Had the issuance committed a license the correction
never saw, that license's key would be bound to the old address and still validate with it.

The test holds the correction inside its transaction with a table lock (a third connection locks
the table the correction writes next, after its read of the licenses), starts the issuance, waits
until the issuance has finished or is itself waiting on a lock, and then lets both go.

Whatever the order of commits, afterwards no key of the purchaser may validate with the old
address: the issuance was either seen and reissued by the correction, or it was refused
(EMAIL_CORRECTED for the order already recorded, PROFILE_CHANGED for a new one: the profile
moved under the write; a retry then makes the old address a new purchaser, whose email opens).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pg
import psycopg2
import pytest
from harness import Harness, reason_of, running_server, unique_email
from homes import make_settings

from licensing._proto.licensing.v1 import issuance_pb2, support_pb2, validation_pb2
from licensing.keyring import Keyring
from licensing.storage.models import AuditEvent, SupersededLicense

WAIT_SECONDS = 30  # a bound on waiting for the two transactions to reach their locks, not a measurement


@pytest.fixture(scope="module")
def postgres(
    tmp_path_factory: pytest.TempPathFactory, keyring_path: Path, keyring: Keyring
) -> Iterator[tuple[Harness, str]]:
    settings, databases = make_settings("postgres", tmp_path_factory.mktemp("race"), keyring_path)
    try:
        with running_server(settings, keyring) as harness:
            yield harness, databases[0]
    finally:
        for name in databases:
            pg.drop_database(name)


def connect(database: str) -> psycopg2.extensions.connection:
    return psycopg2.connect(host=pg.HOST, port=pg.PORT, user=pg.USER, dbname=database, connect_timeout=3)


def wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


# Which transaction gets in first, and the table a third connection locks to hold it just before
# its commit: the correction after its read of the licenses (its next write is a superseded
# serial), the issuance's group after its licenses are inserted (its next write is the audit).
HOLD = {"correction": SupersededLicense._meta.table_name, "issuance": AuditEvent._meta.table_name}


@pytest.mark.parametrize("first", ["correction", "issuance"])
@pytest.mark.parametrize("order", ["recorded", "new"])
def test_an_issuance_racing_a_correction_leaves_no_key_bound_to_the_old_address(
    postgres: tuple[Harness, str], order: str, first: str
) -> None:
    server, database = postgres
    old, new = unique_email("race-old"), unique_email("race-new")
    first_order = f"R-{uuid.uuid4().hex[:10]}"
    server.issue(old, first_order, "photo-pro")
    racing_order = first_order if order == "recorded" else f"R-{uuid.uuid4().hex[:10]}"

    def correct() -> support_pb2.CorrectEmailResponse:
        response: support_pb2.CorrectEmailResponse = server.support.CorrectEmail(
            support_pb2.CorrectEmailRequest(email=old, new_email=new),
            metadata=server.auth("support"),
            timeout=WAIT_SECONDS * 2,
        )
        return response

    def issue() -> issuance_pb2.IssueLicenseResponse:
        return server.issue(old, racing_order, "video-max")

    holder, watch = connect(database), connect(database)
    watch.autocommit = True
    try:
        with holder.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{HOLD[first]}" IN EXCLUSIVE MODE')
        with ThreadPoolExecutor(max_workers=2) as pool:
            reached = f"the {first} to reach the held table"
            following: Future[Any]
            if first == "correction":
                correction = pool.submit(correct)
                wait_until(lambda: pg.waiting_on_locks(watch, database) >= 1, reached)
                issuance = following = pool.submit(issue)
            else:
                issuance = pool.submit(issue)
                wait_until(lambda: pg.waiting_on_locks(watch, database) >= 1, reached)
                correction = following = pool.submit(correct)
            wait_until(
                lambda: following.done() or pg.waiting_on_locks(watch, database) >= 2,
                "the second call to finish or to wait on the first",
            )
            holder.rollback()  # let the first go on and commit
            replaced = correction.result(timeout=WAIT_SECONDS)
            try:
                issued: issuance_pb2.IssueLicenseResponse | None = issuance.result(timeout=WAIT_SECONDS)
                refused = ""
            except grpc.RpcError as error:
                issued, refused = None, reason_of(error)
    finally:
        holder.close()
        watch.close()

    assert replaced.profile.profile.email == new
    if issued is not None:  # the correction must have seen the new license and moved it
        verdict = server.validation.ValidateKey(
            validation_pb2.ValidateKeyRequest(
                license_key=issued.license.license_key, email=old, product="video-max"
            ),
            metadata=server.auth(),
            timeout=30,
        )
        assert not verdict.valid, "a key issued during the correction still validates with the old address"
        products = {lic.product for o in replaced.profile.orders for lic in o.licenses}
        assert products == {"photo-pro", "video-max"}, "the license issued first was not reissued"
    assert (issued is not None) == (first == "issuance"), refused  # and when not, it was refused:
    if first == "issuance":
        return
    if order == "recorded":
        assert refused == "EMAIL_CORRECTED", refused
        return
    assert refused == "PROFILE_CHANGED", refused
    again = server.issue(old, racing_order, "video-max")  # the old address is free: a new purchaser
    found = server.support.FindLicenses(
        support_pb2.FindLicensesRequest(email=old), metadata=server.auth("support"), timeout=30
    )
    assert [record.profile.email for record in found.profiles] == [old]  # its email opens: a data key
    assert again.created
