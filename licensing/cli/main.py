"""Entry point of `licensing`: parses, dispatches, and turns errors into one clear line.

Expected failures (LicensingError) print `error: …` and exit 1; the traceback only with -v.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ..errors import LicensingError
from . import audit, bridge, console, import_csv, keys, products, revocations, setup, support, tokens

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="licensing", description="License key issuance and validation service.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging and tracebacks")
    parser.add_argument("--home", help="the service's home folder (env LICENSING_HOME; default ./var/home)")
    parser.add_argument("--database-url", help="main database URL (env LICENSING_DATABASE_URL)")
    parser.add_argument("--keystore-url", help="data-key store URL (env LICENSING_KEYSTORE_URL)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (setup, keys, tokens, products, revocations, import_csv, support, audit, bridge, console):
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        result: int = args.func(args)
        return result
    except LicensingError as exc:
        if args.verbose:
            raise
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
