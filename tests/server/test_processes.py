"""`licensing serve --processes 2`: two processes on one port over one database (both engines).

The parent prints the one "listening on port" line once both children listen (the log names both,
with their pids); 16 clients, each on a connection of its own, issue licenses (the kernel spreads
connections over the listening processes by a hash); every call succeeds and every license is
stored once; SIGTERM drains both and the parent exits 0.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from harness import PRODUCTS
from homes import TEST_PASSPHRASE
from proctree import alive, descendants
from serverchild import serve_home

from licensing._proto.licensing.v1 import admin_pb2, admin_pb2_grpc, issuance_pb2, issuance_pb2_grpc
from licensing.config import Settings
from licensing.keyring import Keyring
from licensing.products import add_product
from licensing.service import Service
from licensing.storage.models import License, Order, Product
from licensing.tokens import Role, create_token

CLIENTS = 16


def test_two_processes_serve_one_port_over_one_database(
    backend: Settings, keyring: Keyring, tmp_path: Path
) -> None:
    service = Service.start(backend, keyring)
    for code, number in PRODUCTS.items():
        if not Product.select().where(Product.code == code).exists():
            add_product(code, number, code.title())
    token = create_token(f"procs-{os.urandom(3).hex()}", Role.ISSUER)
    service.stop()
    log = tmp_path / "serve.log"
    server = serve_home(backend, TEST_PASSPHRASE, "--processes", "2", log_file=log)
    port = server.port
    tag = os.urandom(3).hex()
    try:

        def client(i: int) -> tuple[bool, str]:
            with grpc.insecure_channel(
                f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]
            ) as channel:
                metadata = (("authorization", f"Bearer {token}"),)
                admin_pb2_grpc.AdminServiceStub(channel).GetCaller(
                    admin_pb2.GetCallerRequest(), metadata=metadata, timeout=30
                )
                issued = issuance_pb2_grpc.IssuanceServiceStub(channel).IssueLicense(
                    issuance_pb2.IssueLicenseRequest(
                        email=f"procs.{tag}.{i}@example.com", order_id=f"P-{tag}-{i}", product="photo-pro"
                    ),
                    metadata=metadata,
                    timeout=30,
                )
                return issued.created, issued.license.license_key

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(client, range(CLIENTS)))
    finally:
        assert server.stop() == 0, log.read_text()
    text = log.read_text()
    serving = set(re.findall(r"process (\d) of 2 \(pid (\d+)\) serving", text))
    assert len(serving) == 2, text
    assert all(created for created, _ in results) and len({key for _, key in results}) == CLIENTS
    service = Service.start(backend, keyring)
    try:
        stored = License.select().join(Order).where(Order.order_ref.startswith(f"P-{tag}-")).count()
    finally:
        service.stop()
    assert stored == CLIENTS
    assert "Traceback" not in text


_ONE_CHILD_FAILS = """
import os, sys, time
from pathlib import Path
import licensing.cli.processes as processes
from licensing.api.server import ServerOptions
from licensing.config import Settings
from licensing.errors import ConfigurationError
from licensing.keyring import Keyring
from licensing.service import Service
from licensing.shared_metrics import SharedMetrics

folder, passphrase = Path(sys.argv[1]), sys.argv[2].encode()
Keyring.create(folder / "keyring.bin", passphrase)
keyring = Keyring.open(folder / "keyring.bin", passphrase)
(folder / "home").mkdir(mode=0o700)
settings = Settings.from_environment({}, home=str(folder / "home"))
Service.start(settings, keyring).stop()
real_start = processes.start_server

def start_once_failing(service, options):
    try:
        os.close(os.open(folder / "claimed", os.O_CREAT | os.O_EXCL))
    except FileExistsError:  # the other child: starts as usual, workers and all
        return real_start(service, options)
    time.sleep(1)  # the other child has forked its preparation workers by now
    raise RuntimeError("a start that fails, injected")

processes.start_server = start_once_failing
metrics = SharedMetrics.start()
try:
    processes.serve_processes(
        2, settings, keyring, ServerOptions(address="127.0.0.1:0"), 4, lambda port: None, metrics,
        prepare_processes=1,
    )
except ConfigurationError as exc:
    print("REPORTED:", exc, flush=True)
finally:
    metrics.close()
"""


def test_a_child_that_fails_to_start_is_reported_even_with_preparation_workers(tmp_path: Path) -> None:
    """The parent learns that a child failed from the end of the readiness pipe. The other child's
    preparation workers are forked while it holds that pipe: they must not keep it open, or the
    parent waits for ever. A fault injected into one child's start, in a process of its own."""
    child = subprocess.Popen(
        [sys.executable, "-c", _ONE_CHILD_FAILS, str(tmp_path), TEST_PASSPHRASE.decode()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its server children and workers are in its group: all ended below
    )
    try:
        out, err = child.communicate(timeout=90)  # a bound for a hang: it answers in a few seconds
    except subprocess.TimeoutExpired:
        out, err = "", ""
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    assert out, "serve --processes kept waiting for the child that failed to start"
    assert "REPORTED: only 1 of 2 server processes started" in out, err[-2000:]


def test_nothing_outlives_a_parent_killed_outright(backend: Settings, tmp_path: Path) -> None:
    """SIGKILL of `serve --processes 2`: its server children (SIGTERM from the kernel: they drain
    and exit) and their preparation workers (SIGKILL) end too, instead of serving on as orphans
    beside whatever is started on the port next."""
    server = serve_home(backend, TEST_PASSPHRASE, "--processes", "2", log_file=tmp_path / "serve.log")
    below = descendants(server.pid)
    try:
        assert len(below) >= 2, "the server children and their workers"
        os.kill(server.pid, signal.SIGKILL)
        deadline = time.monotonic() + 60  # a bound for a hang, not a measurement
        while any(alive(pid) for pid in below) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in below if alive(pid)], "orphans still running"
    finally:
        for pid in below:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        server.stop()
