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
import json
import struct
from collections.abc import Iterable
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions

from .errors import RevocationListError
from .keyring import PublicKeyring

__all__ = ["REVOCATIONS_FORMAT", "RevocationList", "revocation_message"]

REVOCATIONS_FORMAT = "licensing-revocations/1"
REVOCATIONS_CONTEXT = b"licensing.v1/revocations\x00"
_HEADER = struct.Struct(">BQQI")  # key_id, sequence, issue_time (Unix seconds), count


def revocation_message(key_id: int, sequence: int, issue_time: int, serials: Iterable[int]) -> bytes:
    """The exact bytes a revocation list's signature covers; serials are sorted and unique."""
    ordered = sorted(set(serials))
    if any(not 0 <= s < 1 << 48 for s in ordered):
        raise ValueError("a serial fits in 48 bits")
    return (
        REVOCATIONS_CONTEXT
        + _HEADER.pack(key_id, sequence, issue_time, len(ordered))
        + b"".join(s.to_bytes(6, "big") for s in ordered)
    )


@dataclass(frozen=True)
class RevocationList:
    """A revocation list whose signature has been checked against a keyring."""

    key_id: int
    sequence: int
    issue_time: dt.datetime
    serials: frozenset[int]

    def __contains__(self, serial: object) -> bool:
        return serial in self.serials

    def newer_than(self, sequence: int) -> bool:
        return self.sequence > sequence

    @classmethod
    def from_json(cls, document: str | bytes, keyring: PublicKeyring) -> RevocationList:
        """Parse and verify; raise RevocationListError unless the signature checks out."""
        try:
            data = json.loads(document)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RevocationListError("the revocation list is not a JSON document") from exc
        if not isinstance(data, dict) or data.get("format") != REVOCATIONS_FORMAT:
            raise RevocationListError(f"the revocation list's format is not {REVOCATIONS_FORMAT!r}")
        key_id, sequence, issue_time = data.get("key_id"), data.get("sequence"), data.get("issue_time")
        serials, signature = data.get("serials"), data.get("signature")
        if not all(isinstance(v, int) and v >= 0 for v in (key_id, sequence, issue_time)):
            raise RevocationListError("key_id, sequence and issue_time must be whole numbers")
        if not isinstance(serials, list) or not all(isinstance(s, int) for s in serials):
            raise RevocationListError("serials must be a list of whole numbers")
        if not isinstance(signature, str):
            raise RevocationListError("the revocation list has no signature")
        key = keyring.keys.get(key_id)  # type: ignore[arg-type]
        if key is None or key.retired:
            raise RevocationListError(f"the revocation list is signed by key {key_id}, which this program does not trust")
        try:
            message = revocation_message(key_id, sequence, issue_time, serials)  # type: ignore[arg-type]
            sig = bytes.fromhex(signature)
            if len(sig) != 64:
                raise ValueError("signature length")
            nacl.bindings.crypto_sign_open(sig + message, key.public_key)
        except (ValueError, struct.error, nacl.exceptions.CryptoError) as exc:
            raise RevocationListError("the revocation list's signature does not check out") from exc
        return cls(
            key_id=key_id,  # type: ignore[arg-type]
            sequence=sequence,  # type: ignore[arg-type]
            issue_time=dt.datetime.fromtimestamp(issue_time, dt.timezone.utc),  # type: ignore[arg-type]
            serials=frozenset(serials),
        )

    @classmethod
    def load(cls, path: str, keyring: PublicKeyring) -> RevocationList:
        try:
            with open(path, "rb") as handle:
                return cls.from_json(handle.read(), keyring)
        except OSError as exc:
            raise RevocationListError(f"cannot read the revocation list {path}: {exc.strerror}") from exc
