"""`serve --processes 2 --metrics-address`: one endpoint, the sum over both processes, and a
count per process that shows the kernel spread the connections over both.

Every client opens a channel of its own with a distinct user agent, so gRPC gives it its own
connection (channels with equal options would share one subchannel, and so one process). The
scraped counters must equal the calls made, whichever process served them; each process must
have served some (with 32 connections hashed over 2 processes, all on one has odds of 2^-31).
The one-process server's series are the ones it always had, without the per-process one.
"""

from __future__ import annotations

import os
import re
import stat
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from harness import PRODUCTS
from homes import TEST_PASSPHRASE, make_settings
from prometheus_client.parser import text_string_to_metric_families
from serverchild import ServerChild, ServerDidNotStart, serve_argv, serve_home, settings_env

from licensing._proto.licensing.v1 import admin_pb2, admin_pb2_grpc, issuance_pb2, issuance_pb2_grpc
from licensing.config import Settings
from licensing.keyring import Keyring
from licensing.products import add_product
from licensing.service import Service
from licensing.tokens import Role, create_token

CONNECTIONS = 32
ISSUING = 8  # of the connections, those that also issue a license


@pytest.fixture
def home(tmp_path: Path, keyring_path: Path, keyring: Keyring) -> Iterator[tuple[Settings, str]]:
    settings, _ = make_settings("sqlite", tmp_path / "home", keyring_path)
    service = Service.start(settings, keyring)
    try:
        for code, number in PRODUCTS.items():
            add_product(code, number, code.title())
        token = create_token("procs-metrics", Role.ISSUER)
    finally:
        service.stop()
    yield settings, token


def metrics_port(server: ServerChild) -> int:
    found = re.search(r"metrics on port (\d+)", server.log_text())
    assert found is not None, server.log_tail()
    return int(found.group(1))


def scrape(port: int) -> tuple[str, dict[tuple[str, frozenset[tuple[str, str]]], float]]:
    """The text of /metrics, and every sample by (name, labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return text, samples


def calls_over_many_connections(port: int, token: str) -> list[str]:
    """One GetCaller per connection, and an IssueLicense on the first ISSUING; returns what was
    sent that names a person (emails, order references, keys)."""
    tag = os.urandom(3).hex()

    def client(i: int) -> list[str]:
        options = [("grpc.primary_user_agent", f"procs-{tag}-{i}"), ("grpc.use_local_subchannel_pool", 1)]
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
            metadata = (("authorization", f"Bearer {token}"),)
            admin_pb2_grpc.AdminServiceStub(channel).GetCaller(
                admin_pb2.GetCallerRequest(), metadata=metadata, timeout=30
            )
            if i >= ISSUING:
                return []
            email, order = f"spread.{tag}.{i}@example.com", f"SPREAD-{tag}-{i}"
            issued = issuance_pb2_grpc.IssuanceServiceStub(channel).IssueLicense(
                issuance_pb2.IssueLicenseRequest(email=email, order_id=order, product="photo-pro"),
                metadata=metadata,
                timeout=30,
            )
            assert issued.created
            return [email, order, issued.license.license_key]

    with ThreadPoolExecutor(max_workers=8) as pool:
        return [value for sent in pool.map(client, range(CONNECTIONS)) for value in sent]


def test_two_processes_serve_one_metrics_endpoint_that_adds_them_up(
    home: tuple[Settings, str], tmp_path: Path
) -> None:
    settings, token = home
    temporary = tmp_path / "tmp"  # where the parent makes the processes' private folder
    temporary.mkdir()
    server = ServerChild(
        serve_argv("--processes", "2", "--metrics-address", "127.0.0.1:0"),
        {**settings_env(settings, TEST_PASSPHRASE), "TMPDIR": str(temporary)},
        tmp_path / "serve.log",
    )
    try:
        sent = calls_over_many_connections(server.port, token)
        text, samples = scrape(metrics_port(server))
        (folder,) = temporary.glob("licensing-metrics-*")
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert len(list(folder.glob("*.db"))) >= 2  # a file per process that counted
    finally:
        assert server.stop() == 0, server.log_tail()
    assert not list(temporary.iterdir()), "the parent left the metrics folder behind"

    def value(name: str, **labels: str) -> float:
        return samples.get((name, frozenset(labels.items())), 0.0)

    assert value("licensing_rpc_requests_total", method="AdminService/GetCaller", code="OK") == CONNECTIONS
    assert value("licensing_rpc_requests_total", method="IssuanceService/IssueLicense", code="OK") == ISSUING
    assert value("licensing_rpc_duration_seconds_count", method="AdminService/GetCaller") == CONNECTIONS
    assert value("licensing_licenses_issued_total", product="photo-pro", provider="manual") == ISSUING
    served = {
        dict(labels)["process"]: count
        for (name, labels), count in samples.items()
        if name == "licensing_process_rpc_requests_total"
    }
    assert served.keys() == {"1", "2"}, served
    assert all(count > 0 for count in served.values()), served  # the kernel spread the connections
    assert sum(served.values()) == CONNECTIONS + ISSUING
    assert not any(person in text for person in [*sent, token]), "a person's value reached the metrics"
    assert "Traceback" not in server.log_text()


def test_a_busy_metrics_port_stops_the_processes_with_one_line(home: tuple[Settings, str]) -> None:
    settings, _ = home
    first = serve_home(settings, TEST_PASSPHRASE, "--metrics-address", "127.0.0.1:0")
    try:
        with pytest.raises(ServerDidNotStart) as refused:
            serve_home(
                settings, TEST_PASSPHRASE, "--processes", "2", "--metrics-address", str(metrics_port(first))
            )
    finally:
        assert first.stop() == 0
    log = refused.value.log
    assert "cannot serve metrics on" in log and "Traceback" not in log, log
    assert refused.value.returncode == 1


def test_one_process_keeps_its_series(home: tuple[Settings, str]) -> None:
    settings, token = home
    server = serve_home(settings, TEST_PASSPHRASE, "--metrics-address", "127.0.0.1:0")
    try:
        calls_over_many_connections(server.port, token)
        text, samples = scrape(metrics_port(server))
    finally:
        assert server.stop() == 0
    assert (
        samples[
            (
                "licensing_rpc_requests_total",
                frozenset({("method", "AdminService/GetCaller"), ("code", "OK")}),
            )
        ]
        == CONNECTIONS
    )
    assert "licensing_process_rpc_requests" not in text
    assert "licensing_rpc_requests_created" in text  # the one-process registry, as before
