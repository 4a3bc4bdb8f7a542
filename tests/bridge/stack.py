"""The pieces of the bridge test stack: the config, the client helpers, a Paddle API stand-in.

The server is `licensing serve` on SQLite in a temporary home (tests/harness.py serve_home);
the bridge is `licensing bridge serve` with a configuration for all three providers, secrets
in its environment, and the server's issuer token. Paddle's customer API is a stand-in on
loopback, since Paddle Billing webhooks carry a customer ID rather than an email address.
Tests post real-format requests with urllib and check keys with the client's `license-check`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import grpc
from cryptography.hazmat.primitives.asymmetric import rsa

from licensing._proto.licensing.v1 import (
    issuance_pb2,
    issuance_pb2_grpc,
    license_pb2,
    support_pb2,
    support_pb2_grpc,
)

SECRETS = {
    "TEST_2CO_SECRET": "2co-secret-Zq81xVb3",
    "TEST_FS_PRIVATE_KEY": "fs-private-key-Pq77wR",
    "TEST_FS_WEBHOOK_SECRET": "fs-webhook-secret-Hh29",
    "TEST_PADDLE_SECRET": "pdl_ntf_01testsecretoldoldoldold_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "TEST_PADDLE_SECRET_NEW": "pdl_ntf_01testsecretnewnewnewnew_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
    "TEST_PADDLE_API_KEY": "pdl_sdbx_apikey_test_CCCCCCCC",
}

CONFIG = """
listen = "127.0.0.1:0"
server = "127.0.0.1:{server_port}"
deadline_seconds = 20
max_keys_per_line = 20

[twocheckout]
secret_env = "TEST_2CO_SECRET"
lcn_order_field = "REFNO"
[twocheckout.products.PHOTO-1Y]
product = "photo-pro"
seats_per_unit = 1
expire_days = 365
[twocheckout.products.VIDEO-UNIT]
product = "video-max"
key_per_unit = true

[fastspring]
license_secret_env = "TEST_FS_PRIVATE_KEY"
webhook_secret_env = "TEST_FS_WEBHOOK_SECRET"
[fastspring.products.photo-pro-1y]
product = "photo-pro"
updates_days = 365
[fastspring.products.video-max-pack]
product = "video-max"
key_per_unit = true

[paddle]
webhook_secret_env = ["TEST_PADDLE_SECRET", "TEST_PADDLE_SECRET_NEW"]
api_key_env = "TEST_PADDLE_API_KEY"
api_base = "http://127.0.0.1:{paddle_port}"
classic_public_key_file = "paddle_classic.pem"
tolerance_seconds = 60
[paddle.products.pri_01photoyearly]
product = "photo-pro"
expire_days = 365
[paddle.products.12345]
product = "video-max"
seats_per_unit = 2
"""


@dataclass
class Answer:
    status: int
    text: str
    headers: dict[str, str]


@dataclass
class Bridge:
    port: int
    channel: grpc.Channel
    issuer_token: str
    support_token: str
    reader_token: str
    keyring_file: Path
    log_file: Path
    server_log: Path  # the server's log file
    classic_key: rsa.RSAPrivateKey
    customers: dict[str, str] = field(default_factory=dict)  # Paddle customer ID → email

    def post(
        self, path: str, body: bytes, headers: dict[str, str] | None = None, method: str = "POST"
    ) -> Answer:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body if method == "POST" else None, method=method
        )
        for name, value in (headers or {"Content-Type": "application/x-www-form-urlencoded"}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, response.read().decode(), dict(response.headers))
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read().decode(), dict(error.headers))

    def license(self, order_id: str, product: str) -> license_pb2.License | None:
        stub = issuance_pb2_grpc.IssuanceServiceStub(self.channel)
        try:
            response: issuance_pb2.GetLicenseResponse = stub.GetLicense(
                issuance_pb2.GetLicenseRequest(order_id=order_id, product=product),
                metadata=(("authorization", f"Bearer {self.reader_token}"),),
                timeout=20,
            )
            return response.license
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise

    def licenses_of_order(self, order_id: str) -> list[license_pb2.License]:
        stub = support_pb2_grpc.SupportServiceStub(self.channel)
        response = stub.FindLicenses(
            support_pb2.FindLicensesRequest(order_id=order_id),
            metadata=(("authorization", f"Bearer {self.support_token}"),),
            timeout=20,
        )
        return [
            lic
            for record in response.profiles
            for order in record.orders
            if order.order_id == order_id
            for lic in order.licenses
        ]

    def check_key(self, key: str, email: str, product: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "licensing_client",
                "--key",
                key,
                "--email",
                email,
                "--product",
                product,
                "--keyring",
                str(self.keyring_file),
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def log_text(self) -> str:
        return self.log_file.read_text()


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def email_for(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}@Example.com"


class PaddleApi(BaseHTTPRequestHandler):
    """Paddle's `GET /customers/{id}`, answering from the test's table."""

    customers: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        customer_id = self.path.rsplit("/", 1)[-1]
        expected = f"Bearer {SECRETS['TEST_PADDLE_API_KEY']}"
        if self.headers.get("Authorization") != expected:
            self.send_response(403)
            self.end_headers()
            return
        email = self.customers.get(customer_id)
        body = json.dumps({"data": {"id": customer_id, "email": email}} if email else {"error": {}}).encode()
        self.send_response(200 if email else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def assert_no_secrets_in(text: str, *values: str) -> None:
    for value in (*SECRETS.values(), *values):
        assert value.lower() not in text.lower(), "a secret, an email or a key reached a log"
