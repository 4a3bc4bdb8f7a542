"""Shared fixtures of the client tests: the committed vectors and what they describe."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import nacl.signing
import pytest
from licensing_client import License, PublicKey, PublicKeyring, RevocationList
from licensing_client.email import email_digest, normalize_email
from licensing_client.keyformat import encode_payload, format_key, signed_message

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS = REPO_ROOT / "tests" / "vectors"
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


def signing_key(key_id: int) -> nacl.signing.SigningKey:
    """The test signing key for a key ID: the same seeds as the vectors."""
    return nacl.signing.SigningKey(hashlib.sha256(f"licensing test vector key {key_id}".encode()).digest())


def make_license(**fields: Any) -> License:
    """A license with plain defaults (key 3, product 1, issued 2026-01-15, perpetual) and `fields`."""
    values: dict[str, Any] = {
        "key_id": 3,
        "product": 1,
        "serial": 1001,
        "issued": dt.date(2026, 1, 15),
        "expires": None,
        "updates_until": None,
        "seats": 1,
        "edition": 0,
        "flags": 0,
    }
    values.update(fields)
    return License(**values)


def issue(license: License, email: str = "alice@example.com") -> str:
    """The key text the server would issue for `license` and `email`."""
    digest = email_digest(normalize_email(email))
    payload = encode_payload(license, digest)
    signature = signing_key(license.key_id).sign(signed_message(payload, digest)).signature
    return format_key(payload, signature)


def make_keyring(statuses: dict[int, str], products: dict[str, int] | None = None) -> PublicKeyring:
    return PublicKeyring.of(
        [
            PublicKey(key_id, bytes(signing_key(key_id).verify_key), status)
            for key_id, status in statuses.items()
        ],
        products,
    )


def load_generator() -> ModuleType:
    """tests/vectors/generate.py as a module (it is a script, not part of a package)."""
    name = "licensing_vectors_generate"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, VECTORS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def generator() -> ModuleType:
    return load_generator()


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "keys.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def keyring() -> PublicKeyring:
    return PublicKeyring.load(VECTORS / "keyring.json")


@pytest.fixture(scope="session")
def revocations(keyring: PublicKeyring) -> RevocationList:
    return RevocationList.load(VECTORS / "revocations.json", keyring)
