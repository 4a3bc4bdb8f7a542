"""What the server benchmarks share: their sections of docs/benchmarks.md, the machine line,
percentiles, and the small JSON file each leaves for bench/run_all.py's summary.

Each benchmark owns one section between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`;
writing it replaces that section only, so the sections written by other scripts (and any text
outside the markers) stay as they are.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
import nacl

REPO = Path(__file__).resolve().parents[1]

# The order sections take in the document when a new one is added.
SECTION_ORDER = ("summary", "issue", "bulk", "lookups", "validate")


def markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def write_section(path: Path, name: str, section: str) -> None:
    """Put `section` between the markers of `name` in `path`, keeping everything else."""
    begin, end = markers(name)
    block = f"{begin}\n{section.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        later = [
            markers(n)[0] for n in SECTION_ORDER[SECTION_ORDER.index(name) + 1 :] if name in SECTION_ORDER
        ]
        found = [text.index(m) for m in later if m in text]
        if found:
            at = min(found)
            text = text[:at] + block + "\n\n" + text[at:]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def source_version() -> str:
    """The commit measured, and whether licensing/ had uncommitted changes at the time."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "licensing"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"
    return f"commit {head}" + (" with uncommitted changes in licensing/" if dirty else "")


def machine_line() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {source_version()}: Python {platform.python_version()}, "
        f"grpcio {grpc.__version__}, PyNaCl {nacl.__version__}, {cpu_model()} ({os.cpu_count()} CPUs, "
        f"shared; load average at the end {load})"
    )


def save_results(path: Path | None, results: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def fmt_ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"
