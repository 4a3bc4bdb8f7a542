"""TLS and mTLS, with certificates the test makes: a client without a valid certificate is refused."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from certs import Pem, make_ca, make_leaf
from harness import Harness, running_server
from homes import make_settings

from licensing._proto.licensing.v1 import validation_pb2, validation_pb2_grpc
from licensing.api.server import ServerOptions, start_server
from licensing.errors import ConfigurationError
from licensing.keyring import Keyring


@dataclass(frozen=True)
class Pki:
    """A CA and the certificates the tests use: the server's (as files), a client's, and a rogue CA's client."""

    folder: Path
    ca: Pem
    ca_path: Path
    server: tuple[Path, Path]
    client: Pem
    rogue_client: Pem


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca_pem, ca_cert, ca_key = make_ca("test CA")
    _, rogue_cert, rogue_key = make_ca("rogue CA")
    (folder / "ca.crt").write_bytes(ca_pem.cert)
    return Pki(
        folder=folder,
        ca=ca_pem,
        ca_path=folder / "ca.crt",
        server=make_leaf("localhost", ca_cert, ca_key, server=True).write(folder, "server"),
        client=make_leaf("order-system", ca_cert, ca_key, server=False),
        rogue_client=make_leaf("intruder", rogue_cert, rogue_key, server=False),
    )


def list_keys(
    port: int, credentials: grpc.ChannelCredentials, token: str
) -> validation_pb2.ListSigningKeysResponse:
    with grpc.secure_channel(f"localhost:{port}", credentials) as channel:
        stub = validation_pb2_grpc.ValidationServiceStub(channel)
        response: validation_pb2.ListSigningKeysResponse = stub.ListSigningKeys(
            validation_pb2.ListSigningKeysRequest(),
            metadata=(("authorization", f"Bearer {token}"),),
            timeout=5,
        )
        return response


@pytest.fixture(scope="module")
def mtls_server(
    tmp_path_factory: pytest.TempPathFactory, keyring_path: Path, keyring: Keyring, pki: Pki
) -> Iterator[Harness]:
    settings, _ = make_settings("sqlite", tmp_path_factory.mktemp("tls-home"), keyring_path)
    cert, key = pki.server
    options = ServerOptions(address="127.0.0.1:0", tls_cert=cert, tls_key=key, client_ca=pki.ca_path)
    with running_server(settings, keyring, options) as harness:
        yield harness


def test_mtls_accepts_a_client_certificate_from_the_ca(mtls_server: Harness, pki: Pki) -> None:
    client = pki.client
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.ca.cert, private_key=client.key, certificate_chain=client.cert
    )
    assert list_keys(mtls_server.port, credentials, mtls_server.tokens["issuer"]).keyring_document


@pytest.mark.parametrize("who", ["no certificate", "rogue certificate", "plaintext"])
def test_mtls_refuses_a_client_without_a_valid_certificate(mtls_server: Harness, pki: Pki, who: str) -> None:
    if who == "plaintext":
        with (
            grpc.insecure_channel(f"127.0.0.1:{mtls_server.port}") as channel,
            pytest.raises(grpc.RpcError) as refused,
        ):
            validation_pb2_grpc.ValidationServiceStub(channel).ListSigningKeys(
                validation_pb2.ListSigningKeysRequest(), timeout=5
            )
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        return
    kwargs: dict[str, bytes] = {}
    if who == "rogue certificate":
        kwargs = {"private_key": pki.rogue_client.key, "certificate_chain": pki.rogue_client.cert}
    credentials = grpc.ssl_channel_credentials(root_certificates=pki.ca.cert, **kwargs)
    with pytest.raises(grpc.RpcError) as refused:
        list_keys(mtls_server.port, credentials, mtls_server.tokens["issuer"])
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_tls_without_client_certificates(
    tmp_path: Path, keyring_path: Path, keyring: Keyring, pki: Pki
) -> None:
    settings, _ = make_settings("sqlite", tmp_path / "home", keyring_path)
    cert, key = pki.server
    with running_server(
        settings, keyring, ServerOptions(address="127.0.0.1:0", tls_cert=cert, tls_key=key)
    ) as harness:
        credentials = grpc.ssl_channel_credentials(root_certificates=pki.ca.cert)
        assert list_keys(harness.port, credentials, harness.tokens["issuer"]).signing_keys


def test_plaintext_on_a_public_address_is_refused_unless_intended(mtls_server: Harness) -> None:
    with pytest.raises(ConfigurationError, match="without TLS"):
        start_server(mtls_server.service, ServerOptions(address="0.0.0.0:0"))
