"""The public keyring document and the records it is made of."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from licensing_client import KeyringError, PublicKey, PublicKeyring

from .conftest import make_keyring

GOOD_KEY = "11" * 32


def _doc(**changes: object) -> str:
    document: dict[str, object] = {
        "format": "licensing-keyring/1",
        "keys": [{"key_id": 2, "public_key": GOOD_KEY, "status": "verify-only"}],
        "products": {"photo-pro": 1},
    }
    document.update(changes)
    return json.dumps(document)


def test_a_keyring_round_trips_through_json() -> None:
    keyring = make_keyring({1: "retired", 3: "active"}, {"photo-pro": 1, "video-max": 2})
    again = PublicKeyring.from_json(keyring.to_json())
    assert again == keyring
    assert again.keys[1].retired and not again.keys[3].retired


def test_status_defaults_to_active_and_products_are_optional() -> None:
    keyring = PublicKeyring.from_json(
        json.dumps({"format": "licensing-keyring/1", "keys": [{"key_id": 4, "public_key": GOOD_KEY}]})
    )
    assert keyring.keys[4].status == "active" and dict(keyring.products) == {}


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ("{", "JSON object"),
        (b"\xff", "JSON object"),
        ("[]", "JSON object"),
        (_doc(format="licensing-keyring/2"), "format"),
        (_doc(keys={}), "list of keys"),
        (_doc(products=[]), "products map"),
        (_doc(keys=["x"]), "is an object"),
        (_doc(keys=[{"key_id": 2}]), "64 hex digits"),
        (_doc(keys=[{"key_id": 2, "public_key": "11" * 31}]), "64 hex digits"),
        (_doc(keys=[{"key_id": 2, "public_key": "zz" * 32}]), "64 hex digits"),
        (_doc(keys=[{"key_id": 2, "public_key": " 1" * 32}]), "64 hex digits"),
        (_doc(keys=[{"key_id": 0, "public_key": GOOD_KEY}]), "1 to 255"),
        (_doc(keys=[{"key_id": 256, "public_key": GOOD_KEY}]), "1 to 255"),
        (_doc(keys=[{"key_id": "2", "public_key": GOOD_KEY}]), "1 to 255"),
        (_doc(keys=[{"key_id": True, "public_key": GOOD_KEY}]), "1 to 255"),
        (_doc(keys=[{"public_key": GOOD_KEY}]), "1 to 255"),
        (_doc(keys=[{"key_id": 2, "public_key": GOOD_KEY, "status": "old"}]), "status"),
        (_doc(keys=[{"key_id": 2, "public_key": GOOD_KEY}] * 2), "twice"),
        (_doc(products={"x": 0}), "1 to 65535"),
        (_doc(products={"x": 65536}), "1 to 65535"),
        (_doc(products={"x": "1"}), "1 to 65535"),
        (_doc(products={"x": True}), "1 to 65535"),
    ],
)
def test_bad_keyrings_are_refused(document: str | bytes, fragment: str) -> None:
    with pytest.raises(KeyringError, match=fragment):
        PublicKeyring.from_json(document)


def test_public_key_checks_its_fields() -> None:
    with pytest.raises(KeyringError):
        PublicKey(1, b"short")
    with pytest.raises(KeyringError):
        PublicKey(1, bytearray(32))  # type: ignore[arg-type]
    key = PublicKey(1, bytes(32))
    with pytest.raises(AttributeError):
        key.status = "retired"
    assert key == PublicKey(1, bytes(32), "active") and hash(key) == hash(PublicKey(1, bytes(32)))
    assert key != PublicKey(1, bytes(32), "retired")
    assert "key_id=1" in repr(key)


def test_product_number() -> None:
    keyring = PublicKeyring.from_json(_doc())
    assert keyring.product_number("photo-pro") == 1
    assert keyring.product_number("12") == 12
    assert keyring.product_number(7) == 7
    for unknown in ("video-max", "\u00b2", "-1", ""):
        with pytest.raises(KeyringError, match="not named"):
            keyring.product_number(unknown)


def test_load_and_from_package(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    path.write_text(_doc(), encoding="utf-8")
    assert PublicKeyring.load(path) == PublicKeyring.load(str(path)) == PublicKeyring.from_json(_doc())
    with pytest.raises(KeyringError, match="cannot read"):
        PublicKeyring.load(tmp_path / "missing.json")
    with pytest.raises(KeyringError, match="cannot read"):
        PublicKeyring.from_package("licensing_client", "no-such-keyring.json")
    with pytest.raises(KeyringError, match="cannot read"):
        PublicKeyring.from_package("no_such_package_here")
