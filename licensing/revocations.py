"""Signed revocation lists, built by the server with the keyring's active key.

The document and the bytes its signature covers are defined once, in licensing_client.revocation
(`RevocationList.from_json` reads what `build_revocation_list` writes); nothing is redefined here.

Why a sequence: lists reach programs inside updates and never expire, and an old list is just as
validly signed as a new one. A program keeps the highest sequence it has accepted and refuses a
lower one, so putting back last year's list cannot un-revoke a refunded key. Each list issued
must therefore carry a higher sequence than every list before it (the caller keeps the counter).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from licensing_client.revocation import REVOCATIONS_FORMAT, revocation_message

from .keyring import Keyring

__all__ = ["build_revocation_list"]

_U64 = 1 << 64
_MAX_SEQUENCE = (1 << 53) - 1  # docs/key-format.md section 6: exact in every JSON reader


def build_revocation_list(
    keyring: Keyring, serials: Iterable[int], sequence: int, issue_time: dt.datetime
) -> str:
    """The signed JSON revocation list of `serials` (sorted, duplicates removed).

    `issue_time` must carry a time zone; it is stored as whole Unix seconds.
    Raises ValueError for a serial beyond 48 bits, or a sequence beyond 2**53 - 1 (the most that
    every reader, JavaScript included, reads exactly).
    """
    ordered = sorted(set(serials))
    if any(not isinstance(s, int) or isinstance(s, bool) for s in ordered):
        raise ValueError("serials must be whole numbers")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or not 0 <= sequence <= _MAX_SEQUENCE:
        raise ValueError("the sequence is a whole number from 0 to 2**53 - 1")
    if issue_time.tzinfo is None:
        raise ValueError("issue_time needs a time zone (use UTC)")
    timestamp = int(issue_time.timestamp())
    if not 0 <= timestamp < _U64:
        raise ValueError("issue_time must be after 1970-01-01")
    key_id = keyring.active_key_id
    signature = keyring.sign(key_id, revocation_message(key_id, sequence, timestamp, ordered))
    document = {
        "format": REVOCATIONS_FORMAT,
        "key_id": key_id,
        "sequence": sequence,
        "issue_time": timestamp,
        "serials": ordered,
        "signature": signature.hex(),
    }
    return json.dumps(document) + "\n"
