"""Bulk back-fill over the client-streaming IssueLicenses: each request succeeds or fails alone."""

from __future__ import annotations

import datetime as dt
import uuid

from harness import Harness
from licensing_client import PublicKeyring, validate

from licensing._proto.licensing.v1 import issuance_pb2, license_pb2, validation_pb2
from licensing.storage.models import License, Order


def stream(requests: list[issuance_pb2.IssueLicenseRequest]):  # type: ignore[no-untyped-def]
    for request in requests:
        yield issuance_pb2.IssueLicensesRequest(request=request)


def test_bulk_issue_is_idempotent_and_fails_bad_rows_alone(server: Harness) -> None:
    tag = uuid.uuid4().hex[:8]
    good = [
        issuance_pb2.IssueLicenseRequest(
            email=f"bulk{i % 40}.{tag}@example.com", order_id=f"BK-{tag}-{i}", product="photo-pro"
        )
        for i in range(300)
    ]
    bad = {
        17: issuance_pb2.IssueLicenseRequest(
            email="not-an-email", order_id=f"BK-{tag}-bad1", product="photo-pro"
        ),
        90: issuance_pb2.IssueLicenseRequest(
            email=f"x.{tag}@example.com", order_id=f"BK-{tag}-bad2", product="nope"
        ),
        # the same order as row 0 for another purchaser: a conflict, not a new license
        150: issuance_pb2.IssueLicenseRequest(
            email=f"other.{tag}@example.com", order_id=f"BK-{tag}-0", product="photo-pro"
        ),
    }
    requests = list(good)
    for index in sorted(bad):
        requests.insert(index, bad[index])
    requests.append(good[5])  # a duplicate inside the same stream

    first = server.issuance.IssueLicenses(stream(requests), metadata=server.auth(), timeout=120)
    assert first.issued == 300 and first.existing == 1
    assert {(f.index, f.reason) for f in first.failures} == {
        (17, "INVALID_EMAIL"),
        (90, "UNKNOWN_PRODUCT"),
        (150, "ORDER_EMAIL_MISMATCH"),
    }
    assert next(f for f in first.failures if f.index == 17).field == "email"

    again = server.issuance.IssueLicenses(stream(requests), metadata=server.auth(), timeout=120)
    assert again.issued == 0 and again.existing == 301 and len(again.failures) == 3
    refs = [r.order_id for r in good]
    assert License.select().join(Order).where(Order.order_ref.in_(refs)).count() == 300

    # Keys written in bulk are the keys single issuance gives, and they validate offline.
    single = server.issue(good[7].email, good[7].order_id)
    assert not single.created
    keyring = PublicKeyring.from_json(
        server.validation.ListSigningKeys(
            validation_pb2.ListSigningKeysRequest(), metadata=server.auth()
        ).keyring_document
    )
    assert validate(single.license.license_key, good[7].email, 1, keyring, dt.datetime.now(dt.UTC))
    assert single.license.status == license_pb2.LICENSE_STATUS_VALID
