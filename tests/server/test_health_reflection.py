"""The standard tooling endpoints: gRPC health checking and server reflection, without a token."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from harness import Harness

LICENSING_SERVICES = ("licensing.v1.IssuanceService", "licensing.v1.ValidationService")


def reflect(
    server: Harness, request: reflection_pb2.ServerReflectionRequest
) -> reflection_pb2.ServerReflectionResponse:
    stub = reflection_pb2_grpc.ServerReflectionStub(server.channel)
    [response] = list(stub.ServerReflectionInfo(iter([request]), timeout=10))
    return response


@pytest.mark.parametrize("service", ["", *LICENSING_SERVICES])
def test_health_check_is_serving(server: Harness, service: str) -> None:
    health = health_pb2_grpc.HealthStub(server.channel)
    answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_health_check_of_an_unknown_service_is_not_found(server: Harness) -> None:
    health = health_pb2_grpc.HealthStub(server.channel)
    with pytest.raises(grpc.RpcError) as refused:
        health.Check(health_pb2.HealthCheckRequest(service="licensing.v1.NoSuchService"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND


def test_health_watch_streams_the_current_status(server: Harness) -> None:
    health = health_pb2_grpc.HealthStub(server.channel)
    stream = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)
    try:
        assert next(stream).status == health_pb2.HealthCheckResponse.SERVING
    finally:
        stream.cancel()


def test_reflection_lists_the_services(server: Harness) -> None:
    response = reflect(server, reflection_pb2.ServerReflectionRequest(list_services=""))
    names = {service.name for service in response.list_services_response.service}
    assert names >= {*LICENSING_SERVICES, "grpc.health.v1.Health"}
    assert "grpc.reflection.v1alpha.ServerReflection" in names


def test_reflection_finds_the_file_declaring_the_issuance_service(server: Harness) -> None:
    response = reflect(
        server, reflection_pb2.ServerReflectionRequest(file_containing_symbol="licensing.v1.IssuanceService")
    )
    assert not response.HasField("error_response"), response.error_response
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in response.file_descriptor_response.file_descriptor_proto
    ]
    by_name = {f.name: f for f in files}
    assert "licensing/v1/issuance.proto" in by_name
    issuance = by_name["licensing/v1/issuance.proto"]
    assert issuance.package == "licensing.v1"
    [service] = [s for s in issuance.service if s.name == "IssuanceService"]
    assert {m.name for m in service.method} >= {
        "IssueLicense",
        "IssueLicenses",
        "RevokeLicense",
        "GetLicense",
    }


def test_reflection_of_an_unknown_symbol_is_an_error_response(server: Harness) -> None:
    response = reflect(
        server, reflection_pb2.ServerReflectionRequest(file_containing_symbol="licensing.v1.Nothing")
    )
    assert response.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
