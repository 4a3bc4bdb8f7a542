"""The operator's `licensing` command, run for real as child processes in a throw-away home.

Every command that opens the keyring pays Argon2id MODERATE (most of a second), so the module
sets one home up once and each test runs only the commands it is about.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from licensing_client import LicenseError, PublicKeyring, Reason, RevocationList, validate
from serverchild import ServerChild, serve_argv

from licensing._proto.licensing.v1 import (
    issuance_pb2,
    issuance_pb2_grpc,
    license_pb2,
    validation_pb2,
    validation_pb2_grpc,
)

PASSPHRASE = "a passphrase for the CLI tests only"
TOKEN = re.compile(r"lic_[A-Za-z0-9_-]{20,}")
GRACE_SECONDS = 10.0  # ServerOptions.grace_seconds, which `serve` uses
LICENSE_CHECK = shutil.which("license-check", path=str(Path(sys.executable).parent))


def environment(home: Path, passphrase: str | None = PASSPHRASE) -> dict[str, str]:
    """The caller's environment without any LICENSING_* setting, pointed at `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICENSING_")}
    env.update(HOME=str(home.parent), LICENSING_HOME=str(home), PYTHONUNBUFFERED="1")
    if passphrase is not None:
        env["LICENSING_PASSPHRASE"] = passphrase
    return env


def licensing(
    home: Path, *args: str, passphrase: str | None = PASSPHRASE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "licensing.cli.main", *args],
        env=environment(home, passphrase),
        cwd=home.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.args, result.returncode, result.stdout, result.stderr)
    return result.stdout


@dataclass
class Home:
    path: Path
    init: subprocess.CompletedProcess[str]
    admin_token: str
    issuer_token: str


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """`init`, one product and one issuer token: what an operator does first."""
    path = tmp_path_factory.mktemp("cli") / "home"
    init = licensing(path, "init")
    [admin] = TOKEN.findall(ok(init))
    ok(licensing(path, "products", "add", "photo-pro", "--number", "1", "--name", "Photo Pro"))
    issuer = ok(licensing(path, "tokens", "create", "order-system", "--role", "issuer")).strip()
    assert TOKEN.fullmatch(issuer), issuer
    return Home(path, init, admin, issuer)


def test_init_prints_the_admin_token_once_and_refuses_a_second_init(home: Home) -> None:
    assert home.init.stdout.count(home.admin_token) == 1
    assert home.admin_token not in home.init.stderr
    assert (home.path / "keyring.bin").is_file()
    assert (home.path / "keyring.bin").stat().st_mode & 0o077 == 0

    again = licensing(home.path, "init")
    assert again.returncode == 1
    assert not TOKEN.search(again.stdout + again.stderr)  # no second admin token
    assert again.stderr.startswith("error: ") and "already initialised" in again.stderr


def test_products_add_and_list(home: Home) -> None:
    listing = ok(licensing(home.path, "products", "list"))
    assert re.search(r"^\s*1\s+photo-pro\s+Photo Pro$", listing, re.MULTILINE), listing


def test_tokens_create_list_revoke_and_the_list_never_shows_a_token(home: Home) -> None:
    assert ok(licensing(home.path, "tokens", "revoke", "admin")).strip() == "revoked admin"
    listing = ok(licensing(home.path, "tokens", "list"))
    lines = {line.split()[0]: line for line in listing.splitlines()}
    assert set(lines) == {"admin", "order-system"}
    assert "revoked" in lines["admin"] and lines["admin"].split()[1] == "admin"
    assert lines["order-system"].split()[1] == "issuer" and lines["order-system"].rstrip().endswith("active")
    assert "lic_" not in listing
    for token in (home.admin_token, home.issuer_token):
        assert token not in listing and token.removeprefix("lic_")[:16] not in listing


def test_keys_list(home: Home) -> None:
    listing = ok(licensing(home.path, "keys", "list"))
    [line] = listing.splitlines()
    assert re.fullmatch(r"\s*1\s+active\s+created \d{4}-\d{2}-\d{2}\s+[0-9a-f]{64}", line), line


def test_wrong_passphrase_is_one_error_line_and_a_traceback_only_with_verbose(home: Home) -> None:
    wrong = licensing(home.path, "keys", "list", passphrase="not the passphrase")
    assert wrong.returncode == 1
    assert wrong.stdout == ""
    lines = wrong.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "passphrase" in lines[0], wrong.stderr
    assert "Traceback" not in wrong.stderr

    verbose = licensing(home.path, "-v", "keys", "list", passphrase="not the passphrase")
    assert verbose.returncode == 1
    assert "Traceback (most recent call last)" in verbose.stderr
    assert "WrongPassphrase" in verbose.stderr


def test_no_passphrase_names_the_variables_to_set(home: Home) -> None:
    missing = licensing(home.path, "keys", "list", passphrase=None)
    assert missing.returncode == 1
    [line] = missing.stderr.splitlines()
    assert line.startswith("error: ")
    assert "LICENSING_PASSPHRASE" in line and "LICENSING_PASSPHRASE_FILE" in line
    assert "Traceback" not in missing.stderr


# --- serving ------------------------------------------------------------------------------------------


@pytest.fixture
def served(home: Home, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    """`licensing serve` on a port the system picks; yields the process, the port and its log file."""
    log_path = tmp_path / "serve.log"
    server = ServerChild(serve_argv(), environment(home.path), log_path, cwd=home.path.parent)
    assert server.port > 0
    try:
        yield server.process, server.port, log_path
    finally:
        server.kill()  # if the test has not stopped it; closes the log either way


def test_serve_issue_check_offline_and_stop_on_sigterm(
    home: Home, served: tuple[subprocess.Popen[str], int, Path], tmp_path: Path
) -> None:
    process, port, log_path = served
    email, kept, refunded = (
        "cli.buyer@example.com",
        f"CLI-{uuid.uuid4().hex[:8]}",
        f"CLI-{uuid.uuid4().hex[:8]}",
    )
    auth = (("authorization", f"Bearer {home.issuer_token}"),)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        issuance = issuance_pb2_grpc.IssuanceServiceStub(channel)
        key = issuance.IssueLicense(
            issuance_pb2.IssueLicenseRequest(email=email, order_id=kept, product="photo-pro"),
            metadata=auth,
            timeout=30,
        ).license.license_key
        revoked = issuance.IssueLicense(
            issuance_pb2.IssueLicenseRequest(email=email, order_id=refunded, product="photo-pro"),
            metadata=auth,
            timeout=30,
        ).license
        issuance.RevokeLicense(
            issuance_pb2.RevokeLicenseRequest(order_id=refunded, reason=license_pb2.REVOCATION_REASON_REFUND),
            metadata=auth,
            timeout=30,
        )
        with pytest.raises(grpc.RpcError) as forged:  # the served process checks tokens against its database
            validation_pb2_grpc.ValidationServiceStub(channel).ListSigningKeys(
                validation_pb2.ListSigningKeysRequest(),
                metadata=(("authorization", "Bearer lic_forged"),),
                timeout=30,
            )
        assert forged.value.code() == grpc.StatusCode.UNAUTHENTICATED

    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=GRACE_SECONDS) == 0, log_path.read_text()
    assert time.monotonic() - started < GRACE_SECONDS
    server_log = log_path.read_text()
    assert "stopping" in server_log
    for secret in (home.issuer_token, email, key):
        assert secret not in server_log

    keyring_file, revocations_file = tmp_path / "keyring.json", tmp_path / "revocations.json"
    ok(licensing(home.path, "keys", "export-public", "-o", str(keyring_file)))
    ok(licensing(home.path, "revocations", "export", "-o", str(revocations_file)))
    keyring = PublicKeyring.load(keyring_file)
    assert keyring.product_number("photo-pro") == 1
    revocations = RevocationList.load(revocations_file, keyring)
    assert revoked.serial in revocations and revocations.sequence == 1

    now = dt.datetime.now(dt.UTC)
    with pytest.raises(LicenseError) as refused:
        validate(revoked.license_key, email, 1, keyring, now, revocations=revocations)
    assert refused.value.reason is Reason.REVOKED
    if LICENSE_CHECK is None:  # the client's command is not installed: check with its library
        assert validate(key, email, 1, keyring, now, revocations=revocations).product == 1
        return
    check = subprocess.run(
        [
            LICENSE_CHECK,
            "--key",
            key,
            "--email",
            email,
            "--product",
            "photo-pro",
            "--keyring",
            str(keyring_file),
            "--revocations",
            str(revocations_file),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert check.returncode == 0, (check.stdout, check.stderr)
    assert check.stdout.startswith("valid")


def test_serve_refuses_plaintext_on_a_public_address(home: Home) -> None:
    refused = licensing(home.path, "serve", "--address", "0.0.0.0:0")
    assert refused.returncode == 1
    lines = [line for line in refused.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "without TLS" in lines[0] and "--tls-cert" in lines[0], refused.stderr
    assert "Traceback" not in refused.stderr
    assert "listening" not in refused.stdout
