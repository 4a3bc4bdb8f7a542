"""Who may call what: every registered method refuses missing, bad, unknown and revoked tokens and
roles it does not allow, and lets the allowed roles through, over a real channel on both engines.

The methods come from METHOD_ROLES, narrowed to the services the running server actually offers
(asked through its reflection service), so a service registered later is covered without an edit.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool, message, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from harness import Harness, error_info

from licensing._proto.licensing.v1 import (  # noqa: F401  (imported to load every service into the pool)
    issuance_pb2,
    license_pb2,
    support_pb2,
    validation_pb2,
)
from licensing.api.interceptor import METHOD_ROLES
from licensing.tokens import TOKEN_PREFIX, Role, create_token, revoke_token

Metadata = tuple[tuple[str, str], ...]


def _name(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:10]}"


# Requests that would get past validation (or fail on it, never on auth). Methods without an entry
# (services registered later) get their empty request: auth is decided before the request is read.
SAMPLES: dict[str, Callable[[], message.Message]] = {
    "/licensing.v1.IssuanceService/IssueLicense": lambda: issuance_pb2.IssueLicenseRequest(
        email="auth@example.com", order_id=_name("AUTH"), product="photo-pro"
    ),
    "/licensing.v1.IssuanceService/IssueLicenses": lambda: issuance_pb2.IssueLicensesRequest(
        request=issuance_pb2.IssueLicenseRequest(
            email="bulk@example.com", order_id=_name("BULK"), product="photo-pro"
        )
    ),
    "/licensing.v1.IssuanceService/RevokeLicense": lambda: issuance_pb2.RevokeLicenseRequest(
        order_id=_name("NONE"), reason=license_pb2.REVOCATION_REASON_REFUND
    ),
    "/licensing.v1.IssuanceService/GetLicense": lambda: issuance_pb2.GetLicenseRequest(
        order_id=_name("NONE"), product="photo-pro"
    ),
    "/licensing.v1.ValidationService/ValidateKey": lambda: validation_pb2.ValidateKeyRequest(
        license_key="AAAAA-BBBBB", email="auth@example.com", product="photo-pro"
    ),
    "/licensing.v1.ValidationService/ListSigningKeys": validation_pb2.ListSigningKeysRequest,
    "/licensing.v1.ValidationService/GetRevocationList": validation_pb2.GetRevocationListRequest,
}


def served_services(channel: grpc.Channel) -> set[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    [response] = list(
        stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
        )
    )
    return {service.name for service in response.list_services_response.service}


@pytest.fixture(scope="module")
def methods(server: Harness) -> list[str]:
    """The METHOD_ROLES entries whose service the server registers."""
    served = served_services(server.channel)
    chosen = [method for method in METHOD_ROLES if method.split("/")[1] in served]
    # The two services start_server registers today must be among them, or this test tests nothing.
    assert {m.split("/")[1] for m in chosen} >= {
        "licensing.v1.IssuanceService",
        "licensing.v1.ValidationService",
    }
    return chosen


def call(channel: grpc.Channel, method: str, metadata: Metadata | None) -> Any:
    """Call `method` with its sample request; client-streaming methods get a one-item stream."""
    service_name, method_name = method.strip("/").split("/")
    descriptor = descriptor_pool.Default().FindServiceByName(service_name).methods_by_name[method_name]
    request_class = message_factory.GetMessageClass(descriptor.input_type)
    response_class = message_factory.GetMessageClass(descriptor.output_type)
    request = SAMPLES.get(method, request_class)()
    assert isinstance(request, request_class)
    kwargs: dict[str, Any] = {"metadata": metadata, "timeout": 30}
    if descriptor.client_streaming:
        stub = channel.stream_unary(
            method,
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        return stub(iter([request]), **kwargs)
    stub = channel.unary_unary(
        method,
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    return stub(request, **kwargs)


def refused(channel: grpc.Channel, method: str, metadata: Metadata | None) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(channel, method, metadata)
    return caught.value


def bearer(token: str) -> Metadata:
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture
def secrets_seen(server: Harness, caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """Capture every log record at DEBUG; after the test, no token (known or made in it) may appear."""
    caplog.set_level(logging.DEBUG)
    extra: list[str] = []
    yield extra
    tokens = [*server.tokens.values(), *extra]
    records = caplog.get_records("setup") + caplog.get_records("call")
    assert any(r.name == "licensing.rpc" for r in records), (
        "no rpc line was logged: the check would prove nothing"
    )
    for record in records:
        text = record.getMessage() + (record.exc_text or "")
        for token in tokens:
            assert token not in text, f"a token appears in the log record {record.name}: {record.msg!r}"
            assert token.removeprefix(TOKEN_PREFIX) not in text


def assert_unauthenticated(error: grpc.RpcError, reason: str) -> None:
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED, (error.code(), error.details())
    info = error_info(error)
    assert info is not None and info.reason == reason and info.domain == "licensing"


# --- no token, a bad one, an unknown one, a revoked one ----------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        (None, "TOKEN_MISSING"),
        ((("authorization", "lic_" + "A" * 43),), "TOKEN_MISSING"),  # the scheme is missing
        ((("authorization", "Basic dXNlcjpwYXNzd29yZA=="),), "TOKEN_MISSING"),
        ((("authorization", "Bearer"),), "TOKEN_MISSING"),
        ((("authorization", "Bearer not-a-token"),), "TOKEN_INVALID"),
        ((("authorization", "Bearer lic_" + "A" * 300),), "TOKEN_INVALID"),
        ((("x-api-key", "Bearer lic_" + "A" * 43),), "TOKEN_MISSING"),  # the right value, the wrong header
    ],
    ids=["none", "no-scheme", "basic", "empty-bearer", "no-prefix", "over-long", "other-header"],
)
def test_missing_or_malformed_header_is_unauthenticated(
    server: Harness, methods: list[str], secrets_seen: list[str], metadata: Metadata | None, reason: str
) -> None:
    for method in methods:
        assert_unauthenticated(refused(server.channel, method, metadata), reason)


def test_unknown_token_is_unauthenticated(
    server: Harness, methods: list[str], secrets_seen: list[str]
) -> None:
    unknown = TOKEN_PREFIX + secrets.token_urlsafe(32)  # well-formed, never stored
    secrets_seen.append(unknown)
    for method in methods:
        error = refused(server.channel, method, bearer(unknown))
        assert_unauthenticated(error, "TOKEN_INVALID")
        assert unknown not in (error.details() or "")


def test_revoked_token_is_unauthenticated_for_every_role(
    server: Harness, methods: list[str], secrets_seen: list[str]
) -> None:
    for role in Role:
        name = _name(f"revoked-{role.value}")
        token = create_token(name, role)
        secrets_seen.append(token)
        revoke_token(name)
        for method in methods:
            assert_unauthenticated(refused(server.channel, method, bearer(token)), "TOKEN_INVALID")


def test_a_token_revoked_while_serving_is_refused_on_the_next_call(
    server: Harness, secrets_seen: list[str]
) -> None:
    name = _name("short-lived")
    token = create_token(name, Role.ISSUER)
    secrets_seen.append(token)
    listing = validation_pb2.ListSigningKeysRequest()
    assert server.validation.ListSigningKeys(listing, metadata=bearer(token), timeout=10).signing_keys
    revoke_token(name)
    with pytest.raises(grpc.RpcError) as caught:
        server.validation.ListSigningKeys(listing, metadata=bearer(token), timeout=10)
    assert_unauthenticated(caught.value, "TOKEN_INVALID")


# --- roles ------------------------------------------------------------------------------------------


def test_roles_not_allowed_are_permission_denied(
    server: Harness, methods: list[str], secrets_seen: list[str]
) -> None:
    denied = 0
    for method in methods:
        for role in set(Role) - METHOD_ROLES[method]:
            error = refused(server.channel, method, server.auth(role.value))
            assert error.code() == grpc.StatusCode.PERMISSION_DENIED, (
                method,
                role,
                error.code(),
                error.details(),
            )
            info = error_info(error)
            assert info is not None and info.reason == "ROLE_NOT_ALLOWED"
            denied += 1
    assert denied >= 4  # support may not call any of the four IssuanceService methods


def test_allowed_roles_get_past_authorisation(
    server: Harness, methods: list[str], secrets_seen: list[str]
) -> None:
    for method in methods:
        for role in METHOD_ROLES[method]:
            try:
                call(server.channel, method, server.auth(role.value))
            except grpc.RpcError as error:
                assert error.code() not in (
                    grpc.StatusCode.UNAUTHENTICATED,
                    grpc.StatusCode.PERMISSION_DENIED,
                ), (
                    method,
                    role,
                    error.code(),
                    error.details(),
                )
                assert error.code() != grpc.StatusCode.UNKNOWN


def test_the_allowed_roles_match_the_least_privilege_table() -> None:
    issuer_or_admin = frozenset({Role.ISSUER, Role.ADMIN})
    for name in ("IssueLicense", "IssueLicenses", "RevokeLicense", "GetLicense"):
        assert METHOD_ROLES[f"/licensing.v1.IssuanceService/{name}"] == issuer_or_admin
    for name in ("ValidateKey", "ListSigningKeys", "GetRevocationList"):
        assert METHOD_ROLES[f"/licensing.v1.ValidationService/{name}"] == frozenset(Role)
    for method, roles in METHOD_ROLES.items():
        if method.startswith("/licensing.v1.SupportService/"):
            assert Role.ISSUER not in roles, method  # the order system never looks customers up


def test_every_method_of_the_api_is_in_the_role_table() -> None:
    pool = descriptor_pool.Default()
    for service_name in (
        "licensing.v1.IssuanceService",
        "licensing.v1.ValidationService",
        "licensing.v1.SupportService",
    ):
        for method in pool.FindServiceByName(service_name).methods:
            assert f"/{service_name}/{method.name}" in METHOD_ROLES


# --- public endpoints ---------------------------------------------------------------------------------


def test_health_and_reflection_answer_without_a_token(server: Harness) -> None:
    health = health_pb2_grpc.HealthStub(server.channel)
    answer = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert "licensing.v1.IssuanceService" in served_services(server.channel)
