"""`licensing audit`: the append-only log of issuance, revocation and support actions.

An operator's command: it reads the main database directly, like `tokens` and `products`, and
may run while servers serve. Entries name the caller's token, and orders, serials and opaque
profile IDs as targets, never an email address; times are UTC.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from .. import audit
from .common import open_databases, settings_of

ACTIONS = ("issue", "revoke", "find", "export", "erase", "consent", "correct-email", "reissue")


def register(commands: Any) -> None:
    command = commands.add_parser(
        "audit", help="list the audit log: who issued, revoked, looked up or erased what"
    )
    command.add_argument(
        "--since",
        type=_instant,
        metavar="ISO",
        help="entries at or after this time (ISO 8601; UTC unless an offset is given)",
    )
    command.add_argument("--until", type=_instant, metavar="ISO", help="entries before this time")
    command.add_argument("--action", choices=ACTIONS, help="only entries of this action")
    command.add_argument("--json", action="store_true", help="one JSON object per line")
    command.set_defaults(func=_list)


def _instant(text: str) -> dt.datetime:
    """An ISO 8601 date or time as naive UTC, the way the log stores times."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _list(args: argparse.Namespace) -> int:
    open_databases(settings_of(args))
    for entry in audit.entries(since=args.since, until=args.until, action=args.action):
        if args.json:
            document = {
                "time": entry.time.replace(tzinfo=dt.UTC).isoformat(),
                "actor": entry.actor,
                "action": entry.action,
                "target": entry.target,
                "detail": entry.detail,
            }
            print(json.dumps(document, ensure_ascii=False))
        else:
            line = f"{entry.time:%Y-%m-%dT%H:%M:%SZ}  {entry.actor:<16}  {entry.action:<7}  {entry.target:<40}  {entry.detail}"
            print(line.rstrip())
    return 0
