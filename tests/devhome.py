"""A development home as `make serve` makes it (`licensing init --dev`), and `licensing serve` on it.

For tests that run commands the way a newcomer types them: each command is a child process with
the environment a newcomer has after `. var/home/dev-tokens.env`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from serverchild import ServerChild, serve_argv

__all__ = ["DevHome", "base_env", "dev_home", "free_port", "licensing", "run", "start_server"]


@dataclass
class DevHome:
    home: Path
    port: int
    tokens: dict[str, str]
    server: ServerChild

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a newcomer has after `. var/home/dev-tokens.env`, pointed at the server."""
        env = base_env(self.home)
        env.update(self.tokens, LICENSING_ADDRESS=self.address)
        env.update(extra)
        return env


def base_env(home: Path) -> dict[str, str]:
    """The caller's environment without any LICENSING_* setting, then the home and its passphrase."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICENSING_")}
    env.update(LICENSING_HOME=str(home), LICENSING_PASSPHRASE_FILE=str(home / "passphrase"))
    return env


def run(
    args: list[str], env: dict[str, str], *, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def licensing(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "licensing.cli.main", *args], env)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(env: dict[str, str], log: Path, *args: str) -> ServerChild:
    """`licensing serve ARGS` as the newcomer runs it: where LICENSING_ADDRESS says unless ARGS say."""
    return ServerChild(serve_argv(*args, address=None), env, log)


@contextmanager
def dev_home(home: Path) -> Iterator[DevHome]:
    """`licensing init --dev` in `home` (which must not exist yet), and a server on a free port."""
    env = {k: v for k, v in base_env(home).items() if k != "LICENSING_PASSPHRASE_FILE"}
    made = licensing("init", "--dev", env=env)
    assert made.returncode == 0, made.stderr
    tokens = dict(
        line.split("=", 1) for line in (home / "dev-tokens.env").read_text().splitlines() if "=" in line
    )
    server = start_server(base_env(home), home.parent / "server.log", "--address", "127.0.0.1:0")
    try:
        yield DevHome(home, server.port, tokens, server)
    finally:
        assert server.stop() == 0, server.log_tail(2000)
