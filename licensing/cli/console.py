"""`licensing console serve`: the support console in the browser (licensing/console/).

The console is its own process and a plain client of the gRPC API, like `licensing support`:
it holds no database, no keyring and no token of its own; each person signs in with theirs.
Plaintext HTTP is refused on a non-loopback address unless --insecure-remote says a TLS proxy
is in front, as for the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import ssl
from pathlib import Path
from typing import Any

from ..addresses import is_loopback
from ..errors import ConfigurationError

log = logging.getLogger("licensing.console")

ADDRESS_ENV = "LICENSING_ADDRESS"


def register(commands: Any) -> None:
    group = commands.add_parser(
        "console", help="the support console in the browser (a client of the gRPC API)"
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help="serve the support console over HTTP(S)",
        description="Support staff sign in with their own support or admin token.",
    )
    serve.add_argument(
        "--address", default="127.0.0.1:8080", help="host:port to listen on (default 127.0.0.1:8080)"
    )
    serve.add_argument("--tls-cert", type=Path, help="HTTPS certificate (PEM)")
    serve.add_argument("--tls-key", type=Path, help="HTTPS private key (PEM)")
    serve.add_argument(
        "--insecure-remote",
        action="store_true",
        help="allow plain HTTP on a non-loopback address (only behind a TLS proxy; cookies are then marked Secure)",
    )
    serve.add_argument(
        "--server", help=f"the licensing server's host:port (env {ADDRESS_ENV}; default 127.0.0.1:50051)"
    )
    serve.add_argument(
        "--tls-ca",
        type=Path,
        metavar="FILE",
        help="the gRPC server's CA certificate (PEM); without it, plaintext, to a loopback server only",
    )
    serve.add_argument(
        "--session-minutes", type=float, default=30.0, help="sign out after this long idle (default 30)"
    )
    serve.add_argument(
        "--session-hours", type=float, default=8.0, help="sign out after this long in any case (default 8)"
    )
    serve.set_defaults(func=_serve)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the {what} {path}: {exc.strerror}") from exc


def _serve(args: argparse.Namespace) -> int:
    from ..console import ConsoleOptions, create_app

    if not args.address.rpartition(":")[2].isdigit():
        raise ConfigurationError(f"--address must be HOST:PORT, not {args.address!r}")
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ConfigurationError("HTTPS needs both --tls-cert and --tls-key")
    tls = args.tls_cert is not None
    if not tls and not is_loopback(args.address) and not args.insecure_remote:
        raise ConfigurationError(
            f"refusing to serve the console on {args.address} without TLS: give --tls-cert and --tls-key, "
            "or --insecure-remote if a TLS proxy in front of it is intended"
        )
    if args.session_minutes <= 0 or args.session_hours <= 0:
        raise ConfigurationError("--session-minutes and --session-hours must be positive")
    context = None
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"cannot load the HTTPS certificate and key: {exc}") from exc
    options = ConsoleOptions(
        server_address=args.server or os.environ.get(ADDRESS_ENV) or "127.0.0.1:50051",
        root_certificates=_read(args.tls_ca, "CA certificate") if args.tls_ca else None,
        secure_cookies=tls or args.insecure_remote,
        idle_minutes=args.session_minutes,
        lifetime_hours=args.session_hours,
    )
    asyncio.run(_run(create_app(options), args.address, context))
    return 0


async def _run(app: Any, address: str, context: ssl.SSLContext | None) -> None:
    from aiohttp import web

    host, _, port = address.rpartition(":")
    runner = web.AppRunner(app, access_log=None, handle_signals=False)  # the access log would print paths
    await runner.setup()
    site = web.TCPSite(runner, host.strip("[]") or "127.0.0.1", int(port), ssl_context=context)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    print(f"licensing console listening on port {bound} ({'https' if context else 'http'})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("console stopping")
        await runner.cleanup()
