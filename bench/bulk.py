"""`licensing import FILE.csv` end to end, against unary IssueLicense calls, in one run.

    .venv/bin/python bench/bulk.py                               # 100,000 orders on SQLite
    .venv/bin/python bench/bulk.py --quick                       # 1,000 orders, for CI
    .venv/bin/python bench/bulk.py --write docs/benchmarks.md    # also update its section
    .venv/bin/python bench/bulk.py --rows 20000 --engines sqlite,postgres

For each engine: a fresh `licensing serve` (bench/servers.py) and a CSV of N new orders (one
new purchaser each, an order time in the past, 1 to 5 seats). The real CLI, `licensing import
FILE --address … --token …`, runs as its own process; the time is taken from before it starts
to after it exits, so interpreter start, reading the CSV, the IssueLicenses streams and the
summary are all in it. Then the same file is imported again: every row is recognised as
already issued and nothing is written twice. The baseline, on the same server just before: a
sample of the same kind of orders issued one call each with IssueLicense, 64 calls in flight
(bench/loadgen.py), i.e. what an importer without the bulk RPC would get.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import run_load
from report import fmt_rate, machine_line, save_results, write_section
from servers import LicensingServer

from licensing._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc
from licensing.api.issuance_service import BULK_CHUNK
from licensing.cli.import_csv import CHUNK, PER_MESSAGE

TARGET_RATE = 10_000  # licenses/s, first import, SQLite
SUMMARY = re.compile(r"(\d+) rows in ([\d.]+) s .*?: (\d+) issued, (\d+) already there, (\d+) rejected")


def write_csv(path: Path, rows: int, prefix: str) -> None:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["email", "order_id", "product", "order_time", "seats"])
        for i in range(rows):
            when = start + dt.timedelta(minutes=7 * i % (500 * 24 * 60))
            out.writerow(
                [
                    f"customer{i}@{prefix}.example.com",
                    f"{prefix}-{i:07d}",
                    "bench-app",
                    when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    1 + i % 5,
                ]
            )


def run_import(server: LicensingServer, path: Path) -> dict[str, Any]:
    argv = [
        sys.executable,
        "-m",
        "licensing.cli.main",
        "import",
        str(path),
        "--address",
        f"127.0.0.1:{server.port}",
        "--token",
        server.tokens["issuer"],
    ]
    cpu = server.cpu_seconds()
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(argv, stdout=out, stderr=err, text=True, env=server.env)
        _, status, usage = os.wait4(child.pid, 0)  # the CLI's own CPU time, from its rusage
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    cpu = server.cpu_seconds() - cpu
    match = SUMMARY.search(stdout)
    if child.returncode != 0 or match is None:
        raise RuntimeError(f"licensing import failed ({child.returncode}): {stdout[-500:]} {stderr[-500:]}")
    read, own_seconds, issued, existing, rejected = match.groups()
    return {
        "rows": int(read),
        "seconds": seconds,
        "rate": int(read) / seconds,
        "cli_seconds": float(own_seconds),
        "issued": int(issued),
        "existing": int(existing),
        "rejected": int(rejected),
        "server_cpu_ms_per_row": cpu * 1e3 / max(int(read), 1),
        "client_cpu_ms_per_row": (usage.ru_utime + usage.ru_stime) * 1e3 / max(int(read), 1),
    }


def run_unary(server: LicensingServer, rows: int) -> dict[str, Any]:
    stub = issuance_pb2_grpc.IssuanceServiceStub(server.channel)
    order_time = issuance_pb2.IssueLicenseRequest().order_time
    order_time.FromDatetime(dt.datetime(2024, 6, 1))

    def request(i: int) -> issuance_pb2.IssueLicenseRequest:
        message = issuance_pb2.IssueLicenseRequest(
            email=f"customer{i}@unary.example.com", order_id=f"unary-{i:07d}", product="bench-app"
        )
        message.order_time.CopyFrom(order_time)
        message.terms.seats = 1 + i % 5
        return message

    cpu, client = server.cpu_seconds(), time.process_time()
    result = run_load(stub.IssueLicense, request, total=rows, in_flight=64, metadata=server.metadata())
    cpu, client = server.cpu_seconds() - cpu, time.process_time() - client
    return {
        "rows": rows,
        "seconds": result.seconds,
        "rate": result.rate,
        "errors": result.errors,
        "server_cpu_ms_per_row": cpu * 1e3 / rows,
        "client_cpu_ms_per_row": client * 1e3 / rows,
    }


def measure(engine: str, rows: int, unary_rows: int, processes: int = 1) -> dict[str, Any]:
    server = LicensingServer(engine, processes=processes)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-bulk-") as folder:
            path = Path(folder) / "orders.csv"
            write_csv(path, rows, "bulk")
            unary = run_unary(server, unary_rows)
            first = run_import(server, path)
            again = run_import(server, path)
        return {
            "unary": unary,
            "first": first,
            "again": again,
            "rss": server.rss_mib(),
            "hwm": server.peak_rss_mib(),
            "ok": first["issued"] == rows
            and again["existing"] == rows
            and not first["rejected"]
            and not again["rejected"],
        }
    finally:
        server.stop()


ENGINES = {"sqlite": "SQLite (WAL, synchronous=FULL)", "postgres": "PostgreSQL (synchronous commit)"}


def report(results: dict[str, Any], rows: int, unary_rows: int, quick: bool, processes: int = 1) -> str:
    base = "python bench/bulk.py" + (" --quick" if quick else "")
    served = f"`licensing serve --processes {processes}`" if processes > 1 else "one server process"
    lines = [
        "## Bulk issuance and import (`bench/bulk.py`)",
        "",
        (
            f"Measured {machine_line()}. Command: `{base}`; {rows:,} orders from {rows:,} new purchasers in one CSV; "
            f"{served} per engine, fresh."
        ),
        "",
        "| engine | what | rows | seconds | licenses/s | vs unary | server CPU ms/row | client CPU ms/row | rerun |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for engine, r in results.items():
        more = f" --processes {processes}" if processes > 1 else ""
        rerun = f"`bench/bulk.py --engines {engine} --rows {rows}{more}`"
        unary = r["unary"]
        lines.append(
            f"| {ENGINES[engine]} | baseline: unary IssueLicense, 64 in flight (a sample) | {unary['rows']:,} | "
            f"{unary['seconds']:.1f} | {fmt_rate(unary['rate'])} | 1.0x | {unary['server_cpu_ms_per_row']:.2f} | "
            f"{unary['client_cpu_ms_per_row']:.2f} | {rerun} |"
        )
        for key, what in (
            ("first", "`licensing import orders.csv`: all new, end to end (CLI process start to exit)"),
            ("again", "the same file again: every row already issued, nothing written"),
        ):
            run = r[key]
            lines.append(
                f"| {ENGINES[engine]} | {what} | {run['rows']:,} | {run['seconds']:.1f} | **{fmt_rate(run['rate'])}** | "
                f"{run['rate'] / unary['rate']:.1f}x | {run['server_cpu_ms_per_row']:.2f} | "
                f"{run['client_cpu_ms_per_row']:.2f} | {rerun} |"
            )
    lines += [
        "",
        "| engine | server VmRSS after both imports, MiB | VmHWM (peak since start), MiB | counts as expected |",
        "| --- | ---: | ---: | --- |",
    ]
    for engine, r in results.items():
        lines.append(
            f"| {ENGINES[engine]} | {r['rss']:.0f} | {r['hwm']:.0f} | {'yes' if r['ok'] else '**no**'} |"
        )
    return (
        "\n".join(lines) + "\n\n" + NOTES.format(chunk=CHUNK, per_message=PER_MESSAGE, bulk_chunk=BULK_CHUNK)
    )


NOTES = """\
How to read this. The import streams the file in calls of {chunk:,} rows ({per_message} per stream
message, two calls in flight, each on its own connection); the server issues each chunk of {bulk_chunk:,} as one batch: one
read for the purchasers already known, one signature per row on the request thread, and the
group committer writes the batch in a few set-wise statements per transaction. The unary
baseline pays the gRPC call, the authentication and the read-before-write per row.
"licenses/s" counts rows of the file per second of the whole CLI process, interpreter start
included; "client CPU" is the CLI's (or, for the baseline, this process's) CPU time per row.

Where the time goes (py-spy 0.4 on the server during a 30,000-row import on SQLite, 2026-11-30,
commit ac4ab1b, the grpc.aio server; `--gil` samples, i.e. who holds the interpreter lock). The
limit is one interpreter's lock: about 100 µs of Python per row is run under it (server CPU
0.12-0.14 ms/row in all, the rest being SQLite's own work, the fsync and gRPC's C core, which
run without it), against 170 µs of wall time per row under the profiler. Of the lock's time:
the group-commit writer 49% (the multi-row INSERTs with their parameter conversion 19%, the set-wise reads of the
purchasers and orders already known 15%, the data keys in the key store 13%, a clock read per
row 3.5% until it became one per group); the two request threads 33% (checks 3%, formatting the
key in base32 8%, sealing the email and its data key 5%, turning each protobuf message into an
IssueRequest 8%; the Ed25519 signature itself only 1%, as PyNaCl releases the lock while it
signs); the grpc.aio event loop 19% (the stream, the messages, admission). On the re-run
(nothing written) the writer's share falls to 29% and the request threads still sign and seal
every row (38%): a row is prepared before the writer tells whether it exists. What would reach
10,000/s on one process: a process pool for the preparation (signing, sealing, formatting, and
the message conversion with it) takes a third of the lock's time off; the writer's half then
sets the ceiling near 1/(50 µs + 19 µs) = 14,000 rows/s, on two cores that the pool shares with
it. Fewer conversions per row in the writer (a PendingIssue, a dict per table, then a flat
parameter list) are the other half. Neither is done yet.

What is done: `licensing import` opens one connection per call in flight (a local subchannel
pool, else gRPC folds the channels into one connection), so that `licensing serve --processes
N`, which shares the port with SO_REUSEPORT, spreads an import over its processes: the kernel
places connections, not calls. Each process has its own lock and its own writer; SQLite lets
one write transaction in at a time, the others wait on its busy timeout. Side by side
(2026-11-30, SQLite, 20,000 new orders then the same file again, three alternating rounds; the
server's CPU counts its child processes):

| server, CLI | first import, rows/s | re-run, rows/s | server CPU ms/row (first, re-run) |
| --- | --- | --- | --- |
| `serve --processes 2`, CLI of ac4ab1b (one connection) | 8,819; 9,092; 8,930 | 10,337; 9,942; 9,849 | 0.13, 0.10-0.11 |
| `serve --processes 2`, this CLI (two connections) | 11,483; 9,001; 11,089 | 10,523; 15,909; 16,494 | 0.12-0.13, 0.08-0.10 |
| `serve` (one process), this CLI | 8,270; 8,649; 9,134 | 9,938; 10,200; 10,217 | 0.13, 0.10-0.11 |

Commands: `bench/bulk.py --engines sqlite --rows 20000 [--processes 2]` on this commit; for
ac4ab1b the same server and CSV with its own CLI. With two processes the first import passes
10,000 rows/s when the kernel puts the two connections on different processes (about every
other time, by the hash of the port pair: the 9,001 above most likely had both on one); a
third or fourth connection would make that likelier, at the cost of more rows held in the server. The server's
CPU per row does not change: the 100 µs target is met on the re-run only, not on new rows.
The clock read once per group in the writer (commit 61d3b5b) is below this machine's noise.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 rows (for CI)")
    parser.add_argument("--write", metavar="MARKDOWN", type=Path, help="update this file's section")
    parser.add_argument("--json", type=Path, help="write the figures here (for bench/run_all.py)")
    parser.add_argument("--rows", type=int, help="orders in the CSV (default 100,000; quick 2,000)")
    parser.add_argument(
        "--unary-rows", type=int, help="orders issued one call each for the baseline (default 3,000)"
    )
    parser.add_argument(
        "--engines", default="sqlite", help="comma-separated: sqlite, postgres (default sqlite)"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="`licensing serve --processes N` (default 1)"
    )
    args = parser.parse_args(argv)
    rows = args.rows or (1_000 if args.quick else 100_000)
    unary_rows = args.unary_rows or (100 if args.quick else 3_000)
    engines = [e for e in args.engines.split(",") if e]
    if set(engines) - set(ENGINES):
        parser.error(f"engines are {', '.join(ENGINES)}")
    results = {engine: measure(engine, rows, unary_rows, args.processes) for engine in engines}
    section = report(results, rows, unary_rows, args.quick, args.processes)
    print(section)
    if args.write:
        write_section(args.write, "bulk", section)
        print(f"updated {args.write}")
    save_results(args.json, {"bulk": results, "rows": rows})
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
