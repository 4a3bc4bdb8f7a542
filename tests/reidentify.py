"""An attacker's re-identification of purchasers from copies of files, for the erasure tests.

Given every byte of some files, the vendor's public keyring (shipped inside every program) and a
list of candidate email addresses, find which candidates the files tie to a license. A license
key is the oracle: its signature covers a digest of the purchaser's email, so a key found in the
files confirms a guessed email with one signature check. The attack tries everything a key or
an address could leave behind:

- the address itself (and its local part), in any letter case;
- key text, with or without dashes, in any case (everything the validator's reader accepts);
- keys in binary (any 89-byte window whose version byte and CRC check out);
- unkeyed digests of the address (the key's email digest, SHA-256, BLAKE2b), raw or in hex.

`matched` returns the candidates tied to something, so a test asserts it is empty after an
erasure, and a control (a file holding one live key) shows that the attack does find a match.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

import nacl.exceptions
import nacl.signing
from licensing_client import LicenseError, PublicKeyring
from licensing_client.email import email_digest, normalize_email
from licensing_client.keyformat import (
    FORMAT_VERSION,
    PAYLOAD_BYTES,
    SIGNATURE_BYTES,
    crc16,
    read_key_bytes,
    signed_message,
)

__all__ = ["Finding", "matched", "read_all"]

_KEY_BYTES = PAYLOAD_BYTES + SIGNATURE_BYTES + 2
# Runs of the key alphabet (Crockford base32 and its look-alikes), with optional separators.
_KEY_TEXT = re.compile(rb"[0-9A-Za-z](?:[- ]?[0-9A-Za-z]){120,}")

Finding = tuple[str, str]  # (candidate email, how it was matched)


def read_all(folders: Iterable[Path]) -> list[tuple[str, bytes]]:
    """Every regular file under `folders`, as (name, bytes)."""
    out = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                out.append((str(path), path.read_bytes()))
    return out


def _keys_in(blob: bytes) -> set[bytes]:
    """The raw 89 bytes of every key found in `blob`, as text or as binary."""
    found: set[bytes] = set()
    for match in _KEY_TEXT.finditer(blob):
        text = match.group().decode("ascii")
        # A run may hold a key plus neighbouring characters: try every 143-character window.
        compact = text.replace("-", "").replace(" ", "")
        for start in range(max(1, len(compact) - 142)):
            try:
                found.add(read_key_bytes(compact[start : start + 143]))
            except LicenseError:
                continue
    version = FORMAT_VERSION
    position = blob.find(bytes([version]))
    while position != -1 and position + _KEY_BYTES <= len(blob):
        window = blob[position : position + _KEY_BYTES]
        if crc16(window[:-2]).to_bytes(2, "big") == window[-2:]:
            found.add(window)
        position = blob.find(bytes([version]), position + 1)
    return found


def _signature_confirms(raw: bytes, email: str, keyring: PublicKeyring) -> bool:
    payload, signature = raw[:PAYLOAD_BYTES], raw[PAYLOAD_BYTES : PAYLOAD_BYTES + SIGNATURE_BYTES]
    public = keyring.keys.get(payload[1])
    if public is None:
        return False
    try:
        nacl.signing.VerifyKey(public.public_key).verify(
            signed_message(payload, email_digest(email)), signature
        )
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def matched(
    files: list[tuple[str, bytes]], keyring: PublicKeyring, candidates: Iterable[str]
) -> set[Finding]:
    emails = [normalize_email(c) for c in candidates]
    findings: set[Finding] = set()
    lowered = [(name, blob.lower()) for name, blob in files]
    for email in emails:
        local = email.partition("@")[0].encode()
        for name, blob in lowered:
            if email.encode() in blob or (len(local) >= 6 and local in blob):
                findings.add((email, f"address in {name}"))
        digests = {
            "email digest": email_digest(email),
            "sha256": hashlib.sha256(email.encode()).digest(),
            "blake2b": hashlib.blake2b(email.encode(), digest_size=32).digest(),
        }
        for kind, digest in digests.items():
            for name, blob in files:
                if digest in blob or digest.hex().encode() in blob.lower():
                    findings.add((email, f"{kind} in {name}"))
    keys: set[bytes] = set()
    for _, blob in files:
        keys |= _keys_in(blob)
    for raw in keys:
        for email in emails:
            if _signature_confirms(raw, email, keyring):
                findings.add((email, "a key in the files verifies with this address"))
    return findings
