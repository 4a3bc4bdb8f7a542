"""`licensing revocations export`: the signed list to ship with program updates."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..validation import Validator
from .common import open_databases, open_keyring, settings_of


def register(commands: Any) -> None:
    group = commands.add_parser("revocations", help="signed revocation lists").add_subparsers(
        dest="action", required=True
    )
    export = group.add_parser("export", help="write the signed list of revoked serials")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    export.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    open_databases(settings)
    current = Validator(open_keyring(settings)).revocation_list()
    if args.output:
        args.output.write_text(current.document)
        print(
            f"wrote {len(current.serials)} revoked serial(s), sequence {current.sequence}, to {args.output}",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(current.document)
    return 0
