"""`licensing support correct-email`: the CLI verb against a real `licensing serve` process."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import PRODUCTS, ServerChild, serve_home
from homes import TEST_PASSPHRASE, make_settings
from licensing_client import LicenseError, PublicKeyring, validate

from licensing._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc, validation_pb2, validation_pb2_grpc
from licensing.products import add_product
from licensing.service import bind_databases
from licensing.tokens import Role, create_token


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, keyring_path: Path
) -> Iterator[tuple[ServerChild, dict[str, str]]]:
    settings, _ = make_settings("sqlite", tmp_path_factory.mktemp("correct-cli") / "home", keyring_path)
    databases = bind_databases(settings)
    for code, number in PRODUCTS.items():
        add_product(code, number, code.title())
    tokens = {
        "support": create_token("desk-carol", Role.SUPPORT),
        "issuer": create_token("shop", Role.ISSUER),
    }
    databases.close()
    # Three look-ups at once, then one a minute: correct-email counts against the look-up limit.
    server = serve_home(settings, TEST_PASSPHRASE, "--lookup-rate", "1", "--lookup-burst", "3")
    try:
        yield server, tokens
    finally:
        assert server.stop() == 0, server.stderr[-2000:]


def cli(server: ServerChild, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICENSING_")}
    env.update(LICENSING_ADDRESS=f"127.0.0.1:{server.port}", LICENSING_SUPPORT_TOKEN=token)
    return subprocess.run(
        [sys.executable, "-m", "licensing.cli.main", "support", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_correct_email_prints_the_new_keys_and_the_revoked_serials(
    served: tuple[ServerChild, dict[str, str]],
) -> None:
    server, tokens = served
    tag = uuid.uuid4().hex[:8]
    typo, right, order = f"mary.{tag}@exmaple.com", f"mary.{tag}@example.com", f"M-{tag}"
    with server.channel() as channel:
        issued = (
            issuance_pb2_grpc.IssuanceServiceStub(channel)
            .IssueLicense(
                issuance_pb2.IssueLicenseRequest(email=typo, order_id=order, product="photo-pro"),
                metadata=(("authorization", f"Bearer {tokens['issuer']}"),),
                timeout=30,
            )
            .license
        )
        keyring = PublicKeyring.from_json(
            validation_pb2_grpc.ValidationServiceStub(channel)
            .ListSigningKeys(
                validation_pb2.ListSigningKeysRequest(),
                metadata=(("authorization", f"Bearer {tokens['issuer']}"),),
                timeout=30,
            )
            .keyring_document
        )

    result = cli(server, tokens["support"], "correct-email", "--email", typo, "--new-email", right, "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    [replaced] = answer["replaced"]
    assert int(replaced["former_serial"], 16) == issued.serial
    new_key = replaced["license"]["license_key"]
    now = dt.datetime.now(dt.UTC)
    assert validate(new_key, right, 1, keyring, now).serial == int(replaced["license"]["serial"], 16)
    with pytest.raises(LicenseError):
        validate(new_key, typo, 1, keyring, now)

    again = cli(
        server, tokens["support"], "correct-email", "--email", right, "--new-email", f"m.{tag}@example.com"
    )
    assert again.returncode == 0, again.stderr
    assert "1 license(s) reissued" in again.stdout and f"{replaced['license']['serial']} ->" in again.stdout

    taken = cli(server, tokens["support"], "correct-email", "--email", typo, "--new-email", right)
    assert taken.returncode == 1 and len(taken.stderr.strip().splitlines()) == 1
    assert "NOT_FOUND" in taken.stderr and typo not in taken.stderr

    limited = cli(
        server, tokens["support"], "correct-email", "--email", right, "--new-email", f"x.{tag}@example.com"
    )
    assert limited.returncode == 1 and "RESOURCE_EXHAUSTED" in limited.stderr and "retry in" in limited.stderr
