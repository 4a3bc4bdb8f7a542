"""The reference client's conformance runner: JSON lines in, JSON lines out (tests/vectors/README.md).

    python tests/conformance/runner_python.py < cases.jsonl

Every client has one (clients/js, clients/c); tests/conformance/test_differential.py feeds them the
same lines and requires byte-identical output.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import nacl.bindings
import nacl.exceptions
from licensing_client import (
    ClientError,
    InvalidEmail,
    LicenseError,
    PublicKeyring,
    RevocationList,
    normalize_email,
    validate,
)
from licensing_client.email import email_digest
from licensing_client.keyformat import read_key_bytes


def _email(case: dict[str, Any]) -> dict[str, Any]:
    try:
        normalized = normalize_email(case["email"])
    except InvalidEmail:
        return {"normalized": None}
    return {"normalized": normalized, "digest": email_digest(normalized).hex()}


def _keyring(case: dict[str, Any]) -> dict[str, Any]:
    try:
        keyring = PublicKeyring.from_json(case["keyring"])
    except ClientError:
        return {"ok": False}
    return {
        "ok": True,
        "keys": [
            [k.key_id, k.public_key.hex(), k.status]
            for k in sorted(keyring.keys.values(), key=lambda k: k.key_id)
        ],
        "products": dict(sorted(keyring.products.items())),
    }


def _revocations(case: dict[str, Any]) -> dict[str, Any]:
    try:
        keyring = PublicKeyring.from_json(case["keyring"])
        revocations = RevocationList.from_json(case["revocations"], keyring)
    except ClientError:
        return {"ok": False}
    return {
        "ok": True,
        "key_id": revocations.key_id,
        "sequence": revocations.sequence,
        "issue_time": int(revocations.issue_time.timestamp()),
        "serials": sorted(revocations.serials),
    }


def _parse_now(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def _validate(case: dict[str, Any]) -> dict[str, Any]:
    try:
        keyring = PublicKeyring.from_json(case["keyring"])
    except ClientError:
        return {"error": "KEYRING"}
    revocations = None
    if case.get("revocations") is not None:
        try:
            revocations = RevocationList.from_json(case["revocations"], keyring)
        except ClientError:
            return {"error": "REVOCATIONS"}
    build_date = case.get("build_date")
    try:
        license = validate(
            case["key"],
            case["email"],
            case["product"],
            keyring,
            _parse_now(case["now"]),
            build_date=None if build_date is None else dt.date.fromisoformat(build_date),
            revocations=revocations,
        )
    except LicenseError as error:
        return {"valid": False, "reason": error.reason.value}
    return {"valid": True, "license": license.to_json()}


def _verify(case: dict[str, Any]) -> dict[str, Any]:
    public_key, signature = bytes.fromhex(case["public_key"]), bytes.fromhex(case["signature"])
    if len(public_key) != 32 or len(signature) != 64:
        return {"ok": False}
    try:
        nacl.bindings.crypto_sign_open(signature + bytes.fromhex(case["message"]), public_key)
    except nacl.exceptions.CryptoError:
        return {"ok": False}
    return {"ok": True}


def _decode(case: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"bytes": read_key_bytes(case["key"]).hex()}
    except LicenseError as error:
        return {"reason": error.reason.value}


OPERATIONS = {
    "email": _email,
    "keyring": _keyring,
    "revocations": _revocations,
    "validate": _validate,
    "verify": _verify,
    "decode": _decode,
}


def main() -> int:
    for line in sys.stdin:
        case = json.loads(line)
        result = OPERATIONS[case["op"]](case)
        sys.stdout.write(json.dumps(result, separators=(",", ":")) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
