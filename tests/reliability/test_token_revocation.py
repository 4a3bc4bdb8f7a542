"""A revoked token is refused at once by every server thread, not only by the one that saw it revoked.

tests/server/test_auth.py shows a revoked token refused on the next call. Here the server runs 16
worker threads; a burst of concurrent calls spreads the token over them, then `licensing tokens
revoke` (another process, as an operator would run it) revokes it, and from the very next burst on
every call is UNAUTHENTICATED, on every thread that had served the token before. The log lines of
the interceptor name the thread that answered each call, which is how the threads are told apart.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import grpc
import pytest
from harness import Harness
from homes import REPO

from licensing._proto.licensing.v1 import validation_pb2, validation_pb2_grpc
from licensing.api.server import ServerOptions
from licensing.config import Settings
from licensing.keyring import Keyring
from licensing.tokens import Role, create_token

from .kit import bearer, figure, serving

WORKERS = 16
BURST = 96


@pytest.fixture(scope="module")
def harness(backend: Settings, keyring: Keyring) -> Harness:
    options = ServerOptions(address="127.0.0.1:0", max_workers=WORKERS, health_interval=0.2)
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


def threads_that_answered(caplog: pytest.LogCaptureFixture, code: str) -> set[str]:
    lines = [r for r in caplog.records if r.name == "licensing.rpc" and "GetRevocationList" in r.getMessage()]
    return {r.threadName for r in lines if f"code={code}" in r.getMessage()}


def test_a_revoked_token_is_refused_at_once_on_every_server_thread(
    harness: Harness, backend: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="licensing.rpc")
    name = f"revoke-me-{os.urandom(3).hex()}"
    token = create_token(name, Role.SUPPORT)
    other = create_token(f"keep-me-{os.urandom(3).hex()}", Role.SUPPORT)  # the control: it keeps working
    served: set[str] = set()
    for _ in range(5):  # spread the token over the worker threads
        assert set(burst(harness, token)) == {grpc.StatusCode.OK}
        served = threads_that_answered(caplog, "OK")
        if len(served) >= WORKERS // 2:
            break
    assert len(served) >= 4, f"the calls did not spread over the threads: {served}"
    caplog.clear()

    env = dict(
        os.environ,
        LICENSING_HOME=str(backend.home),
        LICENSING_DATABASE_URL=backend.database_url,
        LICENSING_KEYSTORE_URL=backend.keystore_url,
    )
    subprocess.run(
        [sys.executable, "-m", "licensing.cli.main", "tokens", "revoke", name],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=60,
    )
    revoked_at = time.monotonic()

    rounds, codes = 0, []
    refused: set[str] = set()
    while not served <= refused and rounds < 10:
        rounds += 1
        codes += burst(harness, token)
        refused |= threads_that_answered(caplog, "UNAUTHENTICATED")
    assert set(codes) == {grpc.StatusCode.UNAUTHENTICATED}  # not one call got through, from the first on
    assert served <= refused, (
        f"threads that served the token but were not seen refusing it: {served - refused}"
    )
    assert threads_that_answered(caplog, "OK") == set()
    assert set(burst(harness, other)) == {grpc.StatusCode.OK}
    engine = "postgres" if backend.database_url.startswith("postgres") else "sqlite"
    figure(
        f"token_revocation.{engine}",
        threads_that_served_it=len(served),
        threads_that_refused_it=len(refused),
        calls_after_revocation=len(codes),
        accepted_after_revocation=sum(code == grpc.StatusCode.OK for code in codes),
        seconds_to_check=round(time.monotonic() - revoked_at, 2),
    )
