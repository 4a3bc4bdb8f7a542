"""`licensing keys generate|rotate|retire|list|export-public`: the signing keyring.

The safe rotation is two steps: `generate` adds a key that clients accept but that signs
nothing yet; ship the exported public keyring in a program update; then `rotate` makes it
the signer. Restart the servers after a change: a running server reads the keyring once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..storage.models import Product
from .common import open_databases, open_keyring, settings_of


def register(commands: Any) -> None:
    group = commands.add_parser("keys", help="signing keys").add_subparsers(dest="action", required=True)
    group.add_parser("generate", help="add a key that verifies but does not sign yet").set_defaults(
        func=_generate
    )
    rotate = group.add_parser("rotate", help="make the newest generated key (or a new one) the signer")
    rotate.set_defaults(func=_rotate)
    retire = group.add_parser("retire", help="retire a key: validators refuse what it signed")
    retire.add_argument("key_id", type=int)
    retire.set_defaults(func=_retire)
    group.add_parser("list", help="list keys and their status").set_defaults(func=_list)
    export = group.add_parser("export-public", help="write the public keyring that clients are built with")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    export.set_defaults(func=_export)


def _generate(args: argparse.Namespace) -> int:
    keyring = open_keyring(settings_of(args))
    key_id = keyring.generate()
    keyring.save()
    print(
        f"generated key {key_id} (verify-only); export the public keyring, ship it, then `licensing keys rotate`"
    )
    return 0


def _rotate(args: argparse.Namespace) -> int:
    keyring = open_keyring(settings_of(args))
    key_id = keyring.activate_newest()
    keyring.save()
    print(f"key {key_id} now signs new licenses; restart the servers to use it")
    return 0


def _retire(args: argparse.Namespace) -> int:
    keyring = open_keyring(settings_of(args))
    keyring.retire(args.key_id)
    keyring.save()
    print(f"retired key {args.key_id}")
    return 0


def _list(args: argparse.Namespace) -> int:
    for key in open_keyring(settings_of(args)).keys:
        print(f"{key.key_id:>3}  {key.status:<12} created {key.create_time:%Y-%m-%d}  {key.public_key.hex()}")
    return 0


def _export(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    keyring = open_keyring(settings)
    open_databases(settings)
    products = {p.code: p.number for p in Product.select()}
    document = keyring.public_keyring(products).to_json()
    if args.output:
        args.output.write_text(document)
        print(f"wrote the public keyring to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(document)
    return 0
