"""`make bench-quick`: every benchmark in bench/ runs end to end at tiny sizes and prints its tables.

It asserts nothing about time (CI machines are shared and slow); it keeps the harness from
rotting as the server changes, and checks that the quick run leaves docs/ alone.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pg
import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = (REPO / "docs" / "benchmarks.md", REPO / "docs" / "bench-issuance.png")

HEADINGS = (
    "## Offline validation (`bench/validate.py`)",
    "## Issuance over gRPC (`bench/issue.py`)",
    "## Bulk issuance and import (`bench/bulk.py`)",
    "## Look-ups against the number of stored licenses (`bench/lookups.py`)",
    "## Summary: the targets (`bench/run_all.py`)",
)


def _digests() -> list[str | None]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None for p in DOCS]


@pytest.mark.slow
def test_bench_quick_runs_every_benchmark_and_prints_its_tables() -> None:
    pg.require_postgres()
    before = _digests()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICENSING_")}
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run_all.py"), "--quick"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout
    assert done.returncode == 0, output[-3000:] + done.stderr[-3000:]
    for heading in HEADINGS:
        assert heading in output, f"missing {heading!r}"
    for row in (
        "| 64 | **`licensing serve`, SQLite, group commit** |",
        "| 64 | **`licensing serve`, PostgreSQL, group commit** |",
        "`licensing import orders.csv`: all new",
        "| FindLicenses by key |",
        "| ValidateKey |",
        "| Unary IssueLicense on SQLite, 64 in flight",
    ):
        assert row in output, f"missing {row!r}"
    assert " errors**" not in output, "some calls failed"
    assert _digests() == before, "the quick run must not write docs/"


def test_the_one_commit_baseline_still_patches_the_server() -> None:
    """bench/issue.py's straightforward-path server (left out of the quick run) still starts its CLI."""
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "one_commit_server.py"), "serve", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--workers" in done.stdout
