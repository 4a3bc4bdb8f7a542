"""A PostgreSQL cluster of the test's own, so that stopping it disturbs nothing else on the machine.

`initdb` in a fresh temporary folder, on a free port, listening on 127.0.0.1 only, with its socket
in that folder; run as the `postgres` OS user when the tests run as root (initdb refuses root).
The caller stops it in a `finally`, and `close()` removes the folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import NoReturn

import psycopg2
import pytest

__all__ = ["PrivatePostgres", "find_bindir"]


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: LICENSING_PG_BINDIR, `pg_config --bindir`, or the newest Debian one."""
    candidates = [os.environ.get("LICENSING_PG_BINDIR", "")]
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(found.stdout.strip())
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True
    )
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivatePostgres:
    """initdb + pg_ctl on a free port. `start()`, `stop()` (immediate: like a crash), `close()`."""

    def __init__(self) -> None:
        bindir = find_bindir()
        if bindir is None:
            self._unavailable("initdb and pg_ctl were not found (set LICENSING_PG_BINDIR)")
        self.bindir = bindir
        self.as_user: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="licensing-private-pg-"))
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(self.root)
                self._unavailable("running as root and there is no 'postgres' user to run initdb as")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.root / "data"
        self.port = _free_port()
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.url_base = f"postgresql://postgres@127.0.0.1:{self.port}"

    @staticmethod
    def _unavailable(message: str) -> NoReturn:
        if os.environ.get("LICENSING_TEST_REQUIRE_POSTGRES"):
            pytest.fail(message + " (required: LICENSING_TEST_REQUIRE_POSTGRES is set)")
        pytest.skip(message)

    def _run(self, tool: str, *args: str) -> None:
        command = [*self.as_user, str(self.bindir / tool), *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}"
            )

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root}"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        )

    def stop(self, mode: str = "immediate") -> None:
        """`immediate` kills the server processes without a checkpoint: the restart must recover."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        try:
            self._run("pg_ctl", "-D", str(self.data), "status")
        except RuntimeError:
            return False
        return True

    def wait_ready(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while True:
            try:
                psycopg2.connect(self.url_base + "/postgres", connect_timeout=2).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def create_database(self, name: str) -> str:
        connection = psycopg2.connect(self.url_base + "/postgres", connect_timeout=5)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return f"{self.url_base}/{name}"

    def close(self) -> None:
        """Stop (if running) and remove the cluster's folder."""
        try:
            if self.data.exists() and self.running():
                self.stop("fast")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
