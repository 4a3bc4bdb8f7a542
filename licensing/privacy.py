"""The purchaser's email under strict confidential protection.

- Look-up never needs the address in clear: `blind_index` is a keyed BLAKE2b digest of the
  normalised email, under a key that lives only in the operator's encrypted keyring.
- Each profile's email is encrypted (XChaCha20-Poly1305) under that profile's own random data
  key, with the profile's public ID as associated data, so a ciphertext copied to another row
  does not decrypt.
- Free text written about the purchaser (a revocation note, where they gave newsletter consent)
  is sealed under the same data key (`seal_text`), so erasure shreds it with the email.
- Data keys are wrapped by the master key (also only in the keyring) and kept in a key store
  separate from the main database. Deleting a profile's data key shreds its email everywhere,
  backups of the main database included.
"""

from __future__ import annotations

import hashlib
import secrets

import nacl.bindings
import nacl.exceptions
import nacl.utils

__all__ = ["DataKeyUnavailable", "EmailVault", "new_public_id"]

_NONCE_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
_KEY_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_KEYBYTES


class DataKeyUnavailable(Exception):
    """The data key is gone (the profile was erased) or does not open: the email is unrecoverable."""


def new_public_id() -> str:
    """An opaque, random profile identifier (it also names the profile's data key)."""
    return secrets.token_hex(16)


class EmailVault:
    """Blind index and envelope encryption for email addresses; holds no per-profile state."""

    def __init__(self, master_key: bytes, blind_index_key: bytes) -> None:
        if len(master_key) != _KEY_BYTES or len(blind_index_key) != 32:
            raise ValueError("the master and blind-index keys are 32 bytes each")
        self._master_key = master_key
        self._blind_index_key = blind_index_key

    def __repr__(self) -> str:
        return "EmailVault(<keys hidden>)"

    def blind_index(self, normalized_email: str) -> bytes:
        return hashlib.blake2b(
            normalized_email.encode("utf-8"),
            key=self._blind_index_key,
            digest_size=32,
            person=b"email-index-v1",
        ).digest()

    def new_data_key(self, public_id: str) -> tuple[bytes, bytes]:
        """A fresh data key and its wrapped form (to store in the key store)."""
        data_key = nacl.utils.random(_KEY_BYTES)
        return data_key, _seal(self._master_key, data_key, b"data-key:" + public_id.encode())

    def unwrap_data_key(self, public_id: str, wrapped: bytes) -> bytes:
        return _open(self._master_key, wrapped, b"data-key:" + public_id.encode())

    @staticmethod
    def encrypt_email(data_key: bytes, public_id: str, normalized_email: str) -> bytes:
        return _seal(data_key, normalized_email.encode("utf-8"), b"profile-email:" + public_id.encode())

    @staticmethod
    def decrypt_email(data_key: bytes, public_id: str, ciphertext: bytes) -> str:
        return _open(data_key, ciphertext, b"profile-email:" + public_id.encode()).decode("utf-8")

    @staticmethod
    def seal_text(data_key: bytes, public_id: str, purpose: str, text: str) -> bytes:
        """Free text about the purchaser under their data key; `purpose` names the field and row
        (e.g. "revocation-note:17:2"), so a sealed value moved to another field does not open."""
        return _seal(data_key, text.encode("utf-8"), f"text:{public_id}:{purpose}".encode())

    @staticmethod
    def open_text(data_key: bytes, public_id: str, purpose: str, sealed: bytes) -> str:
        return _open(data_key, sealed, f"text:{public_id}:{purpose}".encode()).decode("utf-8")


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = nacl.utils.random(_NONCE_BYTES)
    return nonce + nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, aad, nonce, key)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    try:
        return nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            sealed[_NONCE_BYTES:], aad, sealed[:_NONCE_BYTES], key
        )
    except (nacl.exceptions.CryptoError, ValueError) as exc:
        raise DataKeyUnavailable("the sealed value does not open with this key") from exc
