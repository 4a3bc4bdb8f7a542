"""Bad input, oversized requests and a database outage: the status, the reason, the field, and
nothing written, over a real channel on SQLite and PostgreSQL. No call may ever answer UNKNOWN.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pg
import pytest
from google.protobuf import message, timestamp_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import Harness, error_info, running_server
from homes import make_settings

from licensing._proto.licensing.v1 import issuance_pb2, license_pb2, validation_pb2
from licensing.api.server import ServerOptions
from licensing.keyring import Keyring
from licensing.storage.models import AuditEvent, DataKey, License, Order, Profile, database, keystore

EMAIL = "Error.Case.Buyer@Example.com"  # what every case sends unless the case is about the email
CARD = "4111111111111111"  # the Visa test number: passes the Luhn check


def ts(value: dt.datetime | dt.date) -> timestamp_pb2.Timestamp:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value.replace(tzinfo=dt.UTC))
    return stamp


def new_ref() -> str:
    return f"E-{uuid.uuid4().hex[:12]}"


def written() -> tuple[int, ...]:
    """What a refused call must leave unchanged, on the server's own database."""
    return (
        Profile.select().count(),
        Order.select().count(),
        License.select().count(),
        License.select().where(License.revoke_time.is_null(False)).count(),
        AuditEvent.select().count(),
        DataKey.select().count(),
    )


@pytest.fixture(scope="module")
def existing(server: Harness) -> str:
    """An order with a photo-pro license, so revoke and get cases would succeed but for their flaw."""
    ref = new_ref()
    server.issue(EMAIL, ref)
    return ref


@dataclass(frozen=True)
class Case:
    id: str
    method: str  # IssueLicense, RevokeLicense, GetLicense or ValidateKey
    fields: dict[str, Any]
    field: str  # ErrorInfo metadata "field", also named in the message
    reason: str


ORDER_DAY = dt.date(2024, 6, 1)
GOOD_ISSUE: dict[str, Any] = {"email": EMAIL, "product": "photo-pro"}


def issue_case(case_id: str, field: str, reason: str, **fields: Any) -> Case:
    return Case(case_id, "IssueLicense", {**GOOD_ISSUE, **fields}, field, reason)


def terms(**fields: Any) -> license_pb2.LicenseTerms:
    return license_pb2.LicenseTerms(**fields)


CASES = [
    # IssueLicense: the purchaser
    issue_case("issue-email-empty", "email", "EMAIL_REQUIRED", email=""),
    issue_case("issue-email-no-at", "email", "INVALID_EMAIL", email="buyer.example.com"),
    issue_case("issue-email-space", "email", "INVALID_EMAIL", email="error buyer@example.com"),
    issue_case("issue-email-no-domain", "email", "INVALID_EMAIL", email="error.buyer@"),
    issue_case("issue-email-nul", "email", "INVALID_EMAIL", email="error\x00buyer@example.com"),
    # IssueLicense: the order reference
    issue_case("issue-order-empty", "order_id", "ORDER_ID_REQUIRED", order_id=""),
    issue_case("issue-order-65", "order_id", "ORDER_ID_TOO_LONG", order_id="A" * 65),
    issue_case("issue-order-zero-width", "order_id", "ORDER_ID_INVALID", order_id="ORDER\u200b17"),
    issue_case("issue-order-control", "order_id", "ORDER_ID_INVALID", order_id="ORDER\x0717"),
    issue_case("issue-order-newline", "order_id", "ORDER_ID_INVALID", order_id="ORDER-17\n"),
    # (A reference shaped like a card number is a valid reference: tests/server/test_real_world_inputs.py.)
    # IssueLicense: the product
    issue_case("issue-product-unknown", "product", "UNKNOWN_PRODUCT", product="photo-ultra"),
    issue_case("issue-product-empty", "product", "PRODUCT_REQUIRED", product=""),
    issue_case("issue-product-nul", "product", "UNKNOWN_PRODUCT", product="photo\x00pro"),
    issue_case("issue-product-41", "product", "UNKNOWN_PRODUCT", product="p" * 41),
    issue_case("issue-provider", "provider", "PROVIDER_INVALID", provider="Shop Provider"),
    # IssueLicense: the terms and dates
    issue_case("issue-seats", "terms.seats", "SEATS_OUT_OF_RANGE", terms=terms(seats=70000)),
    issue_case("issue-edition", "terms.edition", "EDITION_OUT_OF_RANGE", terms=terms(edition=300)),
    issue_case(
        "issue-flags", "terms.feature_flags", "FLAGS_OUT_OF_RANGE", terms=terms(feature_flags=1 << 16)
    ),
    issue_case(
        "issue-expiry-before-order",
        "terms.expire_time",
        "DATE_OUT_OF_RANGE",
        order_time=ts(ORDER_DAY),
        terms=terms(expire_time=ts(ORDER_DAY - dt.timedelta(days=1))),
    ),
    issue_case(
        "issue-expiry-after-2179",
        "terms.expire_time",
        "DATE_OUT_OF_RANGE",
        terms=terms(expire_time=ts(dt.date(2180, 1, 1))),
    ),
    issue_case(
        "issue-updates-after-2179",
        "terms.updates_until_time",
        "DATE_OUT_OF_RANGE",
        terms=terms(updates_until_time=ts(dt.date(2179, 6, 7))),
    ),
    issue_case(
        "issue-expiry-not-a-timestamp",
        "terms.expire_time",
        "TIMESTAMP_INVALID",
        terms=terms(expire_time=timestamp_pb2.Timestamp(seconds=10**15)),
    ),
    issue_case(
        "issue-order-time-future",
        "order_time",
        "DATE_OUT_OF_RANGE",
        order_time=ts(dt.datetime.now(dt.UTC) + dt.timedelta(days=3)),
    ),
    issue_case(
        "issue-order-time-1999", "order_time", "DATE_OUT_OF_RANGE", order_time=ts(dt.date(1999, 12, 31))
    ),
    issue_case(
        "issue-order-time-bad-nanos",
        "order_time",
        "TIMESTAMP_INVALID",
        order_time=timestamp_pb2.Timestamp(seconds=1_700_000_000, nanos=2_000_000_000),
    ),
    # RevokeLicense ("{existing}" is an order with a license: each case would succeed but for its flaw)
    Case(
        "revoke-no-reason",
        "RevokeLicense",
        {"order_id": "{existing}"},
        "reason",
        "REVOCATION_REASON_REQUIRED",
    ),
    Case(
        "revoke-unknown-reason",
        "RevokeLicense",
        {"order_id": "{existing}", "reason": 99},
        "reason",
        "REVOCATION_REASON_REQUIRED",
    ),
    Case(
        "revoke-note-card",
        "RevokeLicense",
        {
            "order_id": "{existing}",
            "reason": license_pb2.REVOCATION_REASON_REFUND,
            "note": "refunded to card 4111 1111 1111 1111",
        },
        "note",
        "CARD_NUMBER_REFUSED",
    ),
    Case(
        "revoke-note-control",
        "RevokeLicense",
        {
            "order_id": "{existing}",
            "reason": license_pb2.REVOCATION_REASON_REFUND,
            "note": "line one\nline two",
        },
        "note",
        "TEXT_INVALID",
    ),
    Case(
        "revoke-note-201",
        "RevokeLicense",
        {"order_id": "{existing}", "reason": license_pb2.REVOCATION_REASON_REFUND, "note": "n" * 201},
        "note",
        "TEXT_TOO_LONG",
    ),
    Case(
        "revoke-order-empty",
        "RevokeLicense",
        {"reason": license_pb2.REVOCATION_REASON_REFUND},
        "order_id",
        "ORDER_ID_REQUIRED",
    ),
    Case(
        "revoke-order-tab",
        "RevokeLicense",
        {"order_id": "A\tB", "reason": license_pb2.REVOCATION_REASON_FRAUD},
        "order_id",
        "ORDER_ID_INVALID",
    ),
    Case(
        "revoke-product-unknown",
        "RevokeLicense",
        {"order_id": "{existing}", "product": "photo-ultra", "reason": license_pb2.REVOCATION_REASON_REFUND},
        "product",
        "UNKNOWN_PRODUCT",
    ),
    Case(
        "revoke-product-nul",
        "RevokeLicense",
        {
            "order_id": "{existing}",
            "product": "photo-pro\x00",
            "reason": license_pb2.REVOCATION_REASON_REFUND,
        },
        "product",
        "UNKNOWN_PRODUCT",
    ),
    # GetLicense
    Case("get-order-empty", "GetLicense", {"product": "photo-pro"}, "order_id", "ORDER_ID_REQUIRED"),
    Case(
        "get-order-65",
        "GetLicense",
        {"order_id": "B" * 65, "product": "photo-pro"},
        "order_id",
        "ORDER_ID_TOO_LONG",
    ),
    Case(
        "get-order-line-separator",
        "GetLicense",
        {"order_id": "B\u20281", "product": "photo-pro"},
        "order_id",
        "ORDER_ID_INVALID",
    ),
    Case("get-product-empty", "GetLicense", {"order_id": "{existing}"}, "product", "PRODUCT_REQUIRED"),
    Case(
        "get-product-unknown",
        "GetLicense",
        {"order_id": "{existing}", "product": "photo-ultra"},
        "product",
        "UNKNOWN_PRODUCT",
    ),
    Case(
        "get-product-nul",
        "GetLicense",
        {"order_id": "{existing}", "product": "\x00"},
        "product",
        "UNKNOWN_PRODUCT",
    ),
    # ValidateKey (a bad email or key is a verdict, not an error: only the product and build time are arguments)
    Case(
        "validate-product-empty",
        "ValidateKey",
        {"license_key": "K", "email": EMAIL},
        "product",
        "PRODUCT_REQUIRED",
    ),
    Case(
        "validate-product-unknown",
        "ValidateKey",
        {"license_key": "K", "email": EMAIL, "product": "photo-ultra"},
        "product",
        "UNKNOWN_PRODUCT",
    ),
    Case(
        "validate-product-nul",
        "ValidateKey",
        {"license_key": "K", "email": EMAIL, "product": "photo\x00"},
        "product",
        "UNKNOWN_PRODUCT",
    ),
    Case(
        "validate-build-time",
        "ValidateKey",
        {
            "license_key": "K",
            "email": EMAIL,
            "product": "photo-pro",
            "build_time": timestamp_pb2.Timestamp(seconds=-(10**12)),
        },
        "build_time",
        "TIMESTAMP_INVALID",
    ),
]

REQUESTS: dict[str, type[message.Message]] = {
    "IssueLicense": issuance_pb2.IssueLicenseRequest,
    "RevokeLicense": issuance_pb2.RevokeLicenseRequest,
    "GetLicense": issuance_pb2.GetLicenseRequest,
    "ValidateKey": validation_pb2.ValidateKeyRequest,
}


def stub_for(server: Harness, method: str) -> Callable[..., Any]:
    service = server.validation if method == "ValidateKey" else server.issuance
    return getattr(service, method)  # type: ignore[no-any-return]


def build(case: Case, existing: str) -> message.Message:
    fields = {name: existing if value == "{existing}" else value for name, value in case.fields.items()}
    if case.method == "IssueLicense":
        fields.setdefault("order_id", new_ref())
    return REQUESTS[case.method](**fields)


def issue_request(case: Case, existing: str) -> issuance_pb2.IssueLicenseRequest:
    """`build` for an IssueLicense case, typed as the request it is."""
    request = build(case, existing)
    assert isinstance(request, issuance_pb2.IssueLicenseRequest), case
    return request


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_invalid_argument_naming_the_field_and_writes_nothing(
    server: Harness, existing: str, case: Case
) -> None:
    request = build(case, existing)
    before = written()
    with pytest.raises(grpc.RpcError) as refused:
        stub_for(server, case.method)(request, metadata=server.auth("admin"), timeout=30)
    error = refused.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (error.code(), error.details())
    details = error.details() or ""
    assert details.startswith(f"{case.field}: "), details
    info = error_info(error)
    assert info is not None
    assert (info.reason, info.domain, dict(info.metadata)) == (
        case.reason,
        "licensing",
        {"field": case.field},
    )
    assert written() == before
    # The message never repeats what was sent: not the email, nor a card-shaped reference or note.
    for value in (
        EMAIL,
        EMAIL.lower(),
        *(v for v in case.fields.values() if isinstance(v, str) and len(v) >= 6),
    ):
        assert value not in details


def test_every_issue_case_also_fails_inside_a_bulk_stream_and_writes_nothing(
    server: Harness, existing: str
) -> None:
    """IssueLicenses reports each bad item as a failure with its index, field and reason."""
    cases = [case for case in CASES if case.method == "IssueLicense"]
    before = written()
    items = [issuance_pb2.IssueLicensesRequest(request=issue_request(case, existing)) for case in cases]
    response = server.issuance.IssueLicenses(iter(items), metadata=server.auth("issuer"), timeout=60)
    assert (response.issued, response.existing) == (0, 0)
    got = [(f.index, f.field, f.reason) for f in response.failures]
    assert got == [(index, case.field, case.reason) for index, case in enumerate(cases)]
    for failure in response.failures:
        assert EMAIL not in failure.message and CARD not in failure.message
    assert written() == before


def test_a_request_above_the_size_limit_is_resource_exhausted(server: Harness) -> None:
    before = written()
    huge = issuance_pb2.IssueLicenseRequest(
        email="a" * 100_000 + "@example.com", order_id=new_ref(), product="photo-pro"
    )
    assert huge.ByteSize() > ServerOptions().max_message_bytes
    with pytest.raises(grpc.RpcError) as refused:
        server.issuance.IssueLicense(huge, metadata=server.auth(), timeout=30)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "aaaaaaaaaa" not in (refused.value.details() or "")
    assert written() == before
    # The server is unharmed: the next ordinary call is answered.
    assert server.issue("after.huge@example.com", new_ref()).created


@pytest.mark.parametrize("method", ["IssueLicense", "RevokeLicense", "GetLicense", "ValidateKey"])
def test_bytes_that_are_not_a_request_are_refused_never_unknown(server: Harness, method: str) -> None:
    service = "ValidationService" if method == "ValidateKey" else "IssuanceService"
    raw = server.channel.unary_unary(f"/licensing.v1.{service}/{method}")
    before = written()
    with pytest.raises(grpc.RpcError) as refused:
        raw(
            b"\x0a\x05\xff\xfe\xfd\xfc\xfb", metadata=server.auth("admin"), timeout=30
        )  # field 1: invalid UTF-8
    assert refused.value.code() not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.OK)
    assert written() == before


# --- a database outage (PostgreSQL only), on a server of its own ------------------------------------


@pytest.fixture
def outage_server(tmp_path: Path, keyring_path: Path, keyring: Keyring) -> Iterator[tuple[Harness, str]]:
    """A server on fresh PostgreSQL databases, so the shared one is never cut off.

    The models are bound process-wide, so this server takes them over while it runs (hence
    function scope: no other test runs meanwhile) and gives them back to the shared one after.
    """
    settings, databases = make_settings("postgres", tmp_path / "outage", keyring_path)
    bound = (database.obj, keystore.obj)
    try:
        with running_server(
            settings, keyring, ServerOptions(address="127.0.0.1:0", health_interval=0.2)
        ) as harness:
            yield harness, databases[0]
    finally:
        pg.admin_execute(f'ALTER DATABASE "{databases[0]}" ALLOW_CONNECTIONS true')
        if bound[0] is not None:
            database.initialize(bound[0])
            keystore.initialize(bound[1])
        for name in databases:
            pg.drop_database(name)


def wait_for_health(server: Harness, wanted: int, within: float = 5.0) -> float:
    health = health_pb2_grpc.HealthStub(server.channel)
    started = time.monotonic()
    while True:
        status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
        if status == wanted:
            return time.monotonic() - started
        assert time.monotonic() - started < within, f"health stayed {status} for {within} s"
        time.sleep(0.05)


def test_database_outage_is_unavailable_and_the_same_server_recovers(
    outage_server: tuple[Harness, str],
) -> None:
    server, name = outage_server
    assert server.service.settings.database_url.endswith(f"/{name}")
    assert server.issue("outage@example.com", new_ref()).created
    wait_for_health(server, health_pb2.HealthCheckResponse.SERVING)

    pg.admin_execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        pg.admin_execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        calls: list[Callable[[], Any]] = [
            lambda: server.issue("outage@example.com", new_ref()),
            lambda: server.issuance.GetLicense(
                issuance_pb2.GetLicenseRequest(order_id=new_ref(), product="photo-pro"),
                metadata=server.auth(),
                timeout=30,
            ),
            lambda: server.validation.ListSigningKeys(
                validation_pb2.ListSigningKeysRequest(), metadata=server.auth("support"), timeout=30
            ),
            lambda: server.issue("outage@example.com", new_ref()),
        ]
        for call in calls:
            with pytest.raises(grpc.RpcError) as refused:
                call()
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, (
                refused.value.code(),
                refused.value.details(),
            )
            info = error_info(refused.value)
            assert info is not None and info.reason == "DATABASE_UNAVAILABLE"
        wait_for_health(server, health_pb2.HealthCheckResponse.NOT_SERVING)
        health = health_pb2_grpc.HealthStub(server.channel)
        for service in ("licensing.v1.IssuanceService", "licensing.v1.ValidationService"):
            assert health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status == (
                health_pb2.HealthCheckResponse.NOT_SERVING
            )
    finally:
        pg.admin_execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    wait_for_health(server, health_pb2.HealthCheckResponse.SERVING)
    ref = new_ref()
    assert server.issue("outage@example.com", ref).created  # the very first call after recovery
    assert Order.select().where(Order.order_ref == ref).count() == 1
