"""Trend series for Prometheus: counters and histograms that carry no person.

The privacy policy allows logs and metrics for overall trends only. So every label here comes
from a closed set the code controls (an RPC method name, a status code, a reason code, a
revocation reason) or from the product catalogue (a product code the operator chose); a
provider name the caller sent is kept only when it is one of the known providers. Nothing a
purchaser typed, and no email, key, token or order reference, can become a label value:
`_bounded` is the one gate, and tests/console/test_metrics_privacy.py checks the output.

The series live in one registry of their own, served on a separate port (`--metrics-address`)
so that scraping never shares a listener with the API or the bridge's provider endpoints. Under
`serve --processes N` every process counts into shared files instead (shared_metrics.py), and one
more series says which process served each call: its label is the process's number, 1 to N.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, start_http_server
from prometheus_client.registry import Collector

from .errors import ConfigurationError

__all__ = [
    "REGISTRY",
    "MetricsServer",
    "bridge_request",
    "count_as_process",
    "issued",
    "lookup",
    "revoked",
    "rpc_finished",
    "rpc_refused",
    "start_metrics_server",
    "verdict",
    "verdict_counts",
]

REGISTRY = CollectorRegistry(auto_describe=True)

KNOWN_PROVIDERS = frozenset({"manual", "import", "2checkout", "fastspring", "paddle", "paddle-classic"})
_METHOD = re.compile(r"/licensing\.v1\.([A-Za-z]+Service)/([A-Za-z]+)")
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")  # reason codes and status names (AIP-193 shape)
_PRODUCT = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
_PROVIDER = re.compile(r"[a-z0-9-]{1,32}")
_LOOKUP = re.compile(r"[a-z_]{1,16}")
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

RPCS = Counter(
    "licensing_rpc_requests", "gRPC calls by method and status code", ["method", "code"], registry=REGISTRY
)
RPC_SECONDS = Histogram(
    "licensing_rpc_duration_seconds",
    "gRPC call duration by method",
    ["method"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
REFUSALS = Counter(
    "licensing_refusals",
    "calls refused, by method and machine-readable reason",
    ["method", "reason"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "licensing_rate_limit_trips",
    "look-ups refused by the per-token rate limit",
    ["method"],
    registry=REGISTRY,
)
LOOKUPS = Counter("licensing_lookups", "support look-ups by what was searched by", ["by"], registry=REGISTRY)
ISSUED = Counter(
    "licensing_licenses_issued",
    "new licenses issued (not retries), by product and provider",
    ["product", "provider"],
    registry=REGISTRY,
)
ISSUE_SECONDS = Histogram(
    "licensing_issuance_duration_seconds",
    "time to issue one license (IssueLicense), by outcome",
    ["outcome"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
REVOKED = Counter(
    "licensing_licenses_revoked",
    "licenses revoked, by product and reason",
    ["product", "reason"],
    registry=REGISTRY,
)
VERDICTS = Counter(
    "licensing_validation_verdicts",
    "online key checks by product and verdict (VALID or the reason code)",
    ["product", "verdict"],
    registry=REGISTRY,
)
BRIDGE = Counter(
    "licensing_bridge_requests",
    "provider requests to the bridge by provider, endpoint and HTTP status",
    ["provider", "endpoint", "status"],
    registry=REGISTRY,
)
BRIDGE_SECONDS = Histogram(
    "licensing_bridge_request_duration_seconds",
    "bridge request duration by provider and endpoint",
    ["provider", "endpoint"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
# Only under --processes (never in REGISTRY: the one-process server's series stay as they were).
PROCESS_CALLS = Counter(
    "licensing_process_rpc_requests",
    "gRPC calls by the server process (1 to N of serve --processes N) that served them",
    ["process"],
    registry=None,
)
_process_calls: Counter | None = None
# Where prometheus_client's multiprocess mode keeps each process's counts (shared_metrics.py sets it).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def count_as_process(number: int) -> None:
    """From now on every call this process finishes is also counted under its number."""
    global _process_calls
    _process_calls = PROCESS_CALLS.labels(process=str(number))


def _bounded(value: str | None, pattern: re.Pattern[str], allowed: Iterable[str] | None = None) -> str:
    """`value` when it has the expected shape (and is in `allowed`, if given), else "other"."""
    if not value:
        return "none"
    if not pattern.fullmatch(value) or (allowed is not None and value not in allowed):
        return "other"
    return value


def method_label(method: str) -> str:
    match = _METHOD.fullmatch(method)
    return f"{match[1]}/{match[2]}" if match else "other"


def provider_label(provider: str) -> str:
    return _bounded(provider or "manual", _PROVIDER, KNOWN_PROVIDERS)


def product_label(product: str | None) -> str:
    return _bounded(product, _PRODUCT)


def rpc_finished(method: str, code: str, seconds: float) -> None:
    label = method_label(method)
    RPCS.labels(method=label, code=_bounded(code, _CODE)).inc()
    RPC_SECONDS.labels(method=label).observe(seconds)
    if _process_calls is not None:
        _process_calls.inc()


def rpc_refused(method: str, reason: str, rate_limited: bool) -> None:
    label = method_label(method)
    REFUSALS.labels(method=label, reason=_bounded(reason, _CODE)).inc()
    if rate_limited:
        RATE_LIMITED.labels(method=label).inc()


def lookup(by: str) -> None:
    LOOKUPS.labels(by=_bounded(by, _LOOKUP, {"email", "order_id", "license_key"})).inc()


def issued(product: str, provider: str, created: bool, seconds: float | None = None, count: int = 1) -> None:
    """`count` licenses issued alike (a bulk chunk counts each product and provider once)."""
    if created:
        ISSUED.labels(product=product_label(product), provider=provider_label(provider)).inc(count)
    if seconds is not None:
        ISSUE_SECONDS.labels(outcome="created" if created else "existing").observe(seconds)


def revoked(product: str, reason: str) -> None:
    REVOKED.labels(product=product_label(product), reason=_bounded(reason.upper(), _CODE)).inc()


def verdict(product: str | None, reason: str | None) -> None:
    VERDICTS.labels(product=product_label(product), verdict=_bounded(reason or "VALID", _CODE)).inc()


def verdict_counts() -> dict[str, int]:
    """The server's validation verdicts by reason, all products together (under --processes,
    every process's, read from the shared files)."""
    shared = os.environ.get(MULTIPROC_ENV)
    source: Collector = multiprocess.MultiProcessCollector(None, path=shared) if shared else VERDICTS
    counts: dict[str, int] = {}
    for family in source.collect():
        for sample in family.samples:
            if sample.name == "licensing_validation_verdicts_total":
                reason = sample.labels["verdict"]
                counts[reason] = counts.get(reason, 0) + int(sample.value)
    return counts


def bridge_request(provider: str, endpoint: str, status: int, seconds: float) -> None:
    # Provider and endpoint come from the bridge's own route table, never from the request.
    BRIDGE.labels(provider=provider, endpoint=endpoint, status=str(status)).inc()
    BRIDGE_SECONDS.labels(provider=provider, endpoint=endpoint).observe(seconds)


class MetricsServer:
    """The HTTP listener that serves /metrics, in a daemon thread of its own."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server, self._thread = server, thread

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def parse_metrics_address(address: str) -> tuple[str, int]:
    """`PORT` (loopback) or `HOST:PORT`; IPv6 hosts in brackets."""
    host, sep, port = address.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", address
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise ConfigurationError(f"--metrics-address must be PORT or HOST:PORT, not {address!r}") from None
    if not 0 <= number <= 65535:
        raise ConfigurationError("--metrics-address: the port must be 0 to 65535")
    return host, number


def start_metrics_server(address: str, registry: CollectorRegistry = REGISTRY) -> MetricsServer:
    """Serve `registry` on `address`; port 0 picks a free one (see `.port`)."""
    host, port = parse_metrics_address(address)
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ConfigurationError(f"cannot serve metrics on {address}: {exc.strerror}") from exc
    return MetricsServer(server, thread)
