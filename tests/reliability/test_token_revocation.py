"""A revoked token is refused at once by the process that revoked it, and everywhere within a bound.

The server trusts a token it found valid for `licensing.tokens.CACHE_SECONDS` without reading the
database again (a token check on every call was a database round trip per call). So:

- revoked in the server's own process (`revoke_token`, as the console or a test does), the very
  next call with it is UNAUTHENTICATED: the revocation empties the cache;
- revoked by another process (`licensing tokens revoke`, as an operator runs it, or another
  replica), calls may still be accepted for at most CACHE_SECONDS, and every call after that is
  refused. The test counts the calls accepted inside the bound and asserts none after it.

The control token keeps working throughout: the revocation refuses only what it names.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import grpc
import pytest
from harness import Harness
from homes import REPO

from licensing._proto.licensing.v1 import validation_pb2, validation_pb2_grpc
from licensing.api.server import ServerOptions
from licensing.config import Settings
from licensing.keyring import Keyring
from licensing.tokens import CACHE_SECONDS, Role, create_token, revoke_token

from .kit import bearer, figure, serving

BURST = 96


@pytest.fixture(scope="module")
def harness(backend: Settings, keyring: Keyring) -> Iterator[Harness]:
    options = ServerOptions(address="127.0.0.1:0", max_workers=16, health_interval=0.2)
    with serving(backend, keyring, options) as running:
        yield running


def burst(harness: Harness, token: str) -> list[grpc.StatusCode]:
    stub = validation_pb2_grpc.ValidationServiceStub(harness.channel)
    calls = [
        stub.GetRevocationList.future(
            validation_pb2.GetRevocationListRequest(), metadata=bearer(token), timeout=30
        )
        for _ in range(BURST)
    ]
    codes = []
    for call in calls:
        try:
            call.result()
            codes.append(grpc.StatusCode.OK)
        except grpc.RpcError as error:
            codes.append(error.code())
    return codes


def test_a_token_revoked_in_the_server_process_is_refused_at_once(harness: Harness) -> None:
    name = f"revoke-here-{os.urandom(3).hex()}"
    token = create_token(name, Role.SUPPORT)
    assert set(burst(harness, token)) == {grpc.StatusCode.OK}  # now cached
    revoke_token(name)
    assert set(burst(harness, token)) == {grpc.StatusCode.UNAUTHENTICATED}


def test_a_token_revoked_by_another_process_is_refused_everywhere_within_the_bound(
    harness: Harness, backend: Settings
) -> None:
    name = f"revoke-me-{os.urandom(3).hex()}"
    token = create_token(name, Role.SUPPORT)
    other = create_token(f"keep-me-{os.urandom(3).hex()}", Role.SUPPORT)  # the control: it keeps working
    assert set(burst(harness, token)) == {grpc.StatusCode.OK}  # cached by the server
    env = dict(
        os.environ,
        LICENSING_HOME=str(backend.home),
        LICENSING_DATABASE_URL=backend.database_url,
        LICENSING_KEYSTORE_URL=backend.keystore_url,
    )
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "licensing.cli.main", "tokens", "revoke", name],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=60,
    )
    # Calls inside the bound may go either way; the bound counts from the revocation's commit,
    # which happened before the command returned.
    within: list[grpc.StatusCode] = []
    while time.monotonic() - started < CACHE_SECONDS:
        within += burst(harness, token)
    after: list[grpc.StatusCode] = []
    for _ in range(3):
        after += burst(harness, token)
    assert set(after) == {grpc.StatusCode.UNAUTHENTICATED}, (
        "a revoked token was accepted after the documented bound"
    )
    assert set(burst(harness, other)) == {grpc.StatusCode.OK}
    engine = "postgres" if backend.database_url.startswith("postgres") else "sqlite"
    figure(
        f"token_revocation.{engine}",
        bound_seconds=CACHE_SECONDS,
        calls_inside_bound=len(within),
        accepted_inside_bound=within.count(grpc.StatusCode.OK),
        calls_after_bound=len(after),
        accepted_after_bound=after.count(grpc.StatusCode.OK),
    )
