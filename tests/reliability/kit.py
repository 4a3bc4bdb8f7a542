"""What the reliability tests share: sizes from the environment, figures for the report, a prepared
home on either engine, and `licensing serve` as a child process that may be killed at any moment.

The CI-sized runs use the defaults below; `make crash` and `make fuzz` raise them through the
environment. Every test that measures something calls `figure()`, which prints one line and, when
LICENSING_RELIABILITY_FIGURES names a file, appends it there as JSON: docs/reliability.md quotes them.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pg
from harness import PRODUCTS, Harness
from homes import REPO, TEST_PASSPHRASE, make_settings

from licensing.api.server import RunningServer, ServerOptions, start_server
from licensing.config import Settings
from licensing.keyring import Keyring
from licensing.products import add_product
from licensing.service import Databases, Service, bind_databases
from licensing.storage.models import Product
from licensing.tokens import Role, create_token

__all__ = [
    "Home",
    "ServerChild",
    "bearer",
    "figure",
    "prepare_home",
    "serving",
    "size",
    "stop_within",
]


def size(variable: str, default: int) -> int:
    """A run size: the environment variable if set (make crash, make fuzz), else the CI default."""
    value = os.environ.get(variable, "")
    return int(value) if value.strip() else default


def figure(name: str, **values: object) -> None:
    """Report a measured figure: one line on stdout, and a JSON line in the figures file if set."""
    print(f"FIGURE {name}: " + ", ".join(f"{key}={value}" for key, value in values.items()), flush=True)
    target = os.environ.get("LICENSING_RELIABILITY_FIGURES")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"figure": name, **values}, default=str) + "\n")


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


@dataclass
class Home:
    """A service home on one engine, with products and one token per role, ready to serve."""

    kind: str
    settings: Settings
    tokens: dict[str, str]
    pg_databases: list[str] = field(default_factory=list)
    bound: Databases | None = None

    def bind(self) -> Databases:
        """Bind this process's models to the home's databases (for direct checks)."""
        self.bound = bind_databases(self.settings)
        return self.bound

    def close(self) -> None:
        if self.bound is not None:
            self.bound.close()
            self.bound = None

    def drop(self) -> None:
        self.close()
        for name in self.pg_databases:
            pg.drop_database(name)

    @property
    def sqlite_files(self) -> list[Path]:
        return [
            Path(url.removeprefix("sqlite:///"))
            for url in (self.settings.database_url, self.settings.keystore_url)
            if url.startswith("sqlite:///")
        ]


def prepare_home(kind: str, folder: Path, keyring_file: Path) -> Home:
    """A fresh home on `kind` (sqlite or postgres) with the test products and tokens, left bound."""
    settings, databases = make_settings(kind, folder, keyring_file)
    home = Home(kind, settings, {}, databases)
    home.bind()
    for code, number in PRODUCTS.items():
        if not Product.select().where(Product.code == code).exists():
            add_product(code, number, code.title())
    stamp = os.urandom(4).hex()
    home.tokens = {role.value: create_token(f"rel-{role.value}-{stamp}", role) for role in Role}
    return home


class ServerChild:
    """`licensing serve` in a child process on a free port; stderr goes to a file, never a pipe.

    A pipe nobody reads fills up after a few hundred log lines and then blocks the server, which
    under load would look exactly like the hang these tests hunt for.
    """

    def __init__(
        self, settings: Settings, log_file: Path, *extra_args: str, start_timeout: float = 60.0
    ) -> None:
        env = dict(os.environ)
        env.update(
            LICENSING_HOME=str(settings.home),
            LICENSING_DATABASE_URL=settings.database_url,
            LICENSING_KEYSTORE_URL=settings.keystore_url,
            LICENSING_PASSPHRASE=TEST_PASSPHRASE.decode(),
        )
        self.log_file = log_file
        self._log = open(log_file, "ab")  # noqa: SIM115 (kept open for the child's lifetime)
        started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "licensing.cli.main", "serve", "--address", "127.0.0.1:0", *extra_args],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], start_timeout)
        line = self.process.stdout.readline() if ready else ""
        if "listening on port" not in line:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"server did not start: {line!r}\n{self.log_tail()}")
        self.port = int(line.rsplit(" ", 1)[1])
        self.start_seconds = time.monotonic() - started

    @property
    def pid(self) -> int:
        return self.process.pid

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(f"127.0.0.1:{self.port}")

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or closed by the server."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._close()

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 30) -> int:
        code = self.process.wait(timeout=timeout)
        self._close()
        return code

    def stop(self) -> int:
        self.terminate()
        return self.wait()

    def rss_bytes(self) -> int:
        """The child's resident set size, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS in /proc status")

    def log_tail(self, chars: int = 3000) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_file.read_text(errors="replace")[-chars:]

    def _close(self) -> None:
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


class StopHung(AssertionError):
    """The gRPC server did not finish stopping: `licensing serve` would hang on SIGTERM the same way."""


def stop_within(running: RunningServer, grace: float = 1.0, within: float = 8.0) -> None:
    """RunningServer.stop, but bounded: a stop that never ends fails the test instead of hanging CI."""
    if not running.stop_within(grace, within):
        tasks = [
            task.get_coro().__qualname__
            for task in asyncio.all_tasks(running.loop)  # read only, to say what is stuck
        ]
        raise StopHung(f"server.stop({grace}) had not finished after {within} s; tasks still running: {tasks}")


@contextmanager
def serving(settings: Settings, keyring: Keyring, options: ServerOptions | None = None) -> Iterator[Harness]:
    """harness.running_server with a bounded stop (see stop_within) and the test products."""
    service = Service.start(settings, keyring)
    for code, number in PRODUCTS.items():
        if not Product.select().where(Product.code == code).exists():
            add_product(code, number, code.title())
    stamp = os.urandom(4).hex()  # hex, never a digit run that looks like a card number
    tokens = {role.value: create_token(f"rel-{role.value}-{stamp}", role) for role in Role}
    running = start_server(service, options or ServerOptions(address="127.0.0.1:0", health_interval=0.2))
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield Harness(service, running, channel, tokens)
    finally:
        channel.close()
        try:
            stop_within(running)
        finally:
            service.stop()
