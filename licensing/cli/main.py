"""Entry point of `licensing`: parses, dispatches, and turns errors into one clear line.

Exit status: 0 done, 1 the command failed (`error: …`, one line), 2 the command line is wrong
(argparse's usage line, or a UsageError), 141 the reader of standard output went away (as for
any Unix tool in `… | head`). The traceback is shown only with -v.

Only the command being run is imported: `licensing --help` lists the commands from the table
below without loading gRPC, Peewee or the bridge's HTTP library, and `licensing support find`
never loads the bridge. A module in COMMANDS registers every command it names.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from ..errormap import mapped_errors
from ..errors import LicensingError, UsageError

__all__ = ["main"]

EXIT_FAILURE, EXIT_USAGE, EXIT_BROKEN_PIPE = 1, 2, 141

# command → (module in licensing.cli that registers it, the line `licensing --help` shows)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("setup", "create the home folder, keyring, databases and an admin token"),
    "migrate": ("setup", "bring the database schema up to date"),
    "serve": ("setup", "run the gRPC server"),
    "keys": ("keys", "signing keys"),
    "tokens": ("tokens", "API tokens"),
    "products": ("products", "products"),
    "licenses": ("licenses", "show, list and revoke licenses (over the gRPC API, issuer or admin token)"),
    "revocations": ("revocations", "signed revocation lists"),
    "import": ("import_csv", "issue licenses for historical orders from a CSV file"),
    "support": (
        "support",
        "support staff: find purchasers, export, erase, record newsletter consent (over the gRPC API)",
    ),
    "audit": ("audit", "list the audit log: who issued, revoked, looked up or erased what"),
    "bridge": ("bridge", "the HTTP bridge for 2Checkout, FastSpring and Paddle"),
    "console": ("console", "the support console in the browser (a client of the gRPC API)"),
}
_GLOBAL_WITH_VALUE = ("--home", "--database-url", "--keystore-url")


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The command word in argv, skipping the global options (and their values) before it."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in _GLOBAL_WITH_VALUE:
            skip = True
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="licensing", description="License key issuance and validation service."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging and tracebacks")
    parser.add_argument("--home", help="the service's home folder (env LICENSING_HOME; default ./var/home)")
    parser.add_argument("--database-url", help="main database URL (env LICENSING_DATABASE_URL)")
    parser.add_argument("--keystore-url", help="data-key store URL (env LICENSING_KEYSTORE_URL)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _chosen_command(argv)
    registered: set[str] = set()
    for name, (module, help_line) in COMMANDS.items():
        if name in registered:
            continue
        if chosen is not None and COMMANDS[chosen][0] == module:
            importlib.import_module(f"{__package__}.{module}").register(commands)
            registered.update(other for other, (owner, _) in COMMANDS.items() if owner == module)
        else:
            commands.add_parser(name, help=help_line)  # a placeholder: never run, only listed
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        with mapped_errors():
            result: int = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at interpreter exit
        return result
    except LicensingError as exc:
        if args.verbose:
            raise
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILURE
    except BrokenPipeError:
        return _broken_pipe()
    except KeyboardInterrupt:
        return 130


def _broken_pipe() -> int:
    """`licensing … | head`: the reader left. Say nothing; keep the interpreter's final flush quiet."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
