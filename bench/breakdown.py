"""Where an issuance's CPU goes: each step of the issuer timed in-process, without gRPC.

Used by bench/issue.py (its "where the CPU goes" table). A fresh SQLite home in a temporary
folder; the issuer, the profile store and the token check are called directly from this
process, each step N times, in this thread's CPU time (user and system: SQLite's commits
count). The writer's share is measured on groups built beforehand and committed one after
another, at one write per group (one commit per request) and at 32 (a group under load). Then
`Issuer.issue` end to end, from one thread and from 64 threads sharing groups, in the whole
process's CPU time per call. The difference between the last figure and the server's CPU per
call over gRPC (bench/issue.py's main table) is what gRPC and the threads around each call add.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from licensing.config import Settings
from licensing.issuance import IssueRequest
from licensing.issuance_writer import RowsWrite
from licensing.keyring import Keyring
from licensing.products import add_product
from licensing.service import Service
from licensing.tokens import Role, authenticate, create_token


def _thread_cpu_us(step: Callable[[int], Any], n: int) -> float:
    start = time.thread_time()
    for i in range(n):
        step(i)
    return (time.thread_time() - start) / n * 1e6


def _process_cpu_us(run: Callable[[], Any], n: int) -> float:
    before = os.times()
    run()
    after = os.times()
    return ((after.user - before.user) + (after.system - before.system)) / n * 1e6


def measure(n: int) -> list[tuple[str, float]]:
    """(step, CPU µs per call) for each step, in the order an issuance runs them."""
    home = Path(tempfile.mkdtemp(prefix="bench-breakdown-"))
    passphrase = b"breakdown passphrase, not a secret"
    Keyring.create(home / "keyring.bin", passphrase)
    service = Service.start(
        Settings.from_environment({}, home=str(home)), Keyring.open(home / "keyring.bin", passphrase)
    )
    try:
        add_product("bench-app", 7, "Bench")
        token = create_token("breakdown", Role.ISSUER)
        issuer, profiles = service.issuer, service.profiles
        tag = iter(range(10**9))

        def request(prefix: str, i: int) -> IssueRequest:
            return IssueRequest(f"{prefix}{i}@example.com", f"{prefix}-{i}", "bench-app")

        for i in range(100):  # warm: compiled queries, the writer thread, the page cache
            issuer.issue(request("warm", i), "bench")

        prepared = [issuer._prepare(request("k", i)) for i in range(n)]  # rows to sign keys for
        rows: list[tuple[str, float]] = [
            ("token check (one indexed read)", _thread_cpu_us(lambda i: authenticate(token), n)),
            (
                "check the request, derive its serial, seal the email in case the purchaser is new",
                _thread_cpu_us(lambda i: issuer._prepare(request("p", i)), n),
            ),
            (
                "of which: seal a new purchaser's email, wrap its data key",
                _thread_cpu_us(lambda i: profiles.prepare(f"s{i}@example.com"), n),
            ),
            (
                "sign and format the key",
                _thread_cpu_us(
                    lambda i: issuer.keys.key(
                        prepared[i][1],
                        issuer.keyring.active_key_id,
                        prepared[i][0].product,
                        prepared[i][0].serial,
                        prepared[i][0].issued,
                        prepared[i][0].terms,
                    ),
                    n,
                ),
            ),
        ]
        for size in (1, 32):
            groups = []
            for _ in range(max(1, n // size)):
                write = RowsWrite(
                    actor="bench",
                    key_id=issuer.keyring.active_key_id,
                    rows=[issuer._prepare(request(f"g{next(tag)}", i))[0] for i in range(size)],  # sealed too
                )
                groups.append([write])
            writes = sum(len(g[0].rows) for g in groups)
            start = time.thread_time()
            for group in groups:
                issuer.committer._commit_group(group)
            label = "one commit per write" if size == 1 else f"groups of {size}"
            rows.append(
                (
                    f"the writer, per write: statements and commits, {label}",
                    (time.thread_time() - start) / writes * 1e6,
                )
            )

        def issue_from(threads: int, prefix: str) -> None:
            def work(k: int) -> None:
                for i in range(k, n, threads):
                    issuer.issue(request(prefix, i), "bench")

            pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
            for thread in pool:
                thread.start()
            for thread in pool:
                thread.join()

        rows.append(
            (
                "`Issuer.issue` end to end, one thread (whole process)",
                _process_cpu_us(lambda: issue_from(1, "one"), n),
            )
        )
        rows.append(
            (
                "`Issuer.issue` end to end, 64 threads (whole process)",
                _process_cpu_us(lambda: issue_from(64, "many"), n),
            )
        )
        return rows
    finally:
        service.stop()
        shutil.rmtree(home, ignore_errors=True)
