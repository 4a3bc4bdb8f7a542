"""Signed revocation lists: how a refund reaches software that never goes online.

The vendor ships the list with program updates; nothing is fetched. Document (JSON, written by
`licensing revocations export`):

    {"format": "licensing-revocations/1", "key_id": 2, "sequence": 7,
     "issue_time": 1764100000, "serials": [123, 456], "signature": "<128 hex>"}

The signature is Ed25519 by `key_id` over the canonical bytes of `revocation_message`, never over
the JSON text, so spacing and key order do not matter and every field is covered. A program
should keep the highest `sequence` it has accepted and refuse an older list (`newer_than`).
"""

from __future__ import annotations

import datetime as dt
import os
import struct
from collections.abc import Iterable

from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError

from ._frozen import Frozen
from .errors import RevocationListError
from .keyring import PublicKeyring

__all__ = ["REVOCATIONS_FORMAT", "RevocationList", "revocation_message"]

REVOCATIONS_FORMAT = "licensing-revocations/1"
REVOCATIONS_CONTEXT = b"licensing.v1/revocations\x00"
_HEADER = struct.Struct(">BQQI")  # key_id, sequence, issue_time (Unix seconds), count
_MAX_SERIAL = (1 << 48) - 1
_MAX_ISSUE_TIME = 253402300799  # 9999-12-31T23:59:59Z, the last second datetime can hold


def revocation_message(key_id: int, sequence: int, issue_time: int, serials: Iterable[int]) -> bytes:
    """The exact bytes a revocation list's signature covers; serials are sorted and unique."""
    ordered = sorted(set(serials))
    if any(not 0 <= s <= _MAX_SERIAL for s in ordered):
        raise ValueError("a serial fits in 48 bits")
    return (
        REVOCATIONS_CONTEXT
        + _HEADER.pack(key_id, sequence, issue_time, len(ordered))
        + b"".join(s.to_bytes(6, "big") for s in ordered)
    )


def _whole(value: object, maximum: int) -> int | None:
    """value when it is an int (not a bool) in 0..maximum, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum:
        return value
    return None


class RevocationList(Frozen):
    """A revocation list whose signature has been checked against a keyring."""

    __slots__ = ("issue_time", "key_id", "sequence", "serials")
    key_id: int
    sequence: int
    issue_time: dt.datetime
    serials: frozenset[int]

    def __init__(self, key_id: int, sequence: int, issue_time: dt.datetime, serials: frozenset[int]) -> None:
        self._set(key_id=key_id, sequence=sequence, issue_time=issue_time, serials=serials)

    def __contains__(self, serial: object) -> bool:
        return serial in self.serials

    def newer_than(self, sequence: int) -> bool:
        return self.sequence > sequence

    @classmethod
    def from_json(cls, document: str | bytes, keyring: PublicKeyring) -> RevocationList:
        """Parse and verify; raise RevocationListError unless the signature checks out."""
        import json  # here, not at the top: see PublicKeyring.from_json

        try:
            data = json.loads(document)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RevocationListError("the revocation list is not a JSON document") from exc
        if not isinstance(data, dict) or data.get("format") != REVOCATIONS_FORMAT:
            raise RevocationListError(f"the revocation list's format is not {REVOCATIONS_FORMAT!r}")
        key_id = _whole(data.get("key_id"), 255)
        sequence = _whole(data.get("sequence"), (1 << 64) - 1)
        issue_time = _whole(data.get("issue_time"), _MAX_ISSUE_TIME)
        if key_id is None or sequence is None or issue_time is None:
            raise RevocationListError("key_id, sequence and issue_time must be whole numbers in range")
        raw_serials, signature = data.get("serials"), data.get("signature")
        if not isinstance(raw_serials, list):
            raise RevocationListError("serials must be a list of whole numbers")
        serials: list[int] = []
        for value in raw_serials:
            serial = _whole(value, _MAX_SERIAL)
            if serial is None:
                raise RevocationListError("serials must be whole numbers below 2**48")
            serials.append(serial)
        if not isinstance(signature, str):
            raise RevocationListError("the revocation list has no signature")
        key = keyring.keys.get(key_id)
        if key is None:
            raise RevocationListError(
                f"the revocation list is signed by key {key_id}, which this program does not know"
            )
        if key.retired:
            raise RevocationListError(
                f"the revocation list is signed by key {key_id}, which the vendor has retired"
            )
        try:
            signature_bytes = bytes.fromhex(signature)
            if len(signature_bytes) != 64:
                raise ValueError("signature length")
            crypto_sign_open(
                signature_bytes + revocation_message(key_id, sequence, issue_time, serials), key.public_key
            )
        except (ValueError, CryptoError) as exc:
            raise RevocationListError("the revocation list's signature does not check out") from exc
        return cls(
            key_id=key_id,
            sequence=sequence,
            issue_time=dt.datetime.fromtimestamp(issue_time, dt.timezone.utc),
            serials=frozenset(serials),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str], keyring: PublicKeyring) -> RevocationList:
        try:
            with open(path, "rb") as handle:
                document = handle.read()
        except OSError as exc:
            raise RevocationListError(
                f"cannot read the revocation list {os.fspath(path)}: {exc.strerror or exc}"
            ) from exc
        return cls.from_json(document, keyring)
