"""A server as a child process: the one way tests, the reliability kit and the benchmarks start one.

`ServerChild` runs a command that prints "... listening on port N" as its first line on standard
output (`licensing serve`, `licensing bridge serve`, `licensing console serve`, bench/noop_server.py), reads the port from that line, sends the
child's log (standard error) to a file and stops it with SIGTERM (or SIGKILL, for crash tests).

The log goes to a file, never to a pipe: a pipe that nobody reads fills up after 64 KiB and then
blocks the server in the middle of a call, which under load looks exactly like a hang.

Standard library, grpc and the one outbound client only, so bench/ can import it outside pytest.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import grpc

from licensing.client import open_channel
from licensing.config import Settings

__all__ = ["REPO", "ServerChild", "ServerDidNotStart", "serve_argv", "serve_home", "settings_env"]

REPO = Path(__file__).resolve().parents[1]


def serve_argv(
    *args: str, address: str | None = "127.0.0.1:0", launcher: Sequence[str] = ("-m", "licensing.cli.main")
) -> list[str]:
    """`licensing serve` on `address` (default: a port the server picks; None: where LICENSING_ADDRESS
    says), then `args`; `launcher` replaces `-m licensing.cli.main`."""
    where = ["--address", address] if address is not None else []
    return [sys.executable, *launcher, "serve", *where, *args]


def settings_env(settings: Settings, passphrase: bytes) -> dict[str, str]:
    """This process's environment pointed at the home, the databases and the passphrase of `settings`."""
    env = dict(os.environ)
    env.update(
        LICENSING_HOME=str(settings.home),
        LICENSING_DATABASE_URL=settings.database_url,
        LICENSING_KEYSTORE_URL=settings.keystore_url,
        LICENSING_PASSPHRASE=passphrase.decode(),
    )
    return env


class ServerDidNotStart(RuntimeError):
    """The child exited (or said nothing for too long) before it said its port."""

    def __init__(self, line: str, returncode: int, log: str) -> None:
        super().__init__(f"server did not start (exit {returncode}): {line!r}\n{log[-3000:]}")
        self.returncode = returncode
        self.log = log


class ServerChild:
    """A server command as a child process on a port it chose; its log in `log_file` (appended)."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_file: Path,
        *,
        cwd: Path = REPO,
        start_timeout: float = 60.0,
    ) -> None:
        self.log_file = log_file
        self._log: IO[bytes] = open(log_file, "ab")  # noqa: SIM115 (open for the child's lifetime)
        started = time.monotonic()
        self.process = subprocess.Popen(
            list(argv), env=dict(env), cwd=cwd, stdout=subprocess.PIPE, stderr=self._log, text=True
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], start_timeout)
        line = self.process.stdout.readline() if ready else ""
        found = re.search(r"listening on port (\d+)", line)
        if found is None:
            self.process.kill()  # does nothing to a child that has exited: its own exit status stays
            self.wait()
            raise ServerDidNotStart(line, self.process.returncode, self.log_text())
        self.first_line = line  # e.g. "console listening on port 8080 (https)"
        self.port = int(found.group(1))
        self.start_seconds = time.monotonic() - started

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def channel(self) -> grpc.Channel:
        channel: grpc.Channel = open_channel(self.address)  # the one outbound client's channel
        return channel

    def terminate(self) -> None:
        """SIGTERM: the server drains its calls and exits 0."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 30) -> int:
        code = self.process.wait(timeout=timeout)
        self._close()
        return code

    def stop(self) -> int:
        """SIGTERM, then the exit status."""
        self.terminate()
        return self.wait()

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or closed by the server."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.wait()

    def rss_bytes(self) -> int:
        """The child's resident set size, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS in /proc status")

    def log_text(self) -> str:
        """What the server logged so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_file.read_text(errors="replace")

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_text()[-chars:]

    @property
    def stderr(self) -> str:
        """What the server logged so far (its standard error)."""
        return self.log_text()

    def _close(self) -> None:
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


def serve_home(
    settings: Settings,
    passphrase: bytes,
    *args: str,
    log_file: Path | None = None,
    start_timeout: float = 60.0,
) -> ServerChild:
    """`licensing serve ARGS` on the home of `settings`; its log in `log_file`, else a new file in the home."""
    log = log_file or settings.home / f"server-{uuid.uuid4().hex[:8]}.log"
    return ServerChild(
        serve_argv(*args), settings_env(settings, passphrase), log, start_timeout=start_timeout
    )
