"""Server processes for benchmarks: the no-op baseline and `licensing serve` on a fresh home.

Both start, report their port, log to a file and stop the way the tests' servers do:
tests/serverchild.py is the one place that knows how.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc
import psycopg2

REPO = Path(__file__).resolve().parents[1]
# The benchmarks are scripts, not tests: tests/ (pytest's pythonpath) is not on their path by itself.
sys.path.insert(0, str(REPO / "tests"))

from serverchild import ServerChild, serve_argv  # noqa: E402

PASSPHRASE = "benchmark passphrase, not a secret"


class Process:
    """A server child for a benchmark, with one channel to it and its resource use from /proc."""

    def __init__(
        self, argv: list[str], env: dict[str, str] | None = None, log_file: Path | None = None
    ) -> None:
        if log_file is None:
            log_file = Path(tempfile.mkdtemp(prefix="licensing-bench-log-")) / "server.log"
        self.child = ServerChild(argv, os.environ if env is None else env, log_file)
        self.proc = self.child.process
        self.port = self.child.port
        self.channel: grpc.Channel = self.child.channel()

    def peak_rss_mib(self) -> float:
        return self._status_mib("VmHWM:")

    def rss_mib(self) -> float:
        """Resident memory now (VmRSS); the peak (VmHWM) also counts start-up's transient use."""
        return self._status_mib("VmRSS:")

    def _status_mib(self, field: str) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server has used so far (all its threads), and that of every
        process below it while they run: `serve --processes N`'s server processes and the
        preparation workers each one forks (a child's CPU is not in its parent's until reaped)."""
        pids, seen = [self.proc.pid], set()
        while pids:
            pid = pids.pop()
            if pid in seen:
                continue
            seen.add(pid)
            try:
                tasks = list(Path(f"/proc/{pid}/task").iterdir())
            except OSError:  # ended meanwhile
                continue
            for task in tasks:
                try:
                    pids += [int(child) for child in (task / "children").read_text().split()]
                except OSError:  # the thread ended meanwhile
                    continue
        total = 0.0
        for pid in seen:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile: counted as nothing
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def cpu_seconds_by_thread(self) -> dict[str, float]:
        """User plus system CPU time so far of the server's own threads, summed by kernel name
        (licensing/threadnames.py names the event loop "grpc-aio" and the writer "group-commit")."""
        found: dict[str, float] = {}
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                name = (task / "comm").read_text().strip()
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the thread ended meanwhile
                continue
            found[name] = found.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / os.sysconf(
                "SC_CLK_TCK"
            )
        return found

    def context_switches(self) -> int:
        """Voluntary and involuntary context switches of all the server's threads so far."""
        total = 0
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                lines = (task / "status").read_text().splitlines()
            except OSError:  # the thread ended meanwhile
                continue
            total += sum(
                int(line.split()[1]) for line in lines if line.split(":")[0].endswith("ctxt_switches")
            )
        return total

    def stop(self) -> None:
        self.channel.close()
        self.child.stop()


def noop_server(workers: int = 16, kind: str = "threads") -> Process:
    return Process([sys.executable, str(REPO / "bench" / "noop_server.py"), kind, str(workers)])


def pg_database() -> tuple[str, str]:
    name = f"licensing_bench_{secrets.token_hex(4)}"
    connection = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return name, f"postgresql://postgres@127.0.0.1:5432/{name}"


def drop_pg_database(name: str) -> None:
    connection = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


# The home's set-up in one interpreter: four CLI processes would each pay the imports (~1 s).
_SETUP = """
import contextlib, io, json, sys
from licensing.cli.main import main
tokens = {}
for argv in (["init"], ["products", "add", "bench-app", "--number", "7", "--name", "Bench"]):
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0, argv
for role in ("issuer", "support"):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["tokens", "create", "bench-" + role, "--role", role]) == 0
    tokens[role] = out.getvalue().strip()
print(json.dumps(tokens))
"""


class LicensingServer(Process):
    """A fresh home (keyring, products, an issuer and a support token) and `licensing serve` on it.

    `launcher` replaces `-m licensing.cli.main` for the serve command only (e.g. a script that
    adjusts the server before handing over to the CLI).
    """

    def __init__(
        self, engine: str, workers: int = 16, launcher: list[str] | None = None, processes: int = 1
    ) -> None:
        self.home = Path(tempfile.mkdtemp(prefix=f"licensing-bench-{engine}-"))
        self.pg_names: list[str] = []
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("LICENSING_")
        }  # nothing of the caller's home
        env |= {"LICENSING_HOME": str(self.home), "LICENSING_PASSPHRASE": PASSPHRASE}
        if engine == "postgres":
            for variable in ("LICENSING_DATABASE_URL", "LICENSING_KEYSTORE_URL"):
                name, url = pg_database()
                self.pg_names.append(name)
                env[variable] = url
        setup = subprocess.run(
            [sys.executable, "-c", _SETUP], env=env, check=True, capture_output=True, text=True
        )
        self.tokens: dict[str, str] = json.loads(setup.stdout.strip().splitlines()[-1])
        self.env = env
        argv = serve_argv(
            "--workers",
            str(workers),
            "--lookup-rate",
            "100000000",
            "--lookup-burst",
            "1000000",
            *(("--processes", str(processes)) if processes > 1 else ()),
            launcher=launcher or ("-m", "licensing.cli.main"),
        )
        super().__init__(argv, env, self.home / "server.log")

    def cpu_seconds(self) -> float:
        """The server's CPU, and on PostgreSQL its database backends' too: the work a call causes
        in the database is part of its cost (backends that ended meanwhile are not counted)."""
        own = super().cpu_seconds()
        if not self.pg_names:
            return own
        connection = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s)", (self.pg_names,))
                pids = [row[0] for row in cursor.fetchall()]
        finally:
            connection.close()
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended, or PostgreSQL runs elsewhere: counted as nothing
                continue
            own += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return own

    def metadata(self, role: str = "issuer") -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.tokens[role]}"),)

    def stop(self) -> None:
        super().stop()
        for name in self.pg_names:
            drop_pg_database(name)
        shutil.rmtree(self.home, ignore_errors=True)
