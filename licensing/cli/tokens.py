"""`licensing tokens create|list|revoke`: API tokens for the order system, support and admins."""

from __future__ import annotations

import argparse
from typing import Any

from .. import tokens
from .common import open_databases, settings_of


def register(commands: Any) -> None:
    group = commands.add_parser("tokens", help="API tokens").add_subparsers(dest="action", required=True)
    create = group.add_parser("create", help="create a token; it is printed once and stored only as a hash")
    create.add_argument("name")
    create.add_argument("--role", required=True, choices=[r.value for r in tokens.Role])
    create.set_defaults(func=_create)
    group.add_parser("list", help="list tokens (never the tokens themselves)").set_defaults(func=_list)
    revoke = group.add_parser("revoke", help="revoke a token at once, on every server")
    revoke.add_argument("name")
    revoke.set_defaults(func=_revoke)


def _create(args: argparse.Namespace) -> int:
    open_databases(settings_of(args))
    print(tokens.create_token(args.name, tokens.Role(args.role)))
    return 0


def _list(args: argparse.Namespace) -> int:
    open_databases(settings_of(args))
    for info in tokens.list_tokens():
        state = f"revoked {info.revoke_time:%Y-%m-%d %H:%M}" if info.revoke_time else "active"
        print(f"{info.name:<24} {info.role.value:<8} created {info.create_time:%Y-%m-%d %H:%M}  {state}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    open_databases(settings_of(args))
    tokens.revoke_token(args.name)
    print(f"revoked {args.name}")
    return 0
