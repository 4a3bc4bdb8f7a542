"""Every benchmark in bench/, one after another, and the summary of the targets.

    .venv/bin/python bench/run_all.py --write docs/benchmarks.md   # `make bench`: several minutes
    .venv/bin/python bench/run_all.py --quick                      # `make bench-quick`: tiny sizes, writes nothing
    .venv/bin/python bench/run_all.py --summary-from DIR --write docs/benchmarks.md   # re-render the summary only

Runs bench/validate.py, bench/issue.py, bench/bulk.py and bench/lookups.py, each as its own
process (so no benchmark inherits another's memory or threads), each writing its own section
of the document with --write; then writes the summary section: every target, the figure
measured for it in this run, met or not, and for a miss the reason and what would reach it.
The quick run checks that the harness works end to end; it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import REPO, fmt_rate, machine_line, write_section

SCRIPTS = ("validate", "issue", "bulk", "lookups")
IMPORT_PROCESSES = 2  # `licensing import` is measured into `serve --processes 2` (the issue's target)

# The reference machine's figures as the issue gives them, to set this run's figures against.
REFERENCE = {
    "sign": ("PyNaCl signatures/s, one core", 68_000),
    "verify": ("PyNaCl verifications/s, one core", 26_000),
    "noop": ("bare no-op gRPC calls/s (same client, 64 in flight here)", 8_000),
    "sqlite_single": ("SQLite WAL FULL transactions of two inserts/s", 3_500),
    "sqlite_batch": ("SQLite WAL FULL rows/s in 100-row transactions", 26_000),
    "pg_single": ("PostgreSQL transactions of two inserts/s", 1_500),
}


def run(script: str, quick: bool, write: Path | None, results: Path) -> int:
    argv = [sys.executable, str(REPO / "bench" / f"{script}.py")]
    if quick:
        argv.append("--quick")
    if write is not None:
        argv += ["--write", str(write)]
    if script != "validate":
        argv += ["--json", str(results)]
    if script == "bulk":
        argv += ["--processes", str(IMPORT_PROCESSES)]  # the import target is set for serve --processes 2
    print(f"\n### {' '.join(argv[1:])}\n", flush=True)
    started = time.perf_counter()
    code = subprocess.run(argv, cwd=REPO, check=False).returncode
    print(f"\n({script}: exit {code}, {time.perf_counter() - started:.0f} s)", flush=True)
    return code


def mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def summary(found: dict[str, Any], quick: bool, rerendered: bool = False) -> str:
    """The targets table, from whatever the benchmarks left (a script that failed leaves a gap)."""
    rows: list[str] = []
    issue = found.get("issue", {}).get("issue", {})
    micro = found.get("issue", {}).get("micro", {})
    noop = issue.get("noop", {}).get("by_concurrency", {}).get("64")

    sqlite_row = issue.get("sqlite", {}).get("by_concurrency", {}).get("64")
    aio_row = issue.get("noop-aio", {}).get("by_concurrency", {}).get("64")
    if sqlite_row is not None and "cpu_ratio" in sqlite_row:
        ok = sqlite_row["cpu_ratio"] <= 2.5
        why = (
            ""
            if ok
            else (
                f"{sqlite_row['cpu_ms']:.2f} ms of server CPU per issuance against {sqlite_row['base_cpu_ms']:.2f} ms for the fair "
                f"no-op, a budget of {2.5 * sqlite_row['base_cpu_ms']:.2f} ms at 2.5x."
                + (
                    f" By thread: the event loop {sqlite_row['loop_ms']:.2f} ms, of which gRPC's own per-call work on grpc.aio "
                    f"is about {aio_row['loop_ms']:.2f} ms (the grpc.aio no-op's loop); the group-commit writer "
                    f"{sqlite_row['writer_ms']:.2f} ms (SQLite's work and its page writes for a new purchaser's five rows and "
                    f"their indexes, and the SQL around them); other threads {sqlite_row['other_ms']:.2f} ms."
                    if aio_row is not None and "loop_ms" in sqlite_row and "loop_ms" in aio_row
                    else ""
                )
                + " See the issuance section's table by thread and its notes."
            )
        )
        rows.append(
            f"| Unary IssueLicense on SQLite, 64 in flight: server CPU per call at most 2.5x the fair no-op's | "
            f"{sqlite_row['cpu_ratio']:.1f}x (rounds {sqlite_row['cpu_ratio_min']:.1f} to {sqlite_row['cpu_ratio_max']:.1f}) | "
            f"{mark(ok)} | {why} |"
        )
    for engine, goal, name in (("sqlite", 0.40, "SQLite"), ("postgres", 0.30, "PostgreSQL")):
        row = issue.get(engine, {}).get("by_concurrency", {}).get("64")
        single = issue.get(f"{engine}-1", {}).get("by_concurrency", {}).get("64")
        if row is None or "ratio" not in row:
            continue
        noop = {
            "rate": row["base_rate"],
            "cpu_ms": row["base_cpu_ms"],
            "p99": row.get("base_p99", 0.0),
            **({"client_ms": noop["client_ms"]} if noop is not None and "client_ms" in noop else {}),
        }
        ok = row["ratio"] >= goal
        why = ""
        if not ok:
            lift = (
                f"; group commit is {row['rate'] / single['rate']:.1f}x one commit per request"
                if single
                else ""
            )
            why = (
                f"The server needs {row['cpu_ms']:.2f} ms of CPU per issuance against {noop['cpu_ms']:.2f} ms for the no-op "
                f"call, on two CPUs shared with the client{lift}: the rate follows the CPU per call"
                + (
                    f" (event loop {row['loop_ms']:.2f} ms, writer {row['writer_ms']:.2f} ms"
                    + (f", PostgreSQL backends {row['backend_ms']:.2f} ms" if engine == "postgres" else "")
                    + ")"
                    if "loop_ms" in row
                    else ""
                )
                + "."
            )
            if "client_ms" in row and "client_ms" in noop:
                # Both processes share the same CPUs, so rates go as 1 / (client + server CPU per call).
                budget = (noop["client_ms"] + noop["cpu_ms"]) / goal - row["client_ms"]
                steps = found.get("issue", {}).get("breakdown", [])
                issuer_ms = (
                    sum(
                        us
                        for step, us in steps
                        if "one commit per write" not in step
                        and "end to end" not in step
                        and not step.startswith("of which")
                    )
                    / 1e3
                )
                why += (
                    f" With the client's {row['client_ms']:.2f} ms per call (no-op: {noop['client_ms']:.2f}), {goal:.0%} "
                    f"needs the server at about {budget:.2f} ms per issuance, gRPC's own {noop['cpu_ms']:.2f} ms included"
                    + (
                        f", which leaves {budget - noop['cpu_ms']:.2f} ms for the issuer, whose steps alone take "
                        f"{issuer_ms:.2f} ms in-process (on SQLite)"
                        if steps
                        else ""
                    )
                    + ". See the issuance notes for where it goes and what would reach it."
                )
        rows.append(
            f"| Unary IssueLicense on {name}, 64 in flight: at least {goal:.0%} of the fair no-op's rate"
            f"{' (backend CPU counted)' if engine == 'postgres' else ''} | "
            f"{row['ratio']:.0%} ({fmt_rate(row['rate'])}/s against {fmt_rate(noop['rate'])}/s) | {mark(ok)} | {why} |"
        )
    for engine, name in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        row = issue.get(engine, {}).get("by_concurrency", {}).get("64")
        if row is None:
            continue
        ok = row["p99"] < 50
        floor = (
            f" The no-op server's own p99 at 64 in flight was {noop['p99']:.0f} ms in this run."
            if noop
            else ""
        )
        why = (
            ""
            if ok
            else (
                "At 64 in flight and the rate above, a call waits behind the 63 others for the server's CPU "
                f"(Little's law: 64 / {fmt_rate(row['rate'])} per s = {64e3 / row['rate']:.0f} ms on average); "
                "the latency falls as the CPU per call does." + floor
            )
        )
        rows.append(
            f"| p99 latency under 50 ms at 64 in flight, {name} | {row['p99']:.0f} ms (p50 {row['p50']:.0f} ms) | {mark(ok)} | {why} |"
        )

    bulk = found.get("bulk", {}).get("bulk", {}).get("sqlite")
    if bulk is not None:
        first = bulk["first"]
        cpu_ok = first["server_cpu_ms_per_row"] <= 0.100
        rows.append(
            "| `licensing import` on SQLite: at most 100 µs of server CPU per row (preparation workers counted) | "
            f"{first['server_cpu_ms_per_row'] * 1e3:.0f} µs per new row; "
            f"{bulk['again']['server_cpu_ms_per_row'] * 1e3:.0f} µs per row of a re-run | {mark(cpu_ok)} | "
            + ("" if cpu_ok else "See the bulk section's notes for where the time goes.")
            + " |"
        )
        ok = first["rate"] >= 10_000
        why = (
            ""
            if ok
            else (
                f"The server spends {first['server_cpu_ms_per_row']:.2f} ms of CPU per imported row, its preparation "
                "workers' (converting, checking, sealing the email) and its writer's (SQL and SQLite's page writes), "
                f"that is {1 / first['server_cpu_ms_per_row'] * 1e3:,.0f} rows/s per core of CPU, on two cores shared "
                "with the CLI and anything else running"
                + (
                    f" (the CLI takes {first['client_cpu_ms_per_row']:.2f} ms per row)"
                    if "client_cpu_ms_per_row" in first
                    else ""
                )
                + "; see the bulk notes for where it goes and what would reach the target."
            )
        )
        rows.append(
            f"| `licensing import` at least 10,000 licenses/s end to end on SQLite, `serve --processes {IMPORT_PROCESSES}` | {fmt_rate(first['rate'])}/s "
            f"({first['rows']:,} rows; again: {fmt_rate(bulk['again']['rate'])}/s) | {mark(ok)} | {why} |"
        )

    lookups = found.get("lookups", {}).get("lookups", {})
    for engine, data in lookups.items():
        small, large = data["small"], data["large"]
        worst_kind = max(("email", "order", "key", "validate"), key=lambda k: data["ratios"][k])
        worst = data["ratios"][worst_kind]
        each = ", ".join(f"{k} {data['ratios'][k]:.2f}" for k in ("email", "order", "key", "validate"))
        name = "SQLite" if engine == "sqlite" else "PostgreSQL"
        ok = worst <= 1.3
        why = "" if ok else f"largest: {worst_kind}; see the look-up notes."
        rows.append(
            f"| Look-ups by email, order, key and ValidateKey take the same time at {small:,} and {large:,} licenses "
            f"(ratio of medians at most 1.3), {name} | {each} | {mark(ok)} | {why} |"
        )
        rss = data["sizes"][str(large)]["rss"] if str(large) in data["sizes"] else data["sizes"][large]["rss"]
        rows.append(
            f"| Server memory with {large:,} licenses under 200 MB RSS, {name} | {rss:.0f} MiB VmRSS after the look-ups | "
            f"{mark(rss * 1.048576 < 200)} | |"
        )

    lines = [
        "## Summary: the targets (`bench/run_all.py`)",
        "",
        (
            ("Re-rendered with `--summary-from` from the figures of one run of" if rerendered else "Written")
            + f" {machine_line()} by `python bench/run_all.py{' --quick' if quick else ''} --write docs/benchmarks.md` "
            "(`make bench`). Each figure comes from the section named beside it below, measured in this same run; "
            "each section gives the command that reruns it alone."
        ),
        "",
        "| target | measured | | reason for a miss |",
        "| --- | --- | --- | --- |",
        *rows,
    ]
    if micro:
        lines += [
            "",
            (
                "How fast this machine was during the run, against the figures the issue gives for its machine "
                "(the targets are ratios measured side by side, so they do not depend on this; absolute rates do):"
            ),
            "",
            "| | the issue's machine | this run |",
            "| --- | ---: | ---: |",
        ]
        values = dict(micro)
        if noop is not None:
            values["noop"] = noop["rate"]
        for key, (what, reference) in REFERENCE.items():
            if key in values:
                lines.append(
                    f"| {what} | {fmt_rate(reference)} | {fmt_rate(values[key])} ({values[key] / reference:.0%}) |"
                )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="every benchmark at tiny sizes (CI), writes nothing"
    )
    parser.add_argument("--write", metavar="MARKDOWN", type=Path, help="update the sections of this file")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(SCRIPTS)}")
    parser.add_argument(
        "--keep",
        metavar="FOLDER",
        type=Path,
        help="keep each script's figures (NAME.json) here, for --summary-from",
    )
    parser.add_argument(
        "--summary-from",
        metavar="FOLDER",
        type=Path,
        help="measure nothing: write the summary from the NAME.json files the scripts left (--json) in FOLDER",
    )
    args = parser.parse_args(argv)
    if args.summary_from is not None:
        saved = {p.stem: json.loads(p.read_text()) for p in sorted(args.summary_from.glob("*.json"))}
        section = summary(saved, args.quick, rerendered=True)
        print(section)
        if args.write:
            write_section(args.write, "summary", section)
        return 0
    scripts = [s for s in (args.only or ",".join(SCRIPTS)).split(",") if s]
    failed = []
    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-results-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for script in scripts:
            results = folder / f"{script}.json"
            if run(script, args.quick, args.write, results) != 0:
                failed.append(script)
            if results.exists():
                found[script] = json.loads(results.read_text())
    section = summary(found, args.quick)
    print("\n" + section)
    if args.write:
        write_section(args.write, "summary", section)
        print(f"updated {args.write}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
