"""AdminService on both engines: the caller, the audit log newest first, and trends counted in
SQL (issued per day, product and provider; revoked per day, product and reason)."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest
from google.protobuf import timestamp_pb2
from harness import Harness

from licensing._proto.licensing.v1 import admin_pb2, admin_pb2_grpc, issuance_pb2, license_pb2

pytestmark = pytest.mark.postgres


def stamp(day: dt.date) -> timestamp_pb2.Timestamp:
    value = timestamp_pb2.Timestamp()
    value.FromDatetime(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC))
    return value


def admin(server: Harness) -> admin_pb2_grpc.AdminServiceStub:
    return admin_pb2_grpc.AdminServiceStub(server.channel)


def test_get_caller_names_the_token(server: Harness) -> None:
    for role in ("issuer", "support", "admin"):
        caller = admin(server).GetCaller(admin_pb2.GetCallerRequest(), metadata=server.auth(role), timeout=30)
        assert caller.role == role and caller.name.startswith(f"test-{role}-")


def test_trends_count_per_day_product_and_provider(server: Harness) -> None:
    today = dt.datetime.now(dt.UTC).date()
    before = admin(server).GetTrends(
        admin_pb2.GetTrendsRequest(days=30), metadata=server.auth("support"), timeout=30
    )
    plan = [  # (days ago, product, provider, test order)
        (3, "photo-pro", "fastspring", False),
        (3, "photo-pro", "fastspring", False),
        (3, "video-max", "paddle", False),
        (1, "photo-pro", "someone-shop", False),
        (1, "photo-pro", "manual", True),
        (40, "photo-pro", "fastspring", False),
    ]
    for i, (ago, product, provider, test) in enumerate(plan):
        server.issue(
            f"trend{i}@example.com",
            f"TREND-{i}",
            product,
            provider=provider,
            test_order=test,
            order_time=stamp(today - dt.timedelta(days=ago)),
        )
    for order, reason in (
        ("TREND-0", license_pb2.REVOCATION_REASON_REFUND),
        ("TREND-2", license_pb2.REVOCATION_REASON_CHARGEBACK),
    ):
        server.issuance.RevokeLicense(
            issuance_pb2.RevokeLicenseRequest(order_id=order, reason=reason),
            metadata=server.auth("admin"),
            timeout=30,
        )
    after = admin(server).GetTrends(
        admin_pb2.GetTrendsRequest(days=30), metadata=server.auth("support"), timeout=30
    )

    def counts(rows: object) -> dict[tuple[dt.date, str, str], int]:
        out: dict[tuple[dt.date, str, str], int] = {}
        for row in rows:  # type: ignore[attr-defined]
            key = (row.day_time.ToDatetime().date(), row.product, row.category)
            out[key] = out.get(key, 0) + row.count
        return out

    issued_new = {k: v - counts(before.issued).get(k, 0) for k, v in counts(after.issued).items()}
    issued_new = {k: v for k, v in issued_new.items() if v}
    assert issued_new == {
        (today - dt.timedelta(days=3), "photo-pro", "fastspring"): 2,
        (today - dt.timedelta(days=3), "video-max", "paddle"): 1,
        (today - dt.timedelta(days=1), "photo-pro", "other"): 1,  # an unknown provider name is not shown
    }
    revoked_new = {k: v - counts(before.revoked).get(k, 0) for k, v in counts(after.revoked).items()}
    assert {k: v for k, v in revoked_new.items() if v} == {
        (today, "photo-pro", "refund"): 1,
        (today, "video-max", "chargeback"): 1,
    }
    assert after.days == 30 and after.start_time.ToDatetime().date() == today - dt.timedelta(days=29)


def test_trends_reject_a_period_too_long(server: Harness) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        admin(server).GetTrends(
            admin_pb2.GetTrendsRequest(days=5000), metadata=server.auth("support"), timeout=30
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_audit_log_newest_first_filtered_admin_only(server: Harness) -> None:
    server.issue("audit1@example.com", "AUDIT-1", "photo-pro")
    server.issuance.RevokeLicense(
        issuance_pb2.RevokeLicenseRequest(order_id="AUDIT-1", reason=license_pb2.REVOCATION_REASON_FRAUD),
        metadata=server.auth("admin"),
        timeout=30,
    )
    entries = (
        admin(server)
        .ListAuditEntries(
            admin_pb2.ListAuditEntriesRequest(page_size=2), metadata=server.auth("admin"), timeout=30
        )
        .entries
    )
    assert [(e.action, e.target) for e in entries] == [
        ("revoke", "order:AUDIT-1"),
        ("issue", "order:AUDIT-1"),
    ]
    revokes = (
        admin(server)
        .ListAuditEntries(
            admin_pb2.ListAuditEntriesRequest(action="revoke"), metadata=server.auth("admin"), timeout=30
        )
        .entries
    )
    assert revokes and all(e.action == "revoke" for e in revokes)
    for role in ("support", "issuer"):
        with pytest.raises(grpc.RpcError) as caught:
            admin(server).ListAuditEntries(
                admin_pb2.ListAuditEntriesRequest(), metadata=server.auth(role), timeout=30
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as caught:
        admin(server).ListAuditEntries(
            admin_pb2.ListAuditEntriesRequest(page_size=5000), metadata=server.auth("admin"), timeout=30
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
