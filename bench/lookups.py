"""Look-ups at 10,000 and at 1,000,000 stored licenses, side by side, in one run.

    .venv/bin/python bench/lookups.py                               # SQLite and PostgreSQL, 10k and 1M
    .venv/bin/python bench/lookups.py --quick                       # 200 and 2,000 licenses, for CI
    .venv/bin/python bench/lookups.py --write docs/benchmarks.md    # also update its section
    .venv/bin/python bench/lookups.py --engines sqlite --sizes 10000,1000000

One `licensing serve` per (engine, size), all running at once. Each first issues a small set of
real licenses through IssueLicense (the probes: real keys, real profiles with sealed emails and
blind indexes); then the rest of its licenses are written straight into its databases in big
transactions: well-formed rows in the models' tables (a profile with a blind index and a sealed
email, its data key in the key store, an order, a license, the audit row an issuance leaves),
keys of filler rows being placeholder text since only the probes' keys are looked up.
PostgreSQL gets the ANALYZE that autovacuum would run; SQLite is left as deployed (no ANALYZE).

Then, in interleaved rounds (each round visits every server, in a rotating order), one call
at a time from this process: support's FindLicenses by email, by order ID and by key, and
ValidateKey, cycling through the probes; ExportProfile too, which is not a target (see the
notes). Reported: median and p99 latency per kind and size, and the ratio of medians of the
largest size to the smallest; each server's VmRSS after its look-ups (the target is for the
server holding 1,000,000 licenses) and its database's size on disk.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import run_load
from report import fmt_ms, machine_line, median, percentile, save_results, write_section
from servers import LicensingServer

from licensing._proto.licensing.v1 import (
    issuance_pb2,
    issuance_pb2_grpc,
    support_pb2,
    support_pb2_grpc,
    validation_pb2,
    validation_pb2_grpc,
)
from licensing.storage.models import AuditEvent, DataKey, License, Order, Profile

PRODUCT, PRODUCT_NUMBER = "bench-app", 7
TARGET_RATIO = 1.3
TARGET_RSS_MIB = 200
KINDS = {
    "email": "FindLicenses by email",
    "order": "FindLicenses by order ID",
    "key": "FindLicenses by key",
    "validate": "ValidateKey",
    "export": "ExportProfile (not a target)",
}
TARGET_KINDS = ("email", "order", "key", "validate")
ENGINES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


# -- filling a database ------------------------------------------------------------------------


class Filler:
    """Writes filler rows into one server's two databases, on SQLite or PostgreSQL."""

    def __init__(self, server: LicensingServer, engine: str) -> None:
        self.engine = engine
        if engine == "sqlite":
            self.main: Any = sqlite3.connect(server.home / "licensing.sqlite3", isolation_level=None)
            self.keys: Any = sqlite3.connect(server.home / "keystore.sqlite3", isolation_level=None)
            for connection in (self.main, self.keys):
                connection.execute("PRAGMA busy_timeout=30000")
                connection.execute("PRAGMA synchronous=OFF")  # the filler only: it is not what is measured
                connection.execute("PRAGMA cache_size=-262144")  # 256 MiB for the index inserts
        else:
            self.main = psycopg2.connect(server.env["LICENSING_DATABASE_URL"])
            self.keys = psycopg2.connect(server.env["LICENSING_KEYSTORE_URL"])

    def close(self) -> None:
        self.main.close()
        self.keys.close()

    def _value(self, value: Any) -> Any:
        """As each driver takes it: SQLite gets text for dates and ints for booleans, as Peewee stores them."""
        if isinstance(value, bool):
            return int(value) if self.engine == "sqlite" else ("t" if value else "f")
        if isinstance(value, dt.datetime | dt.date):
            return str(value)
        if isinstance(value, bytes) and self.engine == "postgres":
            return "\\x" + value.hex()  # bytea in COPY's text form
        return value

    def insert(
        self,
        connection: Any,
        model: Any,
        names: list[str],
        rows: Iterator[tuple[Any, ...]],
        chunk: int = 50_000,
    ) -> None:
        table = model._meta.table_name
        columns = ", ".join(f'"{model._meta.fields[n].column_name}"' for n in names)
        batch: list[tuple[Any, ...]] = []

        def flush() -> None:
            if not batch:
                return
            if self.engine == "sqlite":
                marks = ", ".join("?" * len(names))
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany(
                    f'INSERT INTO "{table}" ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING', batch
                )
                connection.execute("COMMIT")
            else:  # COPY: several times faster than INSERT for a million rows
                text = io.StringIO()
                csv.writer(text).writerows(batch)
                text.seek(0)
                with connection.cursor() as cursor:
                    cursor.copy_expert(f'COPY "{table}" ({columns}) FROM STDIN WITH (FORMAT csv)', text)
                connection.commit()
            batch.clear()

        for row in rows:
            batch.append(tuple(self._value(v) for v in row))
            if len(batch) >= chunk:
                flush()
        flush()

    def _scalar(self, connection: Any, sql: str) -> Any:
        if self.engine == "sqlite":
            return connection.execute(sql).fetchone()[0]
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]

    def fill(self, count: int) -> None:
        """`count` more licenses, each with its own purchaser and order."""
        if count <= 0:
            return
        first_profile = (
            self._scalar(self.main, f'SELECT COALESCE(MAX(id), 0) FROM "{Profile._meta.table_name}"') or 0
        ) + 1
        first_order = (
            self._scalar(self.main, f'SELECT COALESCE(MAX(id), 0) FROM "{Order._meta.table_name}"') or 0
        ) + 1
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        ordered = now - dt.timedelta(days=100)
        sealed_email = bytes(24) + b"\x5a" * 40  # nonce + ciphertext and tag of a ~24-character address
        wrapped_key = bytes(24) + b"\xa5" * 48

        def public_id(i: int) -> str:
            return f"f{i:031x}"

        def serial(i: int) -> int:  # a block of its own: real serials are spread over all 48 bits
            return 0xF000_0000_0000 + i

        ids = range(count)
        self.insert(
            self.keys,
            DataKey,
            ["profile_public_id", "wrapped_key", "create_time"],
            ((public_id(i), wrapped_key, now) for i in ids),
        )
        self.insert(
            self.main,
            Profile,
            ["id", "public_id", "email_index", "email_ciphertext", "create_time", "newsletter_subscribed"],
            (
                (
                    first_profile + i,
                    public_id(i),
                    hashlib.blake2b(b"filler email %d" % i, digest_size=32).digest(),
                    sealed_email,
                    now,
                    False,
                )
                for i in ids
            ),
        )
        self.insert(
            self.main,
            Order,
            ["id", "order_ref", "provider", "profile", "order_time", "test_order", "create_time"],
            (
                (first_order + i, f"FILL-{i:09d}", "bench", first_profile + i, ordered, False, now)
                for i in ids
            ),
        )
        self.insert(
            self.main,
            License,
            ["serial", "order", "product", "key_id", "issued", "seats", "edition", "flags", "create_time"],
            ((serial(i), first_order + i, PRODUCT_NUMBER, 1, ordered.date(), 1, 0, 0, now) for i in ids),
        )
        self.insert(
            self.main,
            AuditEvent,
            ["time", "actor", "action", "target", "detail"],
            ((now, "bench-issuer", "issue", f"order:FILL-{i:09d}", f"serial {serial(i):012X}") for i in ids),
        )
        if self.engine == "postgres":
            with self.main.cursor() as cursor:
                for model in (Profile, Order):  # explicit ids were given: move the sequences past them
                    table = model._meta.table_name
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT MAX(id) FROM \"{table}\"))"
                    )
            self.main.commit()
            for connection in (self.main, self.keys):
                connection.autocommit = True
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
                connection.autocommit = False

    def disk_mib(self, server: LicensingServer) -> float:
        if self.engine == "sqlite":
            return sum(p.stat().st_size for p in server.home.glob("*.sqlite3*")) / 2**20
        total = 0
        for connection in (self.main, self.keys):
            total += self._scalar(connection, "SELECT pg_database_size(current_database())")
        return total / 2**20


# -- one server with its probes ----------------------------------------------------------------


class Store:
    """A running server holding `size` licenses, and the probes to look up."""

    def __init__(self, engine: str, size: int, probes: int) -> None:
        self.engine, self.size = engine, size
        self.server = LicensingServer(engine)
        try:
            channel = self.server.channel
            self.issue = issuance_pb2_grpc.IssuanceServiceStub(channel).IssueLicense
            self.support = support_pb2_grpc.SupportServiceStub(channel)
            self.validate = validation_pb2_grpc.ValidationServiceStub(channel).ValidateKey
            self.probes = self._issue_probes(min(probes, size))
            started = time.perf_counter()
            filler = Filler(self.server, engine)
            try:
                filler.fill(size - len(self.probes))
                self.fill_seconds = time.perf_counter() - started
                self.disk_mib = filler.disk_mib(self.server)
            finally:
                filler.close()
        except BaseException:
            self.server.stop()
            raise
        self.latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}

    def _issue_probes(self, count: int) -> list[tuple[str, str, str]]:
        """(email, order ID, key) of `count` licenses issued through the server."""
        probes: list[tuple[str, str, str]] = []
        lock_free: dict[int, tuple[str, str, str]] = {}

        def request(i: int) -> issuance_pb2.IssueLicenseRequest:
            return issuance_pb2.IssueLicenseRequest(
                email=f"probe{i}@lookups.example.com", order_id=f"PROBE-{i:06d}", product=PRODUCT
            )

        result = run_load(self.issue, request, total=count, in_flight=16, metadata=self.server.metadata())
        if result.errors:
            raise RuntimeError(f"{result.errors} probe issuances failed")
        for i in range(count):  # read the keys back (idempotent: the same request returns the same key)
            response = self.issue(request(i), metadata=self.server.metadata(), timeout=30)
            lock_free[i] = (request(i).email, request(i).order_id, response.license.license_key)
        probes = [lock_free[i] for i in range(count)]
        return probes

    def calls(self) -> dict[str, Callable[[tuple[str, str, str]], Any]]:
        support = self.server.metadata("support")
        find, export = self.support.FindLicenses, self.support.ExportProfile
        return {
            "email": lambda p: find(
                support_pb2.FindLicensesRequest(email=p[0]), metadata=support, timeout=60
            ),
            "order": lambda p: find(
                support_pb2.FindLicensesRequest(order_id=p[1]), metadata=support, timeout=60
            ),
            "key": lambda p: find(
                support_pb2.FindLicensesRequest(license_key=p[2]), metadata=support, timeout=60
            ),
            "validate": lambda p: self.validate(
                validation_pb2.ValidateKeyRequest(license_key=p[2], email=p[0], product=PRODUCT),
                metadata=support,
                timeout=60,
            ),
            "export": lambda p: export(
                support_pb2.ExportProfileRequest(email=p[0]), metadata=support, timeout=120
            ),
        }


def check_answer(kind: str, answer: Any) -> None:
    if kind in ("email", "order", "key") and len(answer.profiles) != 1:
        raise RuntimeError(f"FindLicenses by {kind} found {len(answer.profiles)} profiles, expected 1")
    if kind == "validate" and not answer.valid:
        raise RuntimeError(f"ValidateKey said {answer.reason}")


def measure(stores: list[Store], rounds: int, per_round: int, exports_per_round: int) -> None:
    cursor = 0
    for store in stores:  # warm up each server's connections and caches
        for kind, call in store.calls().items():
            for probe in store.probes[:3]:
                check_answer(kind, call(probe))
    for r in range(rounds):
        for store in stores[r % len(stores) :] + stores[: r % len(stores)]:
            calls = store.calls()
            for kind, call in calls.items():
                for _ in range(exports_per_round if kind == "export" else per_round):
                    probe = store.probes[cursor % len(store.probes)]
                    cursor += 1
                    started = time.perf_counter()
                    answer = call(probe)
                    store.latencies[kind].append((time.perf_counter() - started) * 1e3)
                    check_answer(kind, answer)


def summarise(stores: list[Store]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for engine in dict.fromkeys(s.engine for s in stores):
        mine = sorted((s for s in stores if s.engine == engine), key=lambda s: s.size)
        sizes: dict[int, Any] = {}
        for store in mine:
            sizes[store.size] = {
                "kinds": {
                    kind: {
                        "median": median(values),
                        "p99": percentile(sorted(values), 0.99),
                        "calls": len(values),
                    }
                    for kind, values in store.latencies.items()
                },
                "rss": store.server.rss_mib(),
                "hwm": store.server.peak_rss_mib(),
                "disk_mib": store.disk_mib,
                "fill_seconds": store.fill_seconds,
            }
        small, large = mine[0].size, mine[-1].size
        ratios = {
            kind: sizes[large]["kinds"][kind]["median"] / sizes[small]["kinds"][kind]["median"]
            for kind in KINDS
        }
        out[engine] = {"sizes": sizes, "small": small, "large": large, "ratios": ratios}
    return out


def report(summary: dict[str, Any], rounds: int, per_round: int, quick: bool) -> str:
    base = "python bench/lookups.py" + (" --quick" if quick else "")
    lines = [
        "## Look-ups against the number of stored licenses (`bench/lookups.py`)",
        "",
        (
            f"Measured {machine_line()}. Command: `{base}`; {rounds} interleaved rounds of {per_round} calls of each "
            "kind per server, one call at a time, warm caches."
        ),
        "",
    ]
    for engine, data in summary.items():
        small, large = data["small"], data["large"]
        rerun = f"`bench/lookups.py --engines {engine} --sizes {small},{large}`"
        lines += [
            (
                f"| {ENGINES[engine]}: call | median ms at {small:,} | p99 ms at {small:,} | median ms at {large:,} | "
                f"p99 ms at {large:,} | ratio of medians | rerun |"
            ),
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for kind, label in KINDS.items():
            a, b = data["sizes"][small]["kinds"][kind], data["sizes"][large]["kinds"][kind]
            ratio = data["ratios"][kind]
            mark = (
                "" if kind not in TARGET_KINDS else (" (met)" if ratio <= TARGET_RATIO else " (**missed**)")
            )
            lines.append(
                f"| {label} | {fmt_ms(a['median'])} | {fmt_ms(a['p99'])} | {fmt_ms(b['median'])} | {fmt_ms(b['p99'])} | "
                f"{ratio:.2f}{mark} | {rerun} |"
            )
        lines.append("")
    lines += [
        "| engine | licenses | server VmRSS after the look-ups, MiB | VmHWM (peak since start), MiB | database on disk, MiB | filled in, s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for engine, data in summary.items():
        for size, s in data["sizes"].items():
            lines.append(
                f"| {ENGINES[engine]} | {size:,} | {s['rss']:.0f} | {s['hwm']:.0f} | {s['disk_mib']:.0f} | {s['fill_seconds']:.0f} |"
            )
    return "\n".join(lines) + "\n\n" + NOTES + "\n" + export_note(summary)


NOTES = """\
How to read this. Every look-up goes through an index on a unique column (the blind index of
the email, the order reference, the serial read out of the key), then reads the purchaser's
orders and licenses and their data key: a few B-tree descents, whose depth grows with the
logarithm of the table size, so the time is flat. FindLicenses and ExportProfile also append an
audit row in a durable transaction, so each carries a commit (a disk flush); ValidateKey only
reads. ExportProfile, which has no target, is shown as well: it gathers the purchaser's audit
history by target, and the audit log grows by a row for every issuance and support action
(the filler writes one per license), so it would be the first to slow down without its index.
"""


def export_note(summary: dict[str, Any]) -> str:
    """ExportProfile's medians in this run, per engine."""
    parts = []
    for engine, data in summary.items():
        small, large = data["small"], data["large"]
        a, b = (data["sizes"][n]["kinds"]["export"]["median"] for n in (small, large))
        parts.append(
            f"{ENGINES[engine]} {fmt_ms(a)} ms at {small:,} and {fmt_ms(b)} ms at {large:,} ({b / a:.2f}x)"
        )
    return "ExportProfile's medians in this run: " + "; ".join(parts) + ".\n"


def _ready(engine: str, size: int, probes: int) -> Store:
    started = time.perf_counter()
    store = Store(engine, size, probes)
    print(f"{engine}: {size:,} licenses ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 and 2,000 licenses, few calls (for CI)")
    parser.add_argument("--write", metavar="MARKDOWN", type=Path, help="update this file's section")
    parser.add_argument("--json", type=Path, help="write the figures here (for bench/run_all.py)")
    parser.add_argument("--engines", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--sizes", help="comma-separated licenses per server (default 10000,1000000)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 10, quick 2)")
    parser.add_argument(
        "--calls", type=int, help="calls of each kind per server per round (default 40, quick 10)"
    )
    parser.add_argument(
        "--probes", type=int, help="licenses issued through the server on each (default 64, quick 16)"
    )
    args = parser.parse_args(argv)
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([200, 2_000] if args.quick else [10_000, 1_000_000])
    )
    rounds = args.rounds or (1 if args.quick else 10)
    per_round = args.calls or (5 if args.quick else 40)
    probes = args.probes or (16 if args.quick else 64)
    engines = [e for e in args.engines.split(",") if e]
    if set(engines) - set(ENGINES) or len(sizes) < 2:
        parser.error(f"engines are {', '.join(ENGINES)}; give at least two sizes")

    stores: list[Store] = []
    try:
        # Two at a time: a fill is mostly the database's work (or a child's), not this process's.
        with ThreadPoolExecutor(max_workers=4 if args.quick else 2) as pool:
            futures = [pool.submit(_ready, engine, size, probes) for engine in engines for size in sizes]
        for future in futures:
            if future.exception() is None:
                stores.append(future.result())
        for future in futures:
            if future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        measure(stores, rounds, per_round, exports_per_round=1 if args.quick else 3)
        summary = summarise(stores)
    finally:
        for store in stores:
            store.server.stop()
    section = report(summary, rounds, per_round, args.quick)
    print(section)
    if args.write:
        write_section(args.write, "lookups", section)
        print(f"updated {args.write}")
    save_results(args.json, {"lookups": summary})
    return 0


if __name__ == "__main__":
    sys.exit(main())
