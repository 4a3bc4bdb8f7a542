"""A real bridge in front of a real server, both as child processes, shared by the bridge tests.

The server is `licensing serve` on SQLite in a temporary home (tests/harness.py serve_home);
the bridge is `licensing bridge serve` with a configuration for all three providers (stack.py),
secrets in its environment, and the server's issuer token.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from harness import PRODUCTS, ServerChild, serve_home
from homes import TEST_PASSPHRASE, make_settings

from licensing._proto.licensing.v1 import validation_pb2, validation_pb2_grpc

from .stack import CONFIG, SECRETS, Bridge, PaddleApi


@pytest.fixture(scope="session")
def bridge(tmp_path_factory: pytest.TempPathFactory, keyring_path: Path) -> Iterator[Bridge]:
    from licensing.products import add_product
    from licensing.service import bind_databases
    from licensing.storage.models import database, keystore
    from licensing.tokens import Role, create_token

    root = tmp_path_factory.mktemp("bridge")
    settings, _ = make_settings("sqlite", root / "home", keyring_path)
    bind_databases(settings)
    for code, number in PRODUCTS.items():
        add_product(code, number, code)
    issuer_token = create_token("bridge-issuer", Role.ISSUER)
    support_token = create_token("bridge-support", Role.SUPPORT)
    # The tests' own look-ups: GetLicense spends look-ups per token, and the bridge's budget is its own.
    reader_token = create_token("test-reader", Role.ISSUER)
    for db in (database.obj, keystore.obj):
        if db is not None:
            db.close()

    # The tests' GetLicense calls add up over the session's modules; how fast they come depends on
    # how fast the server answers, so the reader's budget must not be what decides a test.
    server = serve_home(settings, TEST_PASSPHRASE, "--lookup-burst", "1000")

    paddle_api = ThreadingHTTPServer(("127.0.0.1", 0), PaddleApi)
    customers: dict[str, str] = {}
    PaddleApi.customers = customers
    threading.Thread(target=paddle_api.serve_forever, daemon=True).start()

    classic_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (root / "paddle_classic.pem").write_bytes(
        classic_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    config_file = root / "bridge.toml"
    config_file.write_text(CONFIG.format(server_port=server.port, paddle_port=paddle_api.server_address[1]))
    log_file = root / "bridge.log"
    env = {**os.environ, **SECRETS, "LICENSING_ISSUER_TOKEN": issuer_token}
    bridge = ServerChild(
        [sys.executable, "-m", "licensing.cli.main", "bridge", "serve", "--config", str(config_file)],
        env,
        log_file,
    )
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        keyring_file = root / "keyring.json"
        response = validation_pb2_grpc.ValidationServiceStub(channel).ListSigningKeys(
            validation_pb2.ListSigningKeysRequest(),
            metadata=(("authorization", f"Bearer {issuer_token}"),),
            timeout=20,
        )
        keyring_file.write_bytes(response.keyring_document)
        yield Bridge(
            port=bridge.port,
            channel=channel,
            issuer_token=issuer_token,
            support_token=support_token,
            reader_token=reader_token,
            keyring_file=keyring_file,
            log_file=log_file,
            server_log=server.log_file,
            classic_key=classic_key,
            customers=customers,
        )
    finally:
        channel.close()
        bridge_code = bridge.stop()
        paddle_api.shutdown()
        server_code = server.stop()
        assert bridge_code == 0, log_file.read_text()[-2000:]
        assert server_code == 0
