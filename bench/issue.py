"""Unary issuance over gRPC against a no-op gRPC server, side by side, in one run.

    .venv/bin/python bench/issue.py                               # full run, prints the tables
    .venv/bin/python bench/issue.py --quick                       # a few seconds of each, for CI
    .venv/bin/python bench/issue.py --write docs/benchmarks.md    # also its section and the chart
    .venv/bin/python bench/issue.py --targets noop,sqlite --concurrency 64   # one row again

The servers, each a process of its own, all started before the first call and kept running:

- `noop`: bench/noop_server.py, a grpcio server whose one method returns at once (the transport);
- `sqlite`, `postgres`: `licensing serve` on SQLite (WAL, synchronous=FULL) and on PostgreSQL
  (synchronous commit), each on a fresh home, issuing through the group committer;
- `sqlite-1`, `postgres-1`: the same server with one durable transaction per request (the
  group committer capped at one write by bench/one_commit_server.py; nothing else differs).

One client process (this one) drives them all with bench/loadgen.py: N calls kept in flight,
each completion starting the next. Every IssueLicense is a new order from a new purchaser (a
new profile, its data key, the order, the license and an audit row: the heaviest issuance).
Rounds are interleaved: within a round each concurrency is run against every server in turn,
in an order that rotates from round to round, so neighbouring runs see the same machine; each
run lasts about `--seconds`. Reported: the median over rounds of calls/s, p50 and p99 latency,
the server's CPU time per call, and the median of the per-round ratio to the no-op server at
the same concurrency. Then each server's memory: VmRSS after the load (the meaningful figure)
and VmHWM, the peak since start, which for `licensing serve` includes the 256 MiB that Argon2id
takes once to open the keyring at start-up and gives back.

Micro baselines, in the same run and the same interleaved way: PyNaCl sign and verify of a
72-byte message on one core (this thread pinned to one CPU), SQLite WAL synchronous=FULL
transactions of two inserts vs transactions of 100 rows, the same on PostgreSQL.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import nacl.signing
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent))

import breakdown
from loadgen import LoadResult, run_load
from report import fmt_ms, fmt_rate, machine_line, median, save_results, write_section
from servers import REPO, LicensingServer, Process, drop_pg_database, noop_server, pg_database

from licensing._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc

CONCURRENCY = (1, 4, 16, 64)
TARGET_CONCURRENCY = 64
TARGETS = ("noop", "noop-aio", "sqlite", "sqlite-1", "postgres", "postgres-1")
QUICK_TARGETS = (
    "noop",
    "noop-aio",
    "sqlite",
    "postgres",
)  # CI: the one-commit baselines only add start-up time
LABELS = {
    "noop": "fair no-op, grpcio thread pool (bench/noop_server.py threads)",
    "noop-aio": "fair no-op, grpc.aio (bench/noop_server.py aio)",
    "sqlite": "`licensing serve`, SQLite, group commit",
    "sqlite-1": "`licensing serve`, SQLite, one commit per request",
    "postgres": "`licensing serve`, PostgreSQL, group commit",
    "postgres-1": "`licensing serve`, PostgreSQL, one commit per request",
}
GOALS = {"sqlite": 0.40, "postgres": 0.30}  # share of the fair no-op's rate at 64 in flight
CPU_GOALS = {"sqlite": 2.5}  # server CPU per call at most this many times the fair no-op's
NOOPS = ("noop", "noop-aio")  # the baseline of a round is the faster of the two
# The fair no-op gets the same metadata as the licensing server: a bearer token of the same length.
NOOP_METADATA = (("authorization", "Bearer lic_" + "x" * 43),)
P99_GOAL_MS = 50.0
CHART = "bench-issuance.png"


@dataclass
class Target:
    name: str
    server: Process
    call: grpc.UnaryUnaryMultiCallable
    metadata: tuple[tuple[str, str], ...] = ()
    runs: dict[int, list[dict[str, float]]] = field(default_factory=dict)
    memory: dict[str, float] = field(default_factory=dict)

    def requests(self, tag: str) -> Callable[[int], Any]:
        return lambda i: issuance_pb2.IssueLicenseRequest(
            email=f"buyer-{tag}-{i}@example.com", order_id=f"{tag}-{i}", product="bench-app"
        )


def _start(name: str, workers: int) -> Target:
    if name in NOOPS:
        server: Process = noop_server(workers, "aio" if name == "noop-aio" else "threads")
        call = server.channel.unary_unary(
            "/bench.Noop/Call",
            request_serializer=issuance_pb2.IssueLicenseRequest.SerializeToString,
            response_deserializer=issuance_pb2.IssueLicenseResponse.FromString,
        )
        return Target(name, server, call, NOOP_METADATA)
    engine = name.removesuffix("-1")
    launcher = [str(REPO / "bench" / "one_commit_server.py")] if name.endswith("-1") else None
    licensing = LicensingServer(engine, workers=workers, launcher=launcher)
    stub = issuance_pb2_grpc.IssuanceServiceStub(licensing.channel)
    return Target(name, licensing, stub.IssueLicense, licensing.metadata())


def start_targets(names: list[str], workers: int) -> dict[str, Target]:
    """Start the servers three at a time (a start is mostly waiting on child processes)."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_start, name, workers) for name in names}
    failed = [f.exception() for f in futures.values() if f.exception() is not None]
    if failed:
        for future in futures.values():
            if future.exception() is None:
                future.result().server.stop()
        raise failed[0]  # type: ignore[misc]
    return {name: future.result() for name, future in futures.items()}


def measure_rounds(
    targets: dict[str, Target],
    concurrency: list[int],
    rounds: int,
    seconds: float,
    min_calls: int,
    warm_up: int = 300,
) -> None:
    """Interleaved rounds; each run sized from the rate seen last time to last about `seconds`."""
    serial = itertools.count()
    estimate: dict[tuple[str, int], float] = {}
    for target in targets.values():  # warm up: connections, compiled queries, the writer thread
        warm = run_load(
            target.call,
            target.requests(f"w{next(serial)}"),
            total=warm_up,
            in_flight=16,
            metadata=target.metadata,
        )
        for c in concurrency:
            estimate[target.name, c] = warm.rate * min(1.0, c / 16)
    names = list(targets)
    for r in range(rounds):
        for c in concurrency:
            for name in names[r % len(names) :] + names[: r % len(names)]:
                target = targets[name]
                total = max(min_calls, int(estimate[name, c] * seconds))
                cpu, switches, client = (
                    target.server.cpu_seconds(),
                    target.server.context_switches(),
                    time.process_time(),
                )
                by_thread = target.server.cpu_seconds_by_thread()
                result: LoadResult = run_load(
                    target.call,
                    target.requests(f"r{next(serial)}"),
                    total=total,
                    in_flight=c,
                    metadata=target.metadata,
                )
                cpu, client = target.server.cpu_seconds() - cpu, time.process_time() - client
                switches = target.server.context_switches() - switches
                threads = _thread_split(by_thread, target.server.cpu_seconds_by_thread(), cpu, result.calls)
                estimate[name, c] = result.rate
                target.runs.setdefault(c, []).append(
                    {
                        "rate": result.rate,
                        "p50": result.p50_ms,
                        "p99": result.p99_ms,
                        "cpu_ms": cpu * 1e3 / result.calls,
                        "switches": switches / result.calls,
                        "client_ms": client * 1e3 / result.calls,
                        "errors": result.errors,
                        "calls": result.calls,
                        **threads,
                    }
                )
    for target in targets.values():
        target.memory = {"rss": target.server.rss_mib(), "hwm": target.server.peak_rss_mib()}


# Where a server's CPU per call goes, by kernel thread name (licensing/threadnames.py names them).
THREAD_PARTS = {
    "loop_ms": "the event loop (gRPC's per-call work, the interceptor, checks, signing, sealing)",
    "writer_ms": "the group-commit writer (SQL in Python, SQLite's own work and its writes to disk)",
    "other_ms": "the server's other threads (gRPC core's pollers, the blocking pool)",
    "backend_ms": "PostgreSQL's backends",
}


def _thread_split(
    before: dict[str, float], after: dict[str, float], total_seconds: float, calls: int
) -> dict[str, float]:
    """A run's server CPU per call (ms) split by thread; what the process's threads do not account
    for is the PostgreSQL backends' (counted in the total by LicensingServer.cpu_seconds)."""
    spent = {name: after[name] - before.get(name, 0.0) for name in after}
    loop, writer = spent.pop("grpc-aio", 0.0), spent.pop("group-commit", 0.0)
    other = sum(spent.values())
    backend = max(0.0, total_seconds - loop - writer - other)
    return {
        "loop_ms": loop * 1e3 / calls,
        "writer_ms": writer * 1e3 / calls,
        "other_ms": other * 1e3 / calls,
        "backend_ms": backend * 1e3 / calls,
    }


def summarise(targets: dict[str, Target]) -> dict[str, Any]:
    """Medians over rounds, and per-round ratios to the no-op server at the same concurrency."""
    out: dict[str, Any] = {}
    noops = [targets[n] for n in NOOPS if n in targets]
    for name, target in targets.items():
        rows = {}
        for c, runs in target.runs.items():
            row = {
                key: median([run[key] for run in runs])
                for key in ("rate", "p50", "p99", "cpu_ms", "switches", "client_ms", *THREAD_PARTS)
                if all(key in run for run in runs)
            }
            row["p99_worst"] = max(run["p99"] for run in runs)
            row["errors"] = sum(run["errors"] for run in runs)
            row["calls"] = sum(run["calls"] for run in runs)
            if noops and name not in NOOPS and all(c in n.runs for n in noops):
                # Per round, the faster no-op of that round (same interleaving, same machine state).
                bases = [
                    max(round_runs, key=lambda run: run["rate"])
                    for round_runs in zip(*(n.runs[c] for n in noops), strict=True)
                ]
                ratios = [ours["rate"] / base["rate"] for ours, base in zip(runs, bases, strict=True)]
                cpu_ratios = [
                    ours["cpu_ms"] / base["cpu_ms"]
                    for ours, base in zip(runs, bases, strict=True)
                    if base["cpu_ms"] > 0
                ]
                row["ratio"] = median(ratios)
                row["ratio_min"], row["ratio_max"] = min(ratios), max(ratios)
                if cpu_ratios:
                    row["cpu_ratio"] = median(cpu_ratios)
                    row["cpu_ratio_min"], row["cpu_ratio_max"] = min(cpu_ratios), max(cpu_ratios)
                row["base_rate"] = median([b["rate"] for b in bases])
                row["base_cpu_ms"] = median([b["cpu_ms"] for b in bases])
                row["base_p99"] = median([b["p99"] for b in bases])
            rows[c] = row
        out[name] = {"by_concurrency": rows, "memory": target.memory}
    return out


# -- micro baselines ---------------------------------------------------------------------------


def _pin_this_thread() -> str:
    """Pin the calling thread to the CPU that was idlest over the last quarter second."""
    try:
        allowed = sorted(os.sched_getaffinity(0))

        def idle() -> dict[int, int]:
            rows = [line.split() for line in Path("/proc/stat").read_text().splitlines() if line[:3] == "cpu"]
            return {int(f[0][3:]): int(f[4]) + int(f[5]) for f in rows if f[0] != "cpu"}

        before = idle()
        time.sleep(0.25)
        after = idle()
        cpu = max(allowed, key=lambda n: after.get(n, 0) - before.get(n, 0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned"


def _sqlite_pair_schema(connection: Any) -> None:
    connection.execute(
        'CREATE TABLE IF NOT EXISTS "order" (id INTEGER PRIMARY KEY, ref TEXT UNIQUE NOT NULL, t TEXT NOT NULL)'
    )
    connection.execute(
        "CREATE TABLE IF NOT EXISTS license (serial BIGINT PRIMARY KEY, order_id INTEGER NOT NULL, key TEXT NOT NULL)"
    )


class MicroBaselines:
    """Each `run_*` does its work for about `seconds` and returns a rate."""

    def __init__(self, seconds: float, with_postgres: bool) -> None:
        self.seconds = seconds
        self.counter = itertools.count()
        signing = nacl.signing.SigningKey(b"\x01" * 32)
        self.sign = signing.sign
        self.verify = signing.verify_key.verify
        self.message = bytes(range(72))
        self.signed = signing.sign(self.message)
        self.folder = tempfile.mkdtemp(prefix="bench-sqlite-")
        self.sqlite = sqlite3.connect(Path(self.folder) / "micro.sqlite3", isolation_level=None)
        self.sqlite.execute("PRAGMA journal_mode=wal")
        self.sqlite.execute("PRAGMA synchronous=full")
        _sqlite_pair_schema(self.sqlite)
        self.pg_name: str | None = None
        self.pg: Any = None
        if with_postgres:
            self.pg_name, _ = pg_database()
            self.pg = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=self.pg_name)
            with self.pg.cursor() as cursor:
                cursor.execute("SHOW synchronous_commit")
                self.pg_synchronous = cursor.fetchone()[0]
                cursor.execute(
                    'CREATE TABLE "order" (id BIGSERIAL PRIMARY KEY, ref TEXT UNIQUE NOT NULL, t TEXT NOT NULL)'
                )
                cursor.execute(
                    "CREATE TABLE license (serial BIGINT PRIMARY KEY, order_id BIGINT NOT NULL, key TEXT NOT NULL)"
                )
            self.pg.commit()

    def close(self) -> None:
        self.sqlite.close()
        if self.pg is not None:
            self.pg.close()
            drop_pg_database(self.pg_name or "")

    def _timed(self, step: Callable[[], int]) -> float:
        """Call `step` (which returns the units it did) until `seconds` have passed; units/s."""
        done, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < self.seconds:
            done += step()
        return done / elapsed

    def _cpu_timed(self, step: Callable[[], int]) -> float:
        """As _timed, in this thread's CPU time (waiting for a shared CPU is not the library's)."""
        done, start = 0, time.thread_time()
        while (elapsed := time.thread_time() - start) < self.seconds:
            done += step()
        return done / elapsed

    def run_sign(self) -> float:
        sign, message = self.sign, self.message

        def step() -> int:
            for _ in range(100):
                sign(message)
            return 100

        return self._cpu_timed(step)

    def run_verify(self) -> float:
        verify, signed = self.verify, self.signed

        def step() -> int:
            for _ in range(100):
                verify(signed)
            return 100

        return self._cpu_timed(step)

    def _rows(self, n: int) -> list[tuple[int, str]]:
        return [(k := next(self.counter), f"ORDER-{k}") for _ in range(n)]

    def run_sqlite_single(self) -> float:
        def step() -> int:
            ((k, ref),) = self._rows(1)
            self.sqlite.execute("BEGIN IMMEDIATE")
            self.sqlite.execute('INSERT INTO "order" (id, ref, t) VALUES (?, ?, ?)', (k, ref, "2026-01-01"))
            self.sqlite.execute(
                "INSERT INTO license (serial, order_id, key) VALUES (?, ?, ?)", (k, k, "K" * 160)
            )
            self.sqlite.execute("COMMIT")
            return 1

        return self._timed(step)

    def run_sqlite_batch(self) -> float:
        def step() -> int:
            rows = self._rows(50)
            self.sqlite.execute("BEGIN IMMEDIATE")
            self.sqlite.executemany(
                'INSERT INTO "order" (id, ref, t) VALUES (?, ?, ?)', [(k, r, "2026-01-01") for k, r in rows]
            )
            self.sqlite.executemany(
                "INSERT INTO license (serial, order_id, key) VALUES (?, ?, ?)",
                [(k, k, "K" * 160) for k, _ in rows],
            )
            self.sqlite.execute("COMMIT")
            return 100

        return self._timed(step)

    def run_pg_single(self) -> float:
        def step() -> int:
            ((k, ref),) = self._rows(1)
            with self.pg.cursor() as cursor:
                cursor.execute(
                    'INSERT INTO "order" (ref, t) VALUES (%s, %s) RETURNING id', (ref, "2026-01-01")
                )
                order_id = cursor.fetchone()[0]
                cursor.execute(
                    "INSERT INTO license (serial, order_id, key) VALUES (%s, %s, %s)",
                    (k, order_id, "K" * 160),
                )
            self.pg.commit()
            return 1

        return self._timed(step)

    def run_pg_batch(self) -> float:
        from psycopg2.extras import execute_values

        def step() -> int:
            rows = self._rows(50)
            with self.pg.cursor() as cursor:
                execute_values(
                    cursor,
                    'INSERT INTO "order" (id, ref, t) VALUES %s',
                    [(k, r, "2026-01-01") for k, r in rows],
                )
                execute_values(
                    cursor,
                    "INSERT INTO license (serial, order_id, key) VALUES %s",
                    [(k, k, "K" * 160) for k, _ in rows],
                )
            self.pg.commit()
            return 100

        return self._timed(step)


MICRO = {
    "sign": ("PyNaCl `SigningKey.sign`, 72-byte message, one core (CPU time)", "signatures/s"),
    "verify": ("PyNaCl `VerifyKey.verify`, same, one core (CPU time)", "verifications/s"),
    "sqlite_single": (
        "SQLite WAL `synchronous=FULL`: one transaction of two inserts, one after another",
        "transactions/s",
    ),
    "sqlite_batch": ("SQLite WAL `synchronous=FULL`: transactions of 100 rows (50 pairs)", "rows/s"),
    "pg_single": (
        "PostgreSQL, synchronous commit: one transaction of two inserts, one after another",
        "transactions/s",
    ),
    "pg_batch": ("PostgreSQL, synchronous commit: transactions of 100 rows (50 pairs)", "rows/s"),
}


def measure_micro(rounds: int, seconds: float, with_postgres: bool) -> tuple[dict[str, float], str]:
    micro = MicroBaselines(seconds, with_postgres)
    try:
        pinned = _pin_this_thread()
        runners: dict[str, Callable[[], float]] = {
            "sign": micro.run_sign,
            "verify": micro.run_verify,
            "sqlite_single": micro.run_sqlite_single,
            "sqlite_batch": micro.run_sqlite_batch,
        }
        if with_postgres:
            runners |= {"pg_single": micro.run_pg_single, "pg_batch": micro.run_pg_batch}
        rates: dict[str, list[float]] = {name: [] for name in runners}
        names = list(runners)
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                rates[name].append(runners[name]())
        os.sched_setaffinity(0, os.sched_getaffinity(os.getpid()) | set(range(os.cpu_count() or 1)))
        note = pinned + (f"; PostgreSQL synchronous_commit={micro.pg_synchronous}" if with_postgres else "")
        return {name: median(values) for name, values in rates.items()}, note
    finally:
        micro.close()


# -- the chart and the report ------------------------------------------------------------------


def draw_chart(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {
        "noop": ("black", "o", "-"),
        "noop-aio": ("gray", "o", "--"),
        "sqlite": ("tab:blue", "s", "-"),
        "sqlite-1": ("tab:blue", "s", ":"),
        "postgres": ("tab:orange", "^", "-"),
        "postgres-1": ("tab:orange", "^", ":"),
    }
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, data in summary.items():
        rows = data["by_concurrency"]
        xs = sorted(int(c) for c in rows)
        color, marker, line = styles.get(name, ("gray", "x", "-"))
        label = (
            name
            if name in NOOPS
            else f"{name} ({'one commit per request' if name.endswith('-1') else 'group commit'})"
        )
        left.plot(xs, [rows[c]["rate"] for c in xs], color=color, marker=marker, linestyle=line, label=label)
        right.plot(xs, [rows[c]["p99"] for c in xs], color=color, marker=marker, linestyle=line, label=label)
    for axis in (left, right):
        axis.set_xscale("log", base=2)
        axis.set_xticks(list(CONCURRENCY), [str(c) for c in CONCURRENCY])
        axis.set_xlabel("calls in flight (one client process)")
        axis.grid(True, alpha=0.3)
    left.set_ylabel("calls/s (median of rounds)")
    left.set_title("IssueLicense rate vs the no-op gRPC call")
    right.set_yscale("log")
    right.set_ylabel("p99 latency, ms (median of rounds)")
    right.axhline(P99_GOAL_MS, color="red", linewidth=0.8, linestyle="--", label=f"{P99_GOAL_MS:g} ms goal")
    right.set_title("p99 latency")
    right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def report(
    summary: dict[str, Any],
    micro: dict[str, float],
    micro_note: str,
    steps: list[tuple[str, float]],
    *,
    rounds: int,
    seconds: float,
    workers: int,
    quick: bool,
) -> str:
    command = "python bench/issue.py" + (" --quick" if quick else "")
    lines = [
        "## Issuance over gRPC (`bench/issue.py`)",
        "",
        (
            f"Measured {machine_line()}. Command: `{command}`; {rounds} interleaved rounds, each run about "
            f"{seconds:g} s; servers with {workers} worker threads; one client process (bench/loadgen.py) "
            "for every server. Each IssueLicense is a new order from a new purchaser."
        ),
        "",
        (
            "| in flight | server | calls/s | rate vs fair no-op (rounds: min to max) | p50 ms | p99 ms (worst round) | "
            "server CPU ms/call | CPU vs fair no-op (min to max) | server context switches/call | client CPU ms/call | rerun |"
        ),
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for c in CONCURRENCY:
        for name, data in summary.items():
            row = data["by_concurrency"].get(c)
            if row is None:
                continue
            ratio = (
                f"{row['ratio']:.0%} ({row['ratio_min']:.0%} to {row['ratio_max']:.0%})"
                if "ratio" in row
                else "baseline"
            )
            cpu_ratio = (
                f"{row['cpu_ratio']:.1f}x ({row['cpu_ratio_min']:.1f} to {row['cpu_ratio_max']:.1f})"
                if "cpu_ratio" in row
                else "baseline"
            )
            errors = f", **{row['errors']} errors**" if row["errors"] else ""
            rerun = (
                f"`bench/issue.py --targets noop,noop-aio,{name} --concurrency {c}`"
                if name not in NOOPS
                else f"`bench/issue.py --targets {name} --concurrency {c}`"
            )
            strong = "**" if c == TARGET_CONCURRENCY and name in GOALS else ""
            lines.append(
                f"| {c} | {strong}{LABELS[name]}{strong} | {fmt_rate(row['rate'])}{errors} | {ratio} | {fmt_ms(row['p50'])} | "
                f"{fmt_ms(row['p99'])} ({fmt_ms(row['p99_worst'])}) | {row['cpu_ms']:.2f} | {cpu_ratio} | {row['switches']:.0f} | {row['client_ms']:.2f} | {rerun} |"
            )
    lines += [
        "",
        f"Server CPU per call at {TARGET_CONCURRENCY} in flight, by thread (medians over rounds, ms; the noops' event loop "
        "is the whole of gRPC's own per-call work):",
        "",
        "| server | " + " | ".join(THREAD_PARTS.values()) + " | total |",
        "| --- | " + " | ".join("---:" for _ in THREAD_PARTS) + " | ---: |",
    ]
    for name, data in summary.items():
        row = data["by_concurrency"].get(TARGET_CONCURRENCY)
        if row is not None and all(key in row for key in THREAD_PARTS):
            parts = " | ".join(
                "—" if key == "backend_ms" and not name.startswith("postgres") else f"{row[key]:.3f}"
                for key in THREAD_PARTS
            )
            lines.append(f"| {LABELS[name]} | {parts} | {row['cpu_ms']:.3f} |")
    lines += [
        "",
        "| server | VmRSS after the load, MiB | VmHWM (peak since start), MiB |",
        "| --- | ---: | ---: |",
    ]
    for name, data in summary.items():
        lines.append(f"| {LABELS[name]} | {data['memory']['rss']:.0f} | {data['memory']['hwm']:.0f} |")
    if micro:
        lines += [
            "",
            f"Micro baselines, same run ({micro_note}; rerun: `bench/issue.py --targets none`):",
            "",
            "| measured | rate |",
            "| --- | ---: |",
        ]
        for name, value in micro.items():
            what, unit = MICRO[name]
            lines.append(f"| {what} | {fmt_rate(value)} {unit} |")
    if steps:
        lines += [
            "",
            (
                "Where the server's CPU goes: the issuer's steps timed in-process, without gRPC (bench/breakdown.py; "
                "rerun: `bench/issue.py --targets none --no-micro`):"
            ),
            "",
            "| step | CPU µs per call |",
            "| --- | ---: |",
            *(f"| {step} | {us:,.0f} |" for step, us in steps),
        ]
        for name in ("sqlite", "noop"):
            row = summary.get(name, {}).get("by_concurrency", {}).get(TARGET_CONCURRENCY)
            if row is not None:
                lines.append(
                    f"| over gRPC at {TARGET_CONCURRENCY} in flight, {LABELS[name]} (the table above) | {row['cpu_ms'] * 1e3:,.0f} |"
                )
    lines += ["", f"![Issuance rate and p99 latency against calls in flight]({CHART})", ""]
    return "\n".join(lines) + "\n" + NOTES


NOTES = """\
How to read this. The baseline is the fair no-op (bench/noop_server.py): it parses the same
IssueLicenseRequest, receives the same metadata and returns a response of the size of a real
IssueLicenseResponse, in two kinds, grpcio's thread pool and grpc.aio; each round compares against
the faster of the two in that round. The client and the servers share the machine's two CPUs
(and other work running on it), so a server that needs more CPU per call leaves less to the
client and to itself: "server CPU ms/call" is the cost a change to the server moves, and its
ratio to the no-op's is the steadier figure on a shared machine (the rate ratio moves with
whatever else runs). On PostgreSQL the CPU of the database's backends serving the benchmark's
databases is counted in the server's (read from /proc for the pids pg_stat_activity lists).
Memory: VmHWM of `licensing serve` includes Argon2id's 256 MiB, taken once at start-up to open
the keyring and returned; VmRSS after the load is what the server holds while it serves.

Where the time goes (issue 11). The table by thread splits each server's CPU per call by the
kernel name of the thread that spent it (licensing/threadnames.py names them). The event loop
("grpc-aio") carries gRPC's own per-call work and everything a call does inline: the interceptor
(token from a 2 s cache, admission, reading the request itself so that a caller that sends
nothing can be timed out, metrics), the checks, the serial, sealing the email in case the
purchaser is new, and, once the group has committed, signing the key and building the answer.
The writer ("group-commit") runs the group's set-wise SQL (issuance_writer.py: multi-row INSERT
... RETURNING from tuples; the data keys first, in the key store) and SQLite's own work and page
writes for a new purchaser's five rows and their indexes; on PostgreSQL that share is in the
backends. Two measurements outside this table, 2026-12-07 on the same machine, say what each
part costs. (1) The licensing server with IssueLicense answering a canned response at once (no
issuance): its loop took 0.34 to 0.37 ms per call against 0.24 for the grpc.aio no-op, so the
interceptor and the streamed request cost about 0.1 ms, of which the request read as a stream
(the price of the first-message time limit; a unary handler cannot be timed out before its
message arrives) about 0.03 ms; the interceptor's own Python, timed in-process, is 17 µs. (2)
bench/breakdown.py's steps (the table above, in-process): checks, serial and sealing, then the
signature, about 0.1 ms together. The rest of the loop's share is the asyncio and gRPC work
around each await, and waiting for the interpreter lock the writer holds while it builds a
group (py-spy --gil: the writer holds it 10 to 15% of the time). The writer lingers 1 ms before
a group when the previous one held several writes, so groups grow under load (measured once at
64 in flight: from 3 to 7 writes per group without it to about 16 with it). Past one interpreter, `licensing serve
--processes N` runs N processes on one port (docs/operations.md).
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="one short round; noop, sqlite and postgres only (for CI)"
    )
    parser.add_argument(
        "--write",
        metavar="MARKDOWN",
        type=Path,
        help="update this file's section and draw the chart beside it",
    )
    parser.add_argument("--json", type=Path, help="write the figures here (for bench/run_all.py)")
    parser.add_argument(
        "--targets", help=f"comma-separated, from {','.join(TARGETS)} (or none: micro baselines only)"
    )
    parser.add_argument("--concurrency", help="comma-separated calls in flight (default 1,4,16,64)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 5, quick 1)")
    parser.add_argument("--seconds", type=float, help="length of each run (default 1.5, quick 0.1)")
    parser.add_argument(
        "--workers", type=int, default=16, help="server worker threads (default 16, as `licensing serve`)"
    )
    parser.add_argument("--no-micro", action="store_true", help="skip the micro baselines")
    parser.add_argument(
        "--no-breakdown", action="store_true", help="skip the in-process timing of the issuer's steps"
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 5)
    seconds = args.seconds or (0.1 if args.quick else 1.5)
    default = QUICK_TARGETS if args.quick else TARGETS
    names = (
        default if args.targets is None else tuple(n for n in args.targets.split(",") if n and n != "none")
    )
    unknown = set(names) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    concurrency = [int(c) for c in args.concurrency.split(",")] if args.concurrency else list(CONCURRENCY)
    with_postgres = any(n.startswith("postgres") for n in names) or args.targets is None or not names

    summary: dict[str, Any] = {}
    if names:
        targets = start_targets(list(names), args.workers)
        try:
            measure_rounds(
                targets,
                concurrency,
                rounds,
                seconds,
                min_calls=20 if args.quick else 100,
                warm_up=50 if args.quick else 300,
            )
        finally:
            for target in targets.values():
                target.server.stop()
        summary = summarise(targets)
    micro, note = (
        ({}, "")
        if args.no_micro
        else measure_micro(3 if args.quick else 2 * rounds, 0.05 if args.quick else 0.5, with_postgres)
    )
    steps = [] if args.no_breakdown else breakdown.measure(100 if args.quick else 2_000)

    section = report(
        summary, micro, note, steps, rounds=rounds, seconds=seconds, workers=args.workers, quick=args.quick
    )
    print(section)
    if summary:
        if args.write:
            draw_chart(summary, args.write.parent / CHART)
            write_section(args.write, "issue", section)
            print(f"updated {args.write} and {args.write.parent / CHART}")
        else:
            with tempfile.TemporaryDirectory() as folder:  # draw it anyway, so the chart code is exercised
                draw_chart(summary, Path(folder) / CHART)
    save_results(args.json, {"issue": summary, "micro": micro, "micro_note": note, "breakdown": steps})
    return (
        0
        if all(row["errors"] == 0 for data in summary.values() for row in data["by_concurrency"].values())
        else 1
    )


if __name__ == "__main__":
    sys.exit(main())
