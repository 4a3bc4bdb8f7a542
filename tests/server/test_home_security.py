"""Secrets at rest: file modes whatever the umask, a passphrase that resists a guess, a dev home
that says so, and a keyring restored from before a rotation refused. Real `licensing` processes."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from serverchild import ServerChild, ServerDidNotStart, serve_argv

from licensing._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc

STRONG = "four random words: staple battery horse correct"
PERMISSIVE = ["sh", "-c", 'umask 000 && exec "$@"', "sh"]  # the most permissive umask there is


def _env(home: Path, passphrase: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICENSING_")}
    env.update(LICENSING_HOME=str(home), PYTHONUNBUFFERED="1")
    if passphrase is not None:
        env["LICENSING_PASSPHRASE"] = passphrase
    return env


def _licensing(home: Path, *args: str, passphrase: str | None = STRONG) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PERMISSIVE, sys.executable, "-m", "licensing.cli.main", *args],
        env=_env(home, passphrase),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _serve(home: Path, passphrase: str | None = STRONG) -> ServerChild:
    """`licensing serve` on `home` under the most permissive umask; its log beside the home."""
    log = home.parent / f"serve-{uuid.uuid4().hex[:8]}.log"
    return ServerChild([*PERMISSIVE, *serve_argv()], _env(home, passphrase), log)


def _stop(server: ServerChild) -> str:
    """SIGTERM; what the server logged."""
    server.stop()
    return server.log_text()


def test_home_and_every_database_file_are_private_whatever_the_umask(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)  # a home made beforehand, open to everyone
    created = _licensing(home, "init")
    assert created.returncode == 0, created.stderr
    admin = re.search(r"lic_[A-Za-z0-9_-]{20,}", created.stdout)
    assert admin is not None
    products = _licensing(home, "products", "add", "app", "--number", "1", "--name", "App")
    assert products.returncode == 0, products.stderr
    issuer = _licensing(home, "tokens", "create", "shop", "--role", "issuer")
    token = re.search(r"lic_[A-Za-z0-9_-]{20,}", issuer.stdout)
    assert token is not None, issuer.stdout + issuer.stderr
    server = _serve(home)
    try:
        with server.channel() as channel:
            stub = issuance_pb2_grpc.IssuanceServiceStub(channel)
            stub.IssueLicense(
                issuance_pb2.IssueLicenseRequest(email="modes@example.com", order_id="M-1", product="app"),
                metadata=(("authorization", f"Bearer {token.group()}"),),
                timeout=30,
            )
        files = sorted(p for p in home.iterdir() if p.is_file())
        names = {p.name for p in files}
        assert {"keyring.bin", "licensing.sqlite3", "licensing.sqlite3-wal", "keystore.sqlite3"} <= names, (
            names
        )
        loose = {
            p.name: oct(stat.S_IMODE(p.stat().st_mode))
            for p in files
            if stat.S_IMODE(p.stat().st_mode) != 0o600
        }
        assert loose == {}
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
    finally:
        _stop(server)


def test_init_refuses_a_passphrase_that_a_guess_would_find(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for weak in ("hunter2", "aaaaaaaaaaaaaaaaaaaa", "abcabcabcabcabcabc"):
        result = _licensing(home, "init", passphrase=weak)
        assert result.returncode == 1, result.stdout + result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "too weak" in lines[0] and weak not in lines[0], result.stderr
        assert not (home / "keyring.bin").exists()


def test_serving_a_development_home_warns_at_every_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    created = _licensing(home, "init", "--dev", passphrase=None)
    assert created.returncode == 0, created.stderr
    for _ in range(2):  # as `make serve` runs it: the passphrase from the file beside the keyring
        process = ServerChild(
            serve_argv(),
            {**_env(home, None), "LICENSING_PASSPHRASE_FILE": str(home / "passphrase")},
            tmp_path / f"serve-{uuid.uuid4().hex[:8]}.log",
        )
        stderr = _stop(process)
        assert "development set-up" in stderr and "dev-tokens.env" in stderr


def test_a_keyring_restored_from_before_a_rotation_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _licensing(home, "init").returncode == 0
    old_keyring = tmp_path / "keyring-backup.bin"
    shutil.copy2(home / "keyring.bin", old_keyring)  # the operator's backup, before the rotation
    first = _serve(home)
    _stop(first)  # the database has seen key 1
    assert _licensing(home, "keys", "generate").returncode == 0
    rotated = _licensing(home, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    second = _serve(home)
    _stop(second)  # the database has seen key 2 active
    shutil.copy2(old_keyring, home / "keyring.bin")  # the old file put back
    with pytest.raises(ServerDidNotStart) as third:
        _serve(home)
    stderr = third.value.log
    assert third.value.returncode == 1, stderr
    lines = [line for line in stderr.splitlines() if line.strip() and "development set-up" not in line]
    assert len(lines) == 1 and "lacks signing key 2" in lines[0], stderr
