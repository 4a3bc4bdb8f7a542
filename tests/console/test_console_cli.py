"""`licensing console serve` and `--metrics-address` as an operator runs them: the refusals of
plaintext, HTTPS with Secure cookies, and the server's metrics port, each in a real process."""

from __future__ import annotations

import os
import socket
import ssl
import sys
import urllib.request
from pathlib import Path

import grpc
import pytest
from certs import make_ca, make_leaf
from harness import ServerChild, serve_home
from homes import TEST_PASSPHRASE, make_settings

from licensing._proto.licensing.v1 import support_pb2, support_pb2_grpc
from licensing.cli.main import main


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_plain_http_on_a_non_loopback_address_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["console", "serve", "--address", "0.0.0.0:0"]) == 1
    err = capsys.readouterr().err
    assert "refusing to serve the console on 0.0.0.0:0 without TLS" in err and "Traceback" not in err


def test_plaintext_to_a_remote_server_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["console", "serve", "--server", "10.20.30.40:50051"]) == 1
    assert "refusing to send tokens in plaintext to 10.20.30.40:50051" in capsys.readouterr().err


def test_https_console_sets_secure_host_cookies(tmp_path: Path) -> None:
    ca, ca_cert, ca_key = make_ca("console test CA")
    cert, key = make_leaf("localhost", ca_cert, ca_key, server=True).write(tmp_path, "console")
    console = ServerChild(
        [
            sys.executable,
            "-m",
            "licensing.cli.main",
            "console",
            "serve",
            "--address",
            "127.0.0.1:0",
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
            "--server",
            "127.0.0.1:1",
        ],
        os.environ,
        tmp_path / "console.log",
    )
    try:
        assert "(https)" in console.first_line, console.first_line
        port = console.port
        context = ssl.create_default_context(cadata=ca.cert.decode())
        with urllib.request.urlopen(
            f"https://127.0.0.1:{port}/sign-in", context=context, timeout=10
        ) as response:
            cookie = response.headers["Set-Cookie"]
            assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        assert cookie.startswith("__Host-console=")
        assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"))
    finally:
        console.stop()


def test_server_metrics_address_serves_the_trend_series(tmp_path: Path, keyring_path: Path) -> None:
    settings, _ = make_settings("sqlite", tmp_path / "home", keyring_path)
    port = free_port()
    server = serve_home(settings, TEST_PASSPHRASE, "--metrics-address", str(port))
    try:
        stub = support_pb2_grpc.SupportServiceStub(server.channel())
        with pytest.raises(grpc.RpcError) as caught:
            stub.FindLicenses(support_pb2.FindLicensesRequest(email="kim@example.com"), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            text = response.read().decode()
        assert (
            'licensing_rpc_requests_total{code="UNAUTHENTICATED",method="SupportService/FindLicenses"} 1.0'
            in text
        )
        assert (
            'licensing_refusals_total{method="SupportService/FindLicenses",reason="TOKEN_MISSING"} 1.0'
            in text
        )
        assert "kim@" not in text
    finally:
        assert server.stop() == 0
