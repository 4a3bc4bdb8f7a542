"""`licensing bridge serve`: the HTTP bridge for e-commerce providers (docs/providers.md).

The bridge is its own process: it reads its configuration file and the issuer token from the
environment, and reaches the server only through the gRPC API.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import ssl
import sys
from pathlib import Path
from typing import Any

from ..bridge.config import CONFIG_ENV, TOKEN_ENV, BridgeConfig, load_config
from ..bridge.template import PROVIDERS, render_config, secret_variables
from ..errors import ConfigurationError

log = logging.getLogger("licensing.bridge")


def register(commands: Any) -> None:
    group = commands.add_parser("bridge", help="the HTTP bridge for 2Checkout, FastSpring and Paddle")
    actions = group.add_subparsers(dest="action", required=True)
    serve = actions.add_parser(
        "serve",
        help="serve the providers' endpoints and issue keys through the gRPC API",
        description=f"The issuer token is read from {TOKEN_ENV}; provider secrets from the "
        "environment variables the configuration names.",
    )
    serve.add_argument("--config", type=Path, help=f"configuration file (TOML; env {CONFIG_ENV})")
    serve.add_argument("--address", help="host:port to listen on (overrides `listen` in the file)")
    serve.add_argument(
        "--metrics-address",
        metavar="[HOST:]PORT",
        help="serve Prometheus metrics on this port; off unless given; host 127.0.0.1 by default",
    )
    serve.set_defaults(func=_serve)

    init = actions.add_parser(
        "init-config",
        help="write a starting configuration: the providers you name, every product the server knows",
        description="Asks the server (with the issuer token from LICENSING_ISSUER_TOKEN) for its products "
        "and maps each under every provider named; the file loads and starts as it is once the secrets' "
        "variables are set. Replace each provider product code with the one from the control panel.",
    )
    init.add_argument(
        "--provider",
        action="append",
        required=True,
        choices=PROVIDERS,
        help="a provider to set up (repeat for more)",
    )
    init.add_argument(
        "-o", "--output", type=Path, help="file to write (default: standard output); never overwritten"
    )
    init.add_argument(
        "--server", help="the gRPC server's host:port (default: LICENSING_ADDRESS or 127.0.0.1:50051)"
    )
    init.add_argument(
        "--listen", default="127.0.0.1:8080", help="where the bridge listens (default 127.0.0.1:8080)"
    )
    init.set_defaults(func=_init_config)


def _init_config(args: argparse.Namespace) -> int:
    from .. import client
    from .._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc

    providers = list(dict.fromkeys(args.provider))
    server = client.resolve_address(args.server)
    token = client.token_from(None, (TOKEN_ENV,), "issuer")
    with client.connect(server, token) as connection:
        stub = issuance_pb2_grpc.IssuanceServiceStub(connection.channel)
        products = [
            p.code for p in connection.call(stub.ListProducts, issuance_pb2.ListProductsRequest()).products
        ]
    if not products:
        raise ConfigurationError("the server has no products yet: add one with `licensing products add`")
    text = render_config(providers, products, server=server, listen=args.listen)
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            with args.output.open("x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            raise ConfigurationError(
                f"{args.output} exists; it is never overwritten: name another file"
            ) from None
        except OSError as exc:
            raise ConfigurationError(f"cannot write {args.output}: {exc.strerror}") from exc
        print(f"wrote {args.output}", file=sys.stderr)
    print(
        f"before `licensing bridge serve`, set {', '.join(secret_variables(providers))} "
        f"and {TOKEN_ENV} in its environment",
        file=sys.stderr,
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    from ..metrics import start_metrics_server

    config = load_config(args.config)
    metrics_server = start_metrics_server(args.metrics_address) if args.metrics_address else None
    try:
        asyncio.run(_run(config, args.address or config.listen))
    finally:
        if metrics_server is not None:
            metrics_server.stop()
    return 0


class _Redact(logging.Filter):
    """Last line of defence: a log record that somehow holds a configured secret is rewritten."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = tuple(secret for secret in secrets if len(secret) >= 4)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "[redacted]")
            record.msg, record.args = message, None
        return True


async def _run(config: BridgeConfig, address: str) -> None:
    import aiohttp
    from aiohttp import web

    from ..bridge.app import create_app
    from ..bridge.issuer import Issuer, channel_for

    redact = _Redact(config.secret_values)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    host, _, port = address.rpartition(":")
    context = None
    if config.listen_cert_file is not None and config.listen_key_file is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(config.listen_cert_file, config.listen_key_file)
    channel = channel_for(config.server, config.server_ca, config.client_cert, config.client_key)
    issuer = Issuer(channel, config.token, config.deadline_seconds)
    try:
        await issuer.check_products(config.product_codes(), address=config.server)
    except BaseException:
        await issuer.close()
        raise
    async with aiohttp.ClientSession() as http:
        runner = web.AppRunner(create_app(config, issuer, http=http), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host.strip("[]") or "127.0.0.1", int(port), ssl_context=context)
        await site.start()
        # Handlers first, then the line a supervisor waits for: a SIGTERM right after it stops cleanly.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        bound = runner.addresses[0][1] if runner.addresses else port
        print(f"licensing bridge listening on port {bound}", flush=True)
        try:
            await stop.wait()
        finally:
            log.info("bridge stopping")
            await runner.cleanup()
            await issuer.close()
