"""Server processes for benchmarks: the no-op baseline and `licensing serve` on a fresh home."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc
import psycopg2

REPO = Path(__file__).resolve().parents[1]
PASSPHRASE = "benchmark passphrase, not a secret"


class Process:
    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on port" not in line:
            self.proc.kill()
            raise RuntimeError(f"{argv[2:4]} did not start")
        self.port = int(line.rsplit(" ", 1)[1])
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.channel.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)


def noop_server(workers: int = 16) -> Process:
    return Process([sys.executable, str(REPO / "bench" / "noop_server.py"), str(workers)])


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


class LicensingServer(Process):
    """A fresh home (keyring, products, an issuer and a support token) and `licensing serve` on it."""

    def __init__(self, engine: str, workers: int = 16) -> None:
        self.home = Path(tempfile.mkdtemp(prefix=f"licensing-bench-{engine}-"))
        self.pg_names: list[str] = []
        env = dict(os.environ, LICENSING_HOME=str(self.home), LICENSING_PASSPHRASE=PASSPHRASE)
        if engine == "postgres":
            for variable in ("LICENSING_DATABASE_URL", "LICENSING_KEYSTORE_URL"):
                name, url = pg_database()
                self.pg_names.append(name)
                env[variable] = url
        cli = [sys.executable, "-m", "licensing.cli.main"]
        subprocess.run([*cli, "init"], env=env, check=True, capture_output=True)
        subprocess.run(
            [*cli, "products", "add", "bench-app", "--number", "7", "--name", "Bench"],
            env=env,
            check=True,
            capture_output=True,
        )
        self.tokens = {
            role: subprocess.run(
                [*cli, "tokens", "create", f"bench-{role}", "--role", role],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            for role in ("issuer", "support")
        }
        self.env = env
        super().__init__(
            [
                *cli,
                "serve",
                "--address",
                "127.0.0.1:0",
                "--workers",
                str(workers),
                "--lookup-rate",
                "100000000",
                "--lookup-burst",
                "1000000",
            ],
            env,
        )

    def metadata(self, role: str = "issuer") -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.tokens[role]}"),)

    def stop(self) -> None:
        super().stop()
        for name in self.pg_names:
            drop_pg_database(name)
