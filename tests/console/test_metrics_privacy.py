"""The metrics carry no person: after a scenario that calls every RPC, including refusals and a
rate-limit trip, no series name or label value holds an email, key, token or order reference,
and every label value is from the closed set its label allows.

The series are read the way Prometheus reads them: over HTTP from the metrics port.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from harness import Harness, running_server
from homes import make_settings
from licensing_client import Reason
from prometheus_client.parser import text_string_to_metric_families

from licensing import metrics
from licensing._proto.licensing.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    issuance_pb2,
    license_pb2,
    support_pb2,
    support_pb2_grpc,
    validation_pb2,
)
from licensing.api.interceptor import METHOD_ROLES
from licensing.api.server import ServerOptions

PEOPLE = {
    "gus.private@example.com": "ORDER-GUS-77",
    "hana+shop@example.org": "2CO-ORDER-88123",
    "ivan@example.net": "PADDLE-txn_01h9",
}
METHODS = {m.removeprefix("/licensing.v1.") for m in METHOD_ROLES}


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, keyring_path: Path, keyring: Any
) -> Iterator[tuple[Harness, int]]:
    settings, _ = make_settings("sqlite", tmp_path_factory.mktemp("metrics-home"), keyring_path)
    options = ServerOptions(address="127.0.0.1:0", health_interval=0.2, lookup_burst=9, lookups_per_minute=1)
    endpoint = metrics.start_metrics_server("127.0.0.1:0")
    try:
        with running_server(settings, keyring, options) as harness:
            yield harness, endpoint.port
    finally:
        endpoint.stop()


def refused(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    code: grpc.StatusCode = caught.value.code()
    return code


def scenario(h: Harness) -> list[str]:
    """Every RPC at least once, successes and refusals; returns every personal value it sent."""
    sent: list[str] = [*h.tokens.values()]
    keys = []
    for (email, order), provider in zip(
        PEOPLE.items(), ("fastspring", "2checkout", "jane-doe-shop"), strict=True
    ):
        key = h.issue(email, order, "photo-pro", provider=provider).license.license_key
        keys.append(key)
        sent += [email, order, key, key.replace("-", ""), key.lower()]
    h.issue("gus.private@example.com", "ORDER-GUS-77", "photo-pro", provider="fastspring")  # a retry
    bulk = [
        issuance_pb2.IssueLicensesRequest(
            request=issuance_pb2.IssueLicenseRequest(
                email=f"bulk{i}@example.com", order_id=f"BULK-{i}", product="video-max", provider="import"
            )
        )
        for i in range(3)
    ]
    sent += [f"bulk{i}@example.com" for i in range(3)] + [f"BULK-{i}" for i in range(3)]
    h.issuance.IssueLicenses(iter(bulk), metadata=h.auth("issuer"), timeout=30)
    h.issuance.GetLicense(
        issuance_pb2.GetLicenseRequest(order_id="ORDER-GUS-77", product="photo-pro"),
        metadata=h.auth(),
        timeout=30,
    )
    h.issuance.RevokeLicense(
        issuance_pb2.RevokeLicenseRequest(
            order_id="2CO-ORDER-88123",
            product="photo-pro",
            reason=license_pb2.REVOCATION_REASON_CHARGEBACK,
            note="cardholder disputed",
        ),
        metadata=h.auth(),
        timeout=30,
    )
    validate = h.validation.ValidateKey
    validate(
        validation_pb2.ValidateKeyRequest(
            license_key=keys[0], email="gus.private@example.com", product="photo-pro"
        ),
        metadata=h.auth(),
        timeout=30,
    )
    validate(
        validation_pb2.ValidateKeyRequest(
            license_key=keys[1], email="hana+shop@example.org", product="photo-pro"
        ),
        metadata=h.auth(),
        timeout=30,
    )
    validate(
        validation_pb2.ValidateKeyRequest(
            license_key=keys[0], email="someone.else@example.com", product="photo-pro"
        ),
        metadata=h.auth(),
        timeout=30,
    )
    sent.append("someone.else@example.com")
    h.validation.ListSigningKeys(validation_pb2.ListSigningKeysRequest(), metadata=h.auth(), timeout=30)
    h.issuance.ListLicenses(issuance_pb2.ListLicensesRequest(), metadata=h.auth(), timeout=30)
    h.issuance.ListProducts(issuance_pb2.ListProductsRequest(), metadata=h.auth(), timeout=30)
    h.validation.GetRevocationList(validation_pb2.GetRevocationListRequest(), metadata=h.auth(), timeout=30)
    support = support_pb2_grpc.SupportServiceStub(h.channel)
    admin = admin_pb2_grpc.AdminServiceStub(h.channel)
    s = h.auth("support")
    support.FindLicenses(support_pb2.FindLicensesRequest(email="ivan@example.net"), metadata=s, timeout=30)
    support.FindLicenses(support_pb2.FindLicensesRequest(order_id="ORDER-GUS-77"), metadata=s, timeout=30)
    support.FindLicenses(support_pb2.FindLicensesRequest(license_key=keys[2].lower()), metadata=s, timeout=30)
    support.ExportProfile(support_pb2.ExportProfileRequest(email="ivan@example.net"), metadata=s, timeout=30)
    support.SetNewsletterConsent(
        support_pb2.SetNewsletterConsentRequest(email="ivan@example.net", subscribed=True, source="phone"),
        metadata=s,
        timeout=30,
    )
    support.CorrectEmail(
        support_pb2.CorrectEmailRequest(email="ivan@example.net", new_email="ivan.new@example.net"),
        metadata=s,
        timeout=30,
    )
    sent.append("ivan.new@example.net")
    support.EraseProfile(
        support_pb2.EraseProfileRequest(email="ivan.new@example.net"), metadata=s, timeout=30
    )
    admin.GetCaller(admin_pb2.GetCallerRequest(), metadata=s, timeout=30)
    admin.GetTrends(admin_pb2.GetTrendsRequest(days=7), metadata=s, timeout=30)
    admin.ListAuditEntries(admin_pb2.ListAuditEntriesRequest(), metadata=h.auth("admin"), timeout=30)
    # Refusals: a bad token, a wrong role, bad input that quotes nothing back, an unknown order.
    bad_token = "lic_not-a-real-token-of-anyone-0123456789abcdef"
    sent.append(bad_token)
    assert (
        refused(
            lambda: support.FindLicenses(
                support_pb2.FindLicensesRequest(email="gus.private@example.com"),
                metadata=(("authorization", f"Bearer {bad_token}"),),
                timeout=30,
            )
        )
        == grpc.StatusCode.UNAUTHENTICATED
    )
    assert (
        refused(lambda: admin.ListAuditEntries(admin_pb2.ListAuditEntriesRequest(), metadata=s, timeout=30))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert (
        refused(
            lambda: support.FindLicenses(
                support_pb2.FindLicensesRequest(email="no-at-sign.example.com"), metadata=s, timeout=30
            )
        )
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    sent.append("no-at-sign.example.com")
    assert (
        refused(
            lambda: h.issuance.RevokeLicense(
                issuance_pb2.RevokeLicenseRequest(
                    order_id="ORDER-NOBODY-1",
                    product="photo-pro",
                    reason=license_pb2.REVOCATION_REASON_REFUND,
                ),
                metadata=h.auth(),
                timeout=30,
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )
    sent.append("ORDER-NOBODY-1")
    # Look-ups until the per-token limit trips (burst 9, almost no refill).
    codes = [
        refused(
            lambda: [
                support.FindLicenses(
                    support_pb2.FindLicensesRequest(email="gus.private@example.com"), metadata=s, timeout=30
                )
                for _ in range(20)
            ]
        )
    ]
    assert codes == [grpc.StatusCode.RESOURCE_EXHAUSTED]
    return sent


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return str(response.read().decode("utf-8"))


def test_no_personal_data_in_any_series(served: tuple[Harness, int]) -> None:
    harness, port = served
    sent = scenario(harness)
    text = scrape(port)
    for value in sent:
        for variant in {value, value.lower(), value.upper()}:
            assert variant not in text, f"a personal value reached the metrics: {variant[:6]}…"
    assert "@" not in text

    allowed: dict[str, set[str] | frozenset[str] | re.Pattern[str]] = {
        "method": METHODS | {"other"},
        "code": {c.name for c in grpc.StatusCode},
        "reason": re.compile(r"[A-Z][A-Z0-9_]*"),
        "product": {"photo-pro", "video-max", "none", "other"},
        "provider": metrics.KNOWN_PROVIDERS | {"other"},
        "verdict": {"VALID", *(reason.value for reason in Reason)},  # other tests in this process count too
        "by": {"email", "order_id", "license_key"},
        "outcome": {"created", "existing"},
        "le": re.compile(r"[0-9.+Inf]+"),
        "endpoint": {"keygen", "ipn", "lcn", "license", "webhook", "classic"},
        "status": re.compile(r"[1-5][0-9][0-9]"),
    }
    seen: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        assert family.name.startswith("licensing_"), family.name
        for sample in family.samples:
            for label, value in sample.labels.items():
                seen.setdefault(label, set()).add(value)
                rule = allowed[label]
                ok = rule.fullmatch(value) if isinstance(rule, re.Pattern) else value in rule
                assert ok, f"{sample.name}{{{label}={value!r}}}"
    # The scenario did show up, as trends: the series are not empty by accident.
    assert {"photo-pro", "video-max"} <= seen["product"]
    assert "other" in seen["provider"], "a provider outside the known set is counted as other"
    assert {"EMAIL_MISMATCH", "VALID"} <= seen["verdict"]
    assert "RATE_LIMITED" in seen["reason"] or any("rate_limit_trips" in line for line in text.splitlines())
    assert seen["method"] >= METHODS, METHODS - seen["method"]


def test_counts_follow_the_calls(served: tuple[Harness, int]) -> None:
    """Issued counts new licenses only: a retry of the same order adds nothing."""
    harness, port = served

    def issued() -> float:
        total = 0.0
        for family in text_string_to_metric_families(scrape(port)):
            for sample in family.samples:
                if (
                    sample.name == "licensing_licenses_issued_total"
                    and sample.labels["product"] == "video-max"
                ):
                    total += sample.value
        return total

    before = issued()
    harness.issue("jo@example.com", "ORDER-JO-1", "video-max", provider="paddle")
    harness.issue("jo@example.com", "ORDER-JO-1", "video-max", provider="paddle")
    assert issued() == before + 1
