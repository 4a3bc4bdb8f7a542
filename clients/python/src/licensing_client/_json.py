"""The JSON rules the keyring and the revocation list share (docs/key-format.md, "JSON documents").

Every validator reads these documents with its own parser, so the rules are the ones every
parser can follow: a leading UTF-8 byte-order mark is skipped, numbers are read by value (so
`4.0` is 4, as it is to JavaScript's JSON.parse) and never above 2**53 - 1, hex is exact.
"""

from __future__ import annotations

import re
from typing import Any

MAX_SAFE_INTEGER = (1 << 53) - 1
_BOM = b"\xef\xbb\xbf"
_hex = re.compile("[0-9a-fA-F]*").fullmatch


def parse_object(document: str | bytes) -> dict[str, Any] | None:
    """The document's top-level object, or None when it is not JSON or not an object."""
    import json  # here, not at the top: a program with its keyring in code never loads json

    if isinstance(document, bytes):
        document = document.removeprefix(_BOM)
        try:
            document = document.decode("utf-8")
        except UnicodeDecodeError:
            return None
    else:
        document = document.removeprefix("\ufeff")
    try:
        data = json.loads(document, parse_constant=_refuse_constant)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _refuse_constant(name: str) -> None:
    """NaN and Infinity are not JSON (RFC 8259), though Python's parser reads them by default."""
    raise ValueError(f"{name} is not JSON")


def whole(value: object, minimum: int, maximum: int) -> int | None:
    """value as an int when it is a JSON number with a whole value in range, else None.

    JSON's true is not 1 here, and 4.0 is 4: a parser that reads numbers as doubles cannot
    tell 4.0 from 4, so no implementation may.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    if not minimum <= value <= min(maximum, MAX_SAFE_INTEGER):
        return None
    return value


def exact_hex(value: object, size: int) -> bytes | None:
    """`size` bytes from exactly 2*size hex digits (either case, nothing else), else None."""
    if not isinstance(value, str) or len(value) != 2 * size or not _hex(value):
        return None
    return bytes.fromhex(value)
