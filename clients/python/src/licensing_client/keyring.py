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

import os
from collections.abc import Iterable, Mapping

from ._frozen import Frozen
from ._json import exact_hex, parse_object, whole
from .errors import KeyringError

__all__ = ["KEYRING_FORMAT", "KeyStatus", "PublicKey", "PublicKeyring"]

KEYRING_FORMAT = "licensing-keyring/1"
_STATUSES = ("active", "verify-only", "retired")
KeyStatus = str  # one of _STATUSES


def _is_whole(value: object) -> bool:
    """An int that is not a bool: JSON's true would otherwise pass for key 1."""
    return isinstance(value, int) and not isinstance(value, bool)


class PublicKey(Frozen):
    """One signing key's public half, checked on construction."""

    __slots__ = ("key_id", "public_key", "status")
    key_id: int
    public_key: bytes  # 32 raw bytes
    status: KeyStatus

    def __init__(self, key_id: int, public_key: bytes, status: KeyStatus = "active") -> None:
        if not _is_whole(key_id) or not 1 <= key_id <= 255:
            raise KeyringError("a key_id is a whole number from 1 to 255")
        if not isinstance(public_key, bytes) or len(public_key) != 32:
            raise KeyringError(f"key {key_id}: a public key is exactly 32 bytes")
        if not isinstance(status, str) or status not in _STATUSES:
            raise KeyringError(f"key {key_id}: status must be one of {', '.join(_STATUSES)}")
        self._set(key_id=key_id, public_key=public_key, status=status)

    @property
    def retired(self) -> bool:
        return self.status == "retired"


class PublicKeyring(Frozen):
    """The vendor's public keys by key ID, and optionally product codes by name."""

    __slots__ = ("keys", "products")
    keys: Mapping[int, PublicKey]
    products: Mapping[str, int]

    def __init__(self, keys: Mapping[int, PublicKey], products: Mapping[str, int] | None = None) -> None:
        self._set(keys=keys, products={} if products is None else products)

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
        """Parse a keyring document (docs/key-format.md, section 5); refuse it whole on any fault."""
        data = parse_object(document)
        if data is None:
            raise KeyringError("the keyring is not a JSON object (docs/key-format.md section 5)")
        if data.get("format") != KEYRING_FORMAT:
            raise KeyringError(f"the keyring's format is not {KEYRING_FORMAT!r}")
        entries = data.get("keys")
        products = data.get("products", {})
        if not isinstance(entries, list) or not isinstance(products, dict):
            raise KeyringError("the keyring needs a list of keys and an optional products map")
        keys = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise KeyringError("each key in the keyring is an object")
            key_id = whole(entry.get("key_id"), 1, 255)
            if key_id is None:
                raise KeyringError("a key_id is a whole number from 1 to 255")
            public_key = exact_hex(entry.get("public_key"), 32)
            if public_key is None:
                raise KeyringError(f"key {key_id}: public_key must be exactly 64 hex digits")
            keys.append(PublicKey(key_id, public_key, entry.get("status", "active")))
        numbers = {}
        for code, value in products.items():
            number = whole(value, 1, 0xFFFF)
            if number is None:
                raise KeyringError(f"product {code!r} needs a number from 1 to 65535")
            numbers[code] = number
        return cls.of(keys, numbers)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PublicKeyring:
        """Read a keyring file the program ships beside itself."""
        try:
            with open(path, "rb") as handle:
                document = handle.read()
        except OSError as exc:
            raise KeyringError(
                f"cannot read the keyring file {os.fspath(path)}: {exc.strerror or exc}"
            ) from exc
        return cls.from_json(document)

    @classmethod
    def from_package(cls, package: str, resource: str = "keyring.json") -> PublicKeyring:
        """Read a keyring embedded as package data (the usual way to build it into a program)."""
        # Imported here: importlib.resources brings tempfile, shutil and more (milliseconds at
        # start-up) that a program reading its keyring some other way should not pay for.
        from importlib import resources

        try:
            document = resources.files(package).joinpath(resource).read_bytes()
        except (OSError, ModuleNotFoundError) as exc:
            raise KeyringError(f"cannot read {resource} from package {package}") from exc
        return cls.from_json(document)

    def to_json(self) -> str:
        import json

        return (
            json.dumps(
                {
                    "format": KEYRING_FORMAT,
                    "keys": [
                        {"key_id": k.key_id, "public_key": k.public_key.hex(), "status": k.status}
                        for k in sorted(self.keys.values(), key=lambda k: k.key_id)
                    ],
                    "products": dict(sorted(self.products.items())),
                },
                indent=2,
            )
            + "\n"
        )

    def product_number(self, product: int | str) -> int:
        """A product number, given either the number or a code named in this keyring."""
        if isinstance(product, int):
            return product
        if product.isascii() and product.isdigit():  # not "²", which isdigit() also accepts
            return int(product)
        try:
            return self.products[product]
        except KeyError:
            raise KeyringError(f"product {product!r} is not named in the keyring") from None
