"""Raw Ed25519 verification, exactly as the validator calls it, against public test vectors.

The validator calls ``nacl.bindings.crypto_sign_open(signature + message, public_key)`` and
treats any ``nacl.exceptions.CryptoError`` as a refusal (validate.py). These tests hold that call
to Wycheproof's verdicts, and pin its verdicts on the CCTV edge cases, where implementations
legitimately differ: a PyNaCl or libsodium upgrade that changes which signatures are accepted
fails here, to be looked at, instead of silently changing which license keys are valid.

The vectors are public data copied into tests/vectors/ed25519/ with the note on their sources
and licences kept beside them (README.md there), so a clone tests itself.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import nacl.bindings
import nacl.exceptions
import pytest
from licensing_client import PublicKeyring, validate
from licensing_client.keyformat import read_key_bytes

from .conftest import REPO_ROOT

SHARED_VECTORS = REPO_ROOT / "tests" / "vectors" / "ed25519"

# CCTV ed25519vectors.json: the record numbers PyNaCl 1.6.2 (its bundled libsodium) accepts;
# the other 871 of 914 are refused. Pinned on purpose: update only after reading why they moved.
CCTV_ACCEPTED = frozenset(
    {
        7, 29, 50, 117, 139, 161, 182, 249, 305, 411, 425, 438, 465, 473, 481, 489, 497, 511, 525,
        538, 565, 573, 581, 589, 597, 611, 625, 638, 665, 673, 681, 689, 697, 711, 725, 738, 765,
        773, 781, 789, 797, 832, 899,
    }
)  # fmt: skip
CCTV_RECORDS = 914


def _load(name: str) -> Any:
    path = SHARED_VECTORS / name
    if not path.is_file():
        pytest.fail(f"missing shared test vectors: {path} (expected in tests/vectors/ed25519)")
    return json.loads(path.read_text(encoding="utf-8"))


def _accepts(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """The validator's call: True when it verifies, False on any CryptoError; nothing else escapes."""
    assert len(public_key) == 32  # the keyring guarantees it; libsodium reads 32 bytes regardless
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except nacl.exceptions.CryptoError:
        return False
    return True


def _wycheproof_cases() -> list[tuple[str, bytes, bytes, bytes, str]]:
    data = _load("wycheproof-ed25519_test.json")
    cases = []
    for group in data["testGroups"]:
        public_key = bytes.fromhex(group["publicKey"]["pk"])
        for test in group["tests"]:
            cases.append(
                (
                    f"tc{test['tcId']}",
                    public_key,
                    bytes.fromhex(test["sig"]),
                    bytes.fromhex(test["msg"]),
                    test["result"],
                )
            )
    return cases


def test_shared_vectors_directory_is_found() -> None:
    assert SHARED_VECTORS.is_dir(), f"{SHARED_VECTORS} is missing: the raw Ed25519 tests need it"


def test_wycheproof_verdicts_agree() -> None:
    cases = _wycheproof_cases()
    assert len(cases) == _load("wycheproof-ed25519_test.json")["numberOfTests"]
    disagreements = []
    for name, public_key, signature, message, result in cases:
        accepted = _accepts(public_key, signature, message)  # any other exception fails the test
        if result == "acceptable":
            continue
        if accepted != (result == "valid"):
            disagreements.append(f"{name}: expected {result}, got {'accepted' if accepted else 'refused'}")
    assert not disagreements, "\n".join(disagreements)


def test_wycheproof_has_both_verdicts() -> None:
    """The agreement test above means something only if both outcomes occur."""
    results = [case[4] for case in _wycheproof_cases()]
    assert results.count("valid") > 50 and results.count("invalid") > 50


def test_cctv_accepted_set_is_pinned() -> None:
    records = _load("cctv-ed25519vectors.json")
    assert len(records) == CCTV_RECORDS
    accepted = set()
    for record in records:
        # CCTV's msg is text (UTF-8), unlike Wycheproof's hex.
        if _accepts(bytes.fromhex(record["key"]), bytes.fromhex(record["sig"]), record["msg"].encode()):
            accepted.add(record["number"])
    newly_accepted = sorted(accepted - CCTV_ACCEPTED)
    newly_refused = sorted(CCTV_ACCEPTED - accepted)
    assert not newly_accepted and not newly_refused, (
        f"libsodium's Ed25519 rules changed: now accepted {newly_accepted}, now refused {newly_refused}"
    )
    assert len(accepted) == 43 and CCTV_RECORDS - len(accepted) == 871


def test_validator_makes_the_call_tested_here(
    monkeypatch: pytest.MonkeyPatch, keyring: PublicKeyring, vectors: dict[str, Any]
) -> None:
    """If validate() verified some other way, the verdicts pinned above would not cover it."""
    calls: list[tuple[bytes, bytes]] = []
    real = nacl.bindings.crypto_sign_open

    def spy(signed: bytes, public_key: bytes) -> bytes:
        calls.append((signed, public_key))
        return real(signed, public_key)

    monkeypatch.setattr(sys.modules["licensing_client.validate"], "crypto_sign_open", spy)
    entry = vectors["signed_messages"][0]
    raw = read_key_bytes(entry["key"])
    case = next(c for c in vectors["keys"] if c["key"] == entry["key"] and c["expected"]["valid"])
    validate(case["key"], case["email"], case["product"], keyring, dt.datetime.fromisoformat(case["now"]))
    assert calls == [(raw[23:87] + bytes.fromhex(entry["signed_message"]), keyring.keys[raw[1]].public_key)]
