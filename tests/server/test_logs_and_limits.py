"""Logs serve trends and never tie to a person; look-ups are rate-limited per token."""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from harness import running_server
from homes import make_settings

from licensing._proto.licensing.v1 import (
    issuance_pb2,
    license_pb2,
    support_pb2,
    support_pb2_grpc,
    validation_pb2,
)
from licensing.api.server import ServerOptions
from licensing.keyring import Keyring


def test_a_full_scenario_logged_at_debug_names_no_email_key_or_token(
    tmp_path: Path, keyring_path: Path, keyring: Keyring, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings, _ = make_settings("sqlite", tmp_path / "home", keyring_path)
    secrets_seen: list[str] = []
    with running_server(settings, keyring) as server:
        secrets_seen += server.tokens.values()
        stub = support_pb2_grpc.SupportServiceStub(server.channel)
        md = server.auth("support")
        for i in range(3):
            email, ref = f"private.person{i}@example.net", f"L-{uuid.uuid4().hex[:10]}"
            secrets_seen.append(email)
            key = server.issue(email, ref).license.license_key
            secrets_seen.append(key)
            secrets_seen.append(key.replace("-", ""))
            stub.FindLicenses(support_pb2.FindLicensesRequest(email=email), metadata=md)
            stub.FindLicenses(support_pb2.FindLicensesRequest(license_key=key), metadata=md)
            server.validation.ValidateKey(
                validation_pb2.ValidateKeyRequest(license_key=key, email=email, product="photo-pro"),
                metadata=md,
            )
            stub.ExportProfile(support_pb2.ExportProfileRequest(email=email), metadata=md)
            server.issuance.RevokeLicense(
                issuance_pb2.RevokeLicenseRequest(order_id=ref, reason=license_pb2.REVOCATION_REASON_REFUND),
                metadata=server.auth(),
            )
            stub.EraseProfile(support_pb2.EraseProfileRequest(email=email), metadata=md)
        bad_requests = [
            issuance_pb2.IssueLicenseRequest(
                email="broken@@example.net", order_id="X-1", product="photo-pro"
            ),
            issuance_pb2.IssueLicenseRequest(
                email="card.holder@example.net", order_id="X-\n3", product="photo-pro"
            ),
            issuance_pb2.IssueLicenseRequest(
                email="someone@example.net", order_id="X-2", product="no-such-product"
            ),
        ]
        secrets_seen += [
            "broken@@example.net",
            "card.holder@example.net",
            "4111111111111111",
            "someone@example.net",
        ]
        for request in bad_requests:
            with pytest.raises(grpc.RpcError):
                server.issuance.IssueLicense(request, metadata=server.auth())
        with pytest.raises(grpc.RpcError):
            server.issuance.IssueLicense(
                bad_requests[0], metadata=(("authorization", "Bearer lic_not-a-real-token"),)
            )
        secrets_seen.append("lic_not-a-real-token")
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "rpc method=/licensing.v1.SupportService/FindLicenses code=OK" in logged  # trends are logged
    leaks = [s for s in secrets_seen if s and s.lower() in logged.lower()]
    assert leaks == []


def test_lookups_are_rate_limited_per_token_and_recover(
    tmp_path: Path, keyring_path: Path, keyring: Keyring
) -> None:
    settings, _ = make_settings("sqlite", tmp_path / "home", keyring_path)
    options = ServerOptions(address="127.0.0.1:0", lookups_per_minute=30, lookup_burst=3)  # refill: 2 s
    with running_server(settings, keyring, options) as server:
        stub = support_pb2_grpc.SupportServiceStub(server.channel)

        def look_up(who: str) -> None:
            stub.FindLicenses(support_pb2.FindLicensesRequest(order_id="R-1"), metadata=server.auth(who))

        for _ in range(3):
            look_up("support")
        with pytest.raises(grpc.RpcError) as limited:
            look_up("support")
        assert limited.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        status = rpc_status.from_call(limited.value)
        retry = error_details_pb2.RetryInfo()
        assert any(d.Unpack(retry) for d in status.details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR))
        assert 0 < retry.retry_delay.ToNanoseconds() <= 2e9
        look_up("admin")  # another token has its own budget
        time.sleep(retry.retry_delay.ToNanoseconds() / 1e9 + 0.05)
        look_up("support")  # recovered
