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
from ._json import MAX_SAFE_INTEGER, exact_hex, parse_object, whole
from .errors import RevocationListError
from .keyring import PublicKeyring

__all__ = ["REVOCATIONS_FORMAT", "RevocationList", "newest_revocations", "revocation_message"]

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


class RevocationList(Frozen):
    """A revocation list whose signature has been checked against a keyring."""

    __slots__ = ("issue_time", "key_id", "sequence", "serials", "signature")
    key_id: int
    sequence: int
    issue_time: dt.datetime
    serials: frozenset[int]
    signature: bytes

    def __init__(
        self, key_id: int, sequence: int, issue_time: dt.datetime, serials: frozenset[int], signature: bytes
    ) -> None:
        self._set(
            key_id=key_id, sequence=sequence, issue_time=issue_time, serials=serials, signature=signature
        )

    def to_json(self) -> str:
        """The document again (signed bytes are field values, so any spacing verifies the same)."""
        import json

        return json.dumps(
            {
                "format": REVOCATIONS_FORMAT,
                "key_id": self.key_id,
                "sequence": self.sequence,
                "issue_time": int(self.issue_time.timestamp()),
                "serials": sorted(self.serials),
                "signature": self.signature.hex(),
            }
        )

    def __contains__(self, serial: object) -> bool:
        return serial in self.serials

    def newer_than(self, sequence: int) -> bool:
        return self.sequence > sequence

    @classmethod
    def from_json(cls, document: str | bytes, keyring: PublicKeyring) -> RevocationList:
        """Parse and verify; raise RevocationListError unless the signature checks out."""
        data = parse_object(document)
        if data is None:
            raise RevocationListError(
                "the revocation list is not a JSON object (docs/key-format.md section 6)"
            )
        if data.get("format") != REVOCATIONS_FORMAT:
            raise RevocationListError(f"the revocation list's format is not {REVOCATIONS_FORMAT!r}")
        key_id = whole(data.get("key_id"), 0, 255)
        sequence = whole(data.get("sequence"), 0, MAX_SAFE_INTEGER)
        issue_time = whole(data.get("issue_time"), 0, _MAX_ISSUE_TIME)
        if key_id is None or sequence is None or issue_time is None:
            raise RevocationListError("key_id, sequence and issue_time must be whole numbers in range")
        raw_serials = data.get("serials")
        if not isinstance(raw_serials, list):
            raise RevocationListError("serials must be a list of whole numbers")
        serials: list[int] = []
        for value in raw_serials:
            serial = whole(value, 0, _MAX_SERIAL)
            if serial is None:
                raise RevocationListError("serials must be whole numbers below 2**48")
            serials.append(serial)
        signature = exact_hex(data.get("signature"), 64)
        if signature is None:
            raise RevocationListError("the revocation list's signature must be 128 hex digits")
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
            crypto_sign_open(
                signature + revocation_message(key_id, sequence, issue_time, serials), key.public_key
            )
        except (ValueError, CryptoError) as exc:
            raise RevocationListError("the revocation list's signature does not check out") from exc
        return cls(
            key_id=key_id,
            sequence=sequence,
            issue_time=dt.datetime.fromtimestamp(issue_time, dt.timezone.utc),
            serials=frozenset(serials),
            signature=signature,
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


def newest_revocations(shipped: RevocationList | None, kept: RevocationList | None) -> RevocationList | None:
    """The revocation list to use: the one shipped now, unless a newer one was kept from before.

    A program keeps the list this returns (`to_json()`, in its settings) and passes it back as
    `kept` at the next start, like the clock helper's high-water mark. Then reinstalling an
    older build, which ships an older list, cannot un-revoke a key that a newer list revoked.
    Both lists must already be verified against the program's keyring. Pure: no file access.
    """
    if kept is None:
        return shipped
    if shipped is None or kept.sequence > shipped.sequence:
        return kept
    return shipped
