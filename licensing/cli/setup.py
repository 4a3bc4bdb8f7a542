"""`licensing init`, `licensing migrate` and `licensing serve`."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from ..addresses import listen_address
from ..api.server import ServerOptions, serve_until_signalled, start_server, stop_on_signals
from ..client import ADDRESS_ENV, DEFAULT_ADDRESS
from ..errors import ConfigurationError
from ..keyring import PASSPHRASE_ENV, PASSPHRASE_FILE_ENV, Keyring, check_passphrase_strength, read_passphrase
from ..metrics import parse_metrics_address, start_metrics_server
from ..products import add_product
from ..service import Service, bind_databases, bind_only
from ..storage.database import close_before_fork
from ..storage.files import private_folder
from ..storage.migrate import migrate_keystore, migrate_main
from ..storage.models import Product
from ..tokens import Role, create_token
from .common import open_keyring, settings_of

log = logging.getLogger("licensing.cli")


def register(commands: Any) -> None:
    init = commands.add_parser("init", help="create the home folder, keyring, databases and an admin token")
    init.add_argument(
        "--dev",
        action="store_true",
        help="development set-up: a random passphrase in <home>/passphrase, issuer and support tokens "
        "in <home>/dev-tokens.env, and a demo product",
    )
    init.set_defaults(func=_init)
    commands.add_parser("migrate", help="bring the database schema up to date").set_defaults(func=_migrate)
    serve = commands.add_parser("serve", help="run the gRPC server")
    serve.add_argument(
        "--address",
        type=listen_address,
        default=os.environ.get(ADDRESS_ENV) or DEFAULT_ADDRESS,
        help=f"host:port to listen on (env {ADDRESS_ENV}, as for every client; default {DEFAULT_ADDRESS})",
    )
    serve.add_argument("--tls-cert", type=Path, help="server certificate (PEM)")
    serve.add_argument("--tls-key", type=Path, help="server private key (PEM)")
    serve.add_argument("--client-ca", type=Path, help="require client certificates signed by this CA (mTLS)")
    serve.add_argument(
        "--insecure-remote", action="store_true", help="allow plaintext on a non-loopback address"
    )
    serve.add_argument(
        "--workers", type=int, default=16, help="threads for the blocking part of calls (the database)"
    )
    serve.add_argument(
        "--max-concurrent",
        type=int,
        default=256,
        help="authenticated calls served at once; beyond, RESOURCE_EXHAUSTED",
    )
    serve.add_argument(
        "--lookup-rate", type=float, default=120.0, help="look-ups per minute per token (support, validation)"
    )
    serve.add_argument("--lookup-burst", type=int, default=30, help="look-ups a token may make at once")
    serve.add_argument(
        "--metrics-address",
        metavar="[HOST:]PORT",
        help="serve Prometheus metrics (trends, no personal data) on this port; off unless given; host 127.0.0.1 by default",
    )
    serve.add_argument(
        "--no-migrate", action="store_true", help="refuse to start on an old schema instead of migrating"
    )
    serve.add_argument(
        "--processes",
        type=int,
        default=1,
        help="server processes sharing the port (SO_REUSEPORT) over the one database: one per core (default 1)",
    )
    serve.add_argument(
        "--prepare-processes",
        type=int,
        help="worker processes (per server process) that check and seal the rows of `licensing import`; "
        "0: in the server process itself (default: one per core, shared among the server processes)",
    )
    serve.set_defaults(func=_serve)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _init(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    private_folder(settings.home)
    if settings.keyring_path.exists():
        raise ConfigurationError(f"{settings.home} is already initialised (a keyring exists there)")
    environ = dict(os.environ)
    if args.dev and not environ.get(PASSPHRASE_ENV) and not environ.get(PASSPHRASE_FILE_ENV):
        passphrase_file = settings.home / "passphrase"
        _write_private(passphrase_file, secrets.token_urlsafe(24) + "\n")
        environ[PASSPHRASE_FILE_ENV] = str(passphrase_file)
        print(f"development passphrase written to {passphrase_file}")
    passphrase = read_passphrase(environ)
    if not args.dev:
        check_passphrase_strength(passphrase)
    Keyring.create(settings.keyring_path, passphrase)
    bind_databases(settings)
    admin = create_token("admin", Role.ADMIN)
    print(f"keyring created at {settings.keyring_path}")
    print(f"admin token (shown once, store it now): {admin}")
    if args.dev:
        issuer, support = create_token("dev-issuer", Role.ISSUER), create_token("dev-support", Role.SUPPORT)
        tokens_file = settings.home / "dev-tokens.env"
        _write_private(
            tokens_file,
            f"LICENSING_ADMIN_TOKEN={admin}\nLICENSING_ISSUER_TOKEN={issuer}\nLICENSING_SUPPORT_TOKEN={support}\n",
        )
        if not Product.select().where(Product.code == "demo-app").exists():
            add_product("demo-app", 1, "Demo App")
        print(f"development tokens written to {tokens_file}; demo product 'demo-app' (number 1) added")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    databases = bind_only(settings_of(args))
    applied = migrate_main(databases.main)
    migrate_keystore(databases.keystore)
    print(f"applied {len(applied)} migration(s)" if applied else "the schema is up to date")
    return 0


DEVELOPMENT_FILES = ("passphrase", "dev-tokens.env")


def _warn_if_development_home(home: Path) -> None:
    """Said at every start: a development home keeps its secrets in plaintext beside the keyring."""
    found = [name for name in DEVELOPMENT_FILES if (home / name).exists()]
    if found:
        log.warning(
            "this home is a development set-up (%s beside the keyring, in plaintext): anyone who can "
            "read the folder holds the keyring's passphrase and API tokens; never serve real customers "
            "from it (see docs/operations.md, 'Going to production')",
            " and ".join(found),
        )


def _serve(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    if args.processes < 1:
        raise ConfigurationError("--processes must be 1 or more")
    if args.prepare_processes is not None and args.prepare_processes < 0:
        raise ConfigurationError("--prepare-processes must be 0 or more")
    if args.processes > 1:
        return _serve_processes(args, settings)
    service = Service.start(
        settings,
        open_keyring(settings),
        migrate=not args.no_migrate,
        pool_size=args.workers,
        prepare_processes=_prepare_processes(args),
    )
    options = _options(args)
    metrics_server = start_metrics_server(args.metrics_address) if args.metrics_address else None
    running = start_server(service, options)
    _warn_if_development_home(settings.home)  # once it serves: a failed start stays one line
    if metrics_server is not None:
        log.info("metrics on port %d", metrics_server.port)
    stopping = stop_on_signals()
    print(f"licensing server listening on port {running.port}", flush=True)
    serve_until_signalled(running, options.grace_seconds, stopping)
    if metrics_server is not None:
        metrics_server.stop()
    service.stop()
    return 0


def _serve_processes(args: argparse.Namespace, settings: Any) -> int:
    from ..shared_metrics import SharedMetrics
    from .processes import serve_processes

    if args.metrics_address:
        parse_metrics_address(args.metrics_address)  # a malformed address is refused before the keyring
    keyring = open_keyring(settings)
    shared_metrics = SharedMetrics.start()  # before anything is counted: see shared_metrics.py
    try:
        # Migrate and reconcile the signing-key ledger once, here, rather than in N racing children.
        service = Service.start(settings, keyring, migrate=not args.no_migrate, pool_size=1)
        service.stop()
        close_before_fork(service.databases.main, service.databases.keystore)

        def announce(port: int) -> None:
            _warn_if_development_home(settings.home)
            print(f"licensing server listening on port {port}", flush=True)

        return serve_processes(
            args.processes,
            settings,
            keyring,
            _options(args),
            args.workers,
            announce,
            shared_metrics,
            args.metrics_address,
            _prepare_processes(args),
        )
    finally:
        shared_metrics.close()


def _prepare_processes(args: argparse.Namespace) -> int:
    """Preparation workers per server process: as given, else the cores shared among the processes."""
    if args.prepare_processes is not None:
        return int(args.prepare_processes)
    # The cores this process may run on (its affinity), not the machine's: a container is often pinned.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // int(args.processes))


def _options(args: argparse.Namespace) -> ServerOptions:
    return ServerOptions(
        address=args.address,
        max_workers=args.workers,
        max_concurrent_rpcs=args.max_concurrent,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        client_ca=args.client_ca,
        allow_insecure_remote=args.insecure_remote,
        lookups_per_minute=args.lookup_rate,
        lookup_burst=args.lookup_burst,
    )
