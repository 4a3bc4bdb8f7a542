"""The public keyring a program is built with: key IDs, Ed25519 public keys, their status.

Document (JSON, written by `licensing keys export-public`):

    {"format": "licensing-keyring/1",
     "keys": [{"key_id": 2, "public_key": "<64 hex>", "status": "active"}, ...],
     "products": {"photo-pro": 1}}

status is "active" (signs new keys), "verify-only" (older, still accepted) or "retired"
(keys it signed are refused with KEY_RETIRED). "products" maps product codes to the numbers
inside keys, so people can name a product instead of a number; it is optional.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .errors import KeyringError

__all__ = ["KEYRING_FORMAT", "KeyStatus", "PublicKey", "PublicKeyring"]

KEYRING_FORMAT = "licensing-keyring/1"
_STATUSES = ("active", "verify-only", "retired")
KeyStatus = str  # one of _STATUSES


@dataclass(frozen=True, slots=True)
class PublicKey:
    key_id: int
    public_key: bytes  # 32 raw bytes
    status: KeyStatus = "active"

    def __post_init__(self) -> None:
        if not isinstance(self.key_id, int) or not 1 <= self.key_id <= 255:
            raise KeyringError("a key_id is a whole number from 1 to 255")
        if not isinstance(self.public_key, bytes) or len(self.public_key) != 32:
            raise KeyringError(f"key {self.key_id}: a public key is exactly 32 bytes")
        if self.status not in _STATUSES:
            raise KeyringError(f"key {self.key_id}: status must be one of {', '.join(_STATUSES)}")

    @property
    def retired(self) -> bool:
        return self.status == "retired"


@dataclass(frozen=True)
class PublicKeyring:
    """The vendor's public keys by key ID, and optionally product codes by name."""

    keys: Mapping[int, PublicKey]
    products: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, keys: Iterable[PublicKey], products: Mapping[str, int] | None = None) -> PublicKeyring:
        by_id: dict[int, PublicKey] = {}
        for key in keys:
            if key.key_id in by_id:
                raise KeyringError(f"key {key.key_id} appears twice")
            by_id[key.key_id] = key
        return cls(keys=by_id, products=dict(products or {}))

    @classmethod
    def from_json(cls, document: str | bytes) -> PublicKeyring:
        try:
            data = json.loads(document)
        except (ValueError, UnicodeDecodeError) as exc:
            raise KeyringError("the keyring is not a JSON document") from exc
        if not isinstance(data, dict) or data.get("format") != KEYRING_FORMAT:
            raise KeyringError(f"the keyring's format is not {KEYRING_FORMAT!r}")
        entries = data.get("keys")
        products = data.get("products", {})
        if not isinstance(entries, list) or not isinstance(products, dict):
            raise KeyringError("the keyring needs a list of keys and an optional products map")
        keys = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise KeyringError("each key in the keyring is an object")
            try:
                public_key = bytes.fromhex(entry["public_key"])
            except (KeyError, TypeError, ValueError) as exc:
                raise KeyringError("each key needs public_key as 64 hex digits") from exc
            keys.append(PublicKey(entry.get("key_id"), public_key, entry.get("status", "active")))
        for code, number in products.items():
            if not isinstance(number, int) or not 1 <= number <= 0xFFFF:
                raise KeyringError(f"product {code!r} needs a number from 1 to 65535")
        return cls.of(keys, products)

    @classmethod
    def load(cls, path: str | Path) -> PublicKeyring:
        """Read a keyring file the program ships beside itself."""
        try:
            return cls.from_json(Path(path).read_bytes())
        except OSError as exc:
            raise KeyringError(f"cannot read the keyring file {path}: {exc.strerror}") from exc

    @classmethod
    def from_package(cls, package: str, resource: str = "keyring.json") -> PublicKeyring:
        """Read a keyring embedded as package data (the usual way to build it into a program)."""
        try:
            return cls.from_json(resources.files(package).joinpath(resource).read_bytes())
        except (OSError, ModuleNotFoundError) as exc:
            raise KeyringError(f"cannot read {resource} from package {package}") from exc

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": KEYRING_FORMAT,
                "keys": [
                    {"key_id": k.key_id, "public_key": k.public_key.hex(), "status": k.status}
                    for k in sorted(self.keys.values(), key=lambda k: k.key_id)
                ],
                "products": dict(sorted(self.products.items())),
            },
            indent=2,
        ) + "\n"

    def product_number(self, product: int | str) -> int:
        """A product number, given either the number or a code named in this keyring."""
        if isinstance(product, int):
            return product
        if product.isdigit():
            return int(product)
        try:
            return self.products[product]
        except KeyError:
            raise KeyringError(f"product {product!r} is not named in the keyring") from None
