"""What the reliability tests share: sizes from the environment, figures for the report, a prepared
home on either engine, and a server whose stop is bounded. `licensing serve` as a child process
that may be killed at any moment is serverchild.ServerChild, the one the other tests use.

The CI-sized runs use the defaults below; `make crash` and `make fuzz` raise them through the
environment. Every test that measures something calls `figure()`, which prints one line and, when
LICENSING_RELIABILITY_FIGURES names a file, appends it there as JSON: docs/reliability.md quotes them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pg
from harness import Harness, StopHung, add_test_products, role_tokens, running_server, stop_within
from homes import make_settings

from licensing.api.server import ServerOptions
from licensing.config import Settings
from licensing.keyring import Keyring
from licensing.service import Databases, bind_databases

__all__ = [
    "Home",
    "StopHung",
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
    add_test_products()
    home.tokens = role_tokens("rel")
    return home


@contextmanager
def serving(settings: Settings, keyring: Keyring, options: ServerOptions | None = None) -> Iterator[Harness]:
    """harness.running_server with a bounded stop (see harness.stop_within)."""
    with running_server(settings, keyring, options, bounded_stop=True) as harness:
        yield harness
