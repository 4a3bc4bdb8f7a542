"""The offline check of (email, key): bytes and arguments in, a License or a LicenseError out.

No I/O and no clock: `now` is an argument, so a program captures the time once and tests never
patch it. The order of checks is part of the contract (docs/key-format.md, "Validation"): the
signature is checked before any field is believed.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError

from .email import InvalidEmail, email_digest, normalize_email
from .errors import LicenseError, Reason
from .keyformat import PAYLOAD_BYTES, SIGNATURE_BYTES, decode_payload, read_key_bytes, signed_message
from .license import License

if TYPE_CHECKING:  # annotations only: a program that never loads a revocation list skips its module
    from collections.abc import Container

    from .keyring import PublicKeyring

__all__ = ["validate"]

# Where the parts sit in the 89 key bytes (keyformat's layout table).
_SIGNATURE = slice(PAYLOAD_BYTES, PAYLOAD_BYTES + SIGNATURE_BYTES)
_EMAIL_CHECK = slice(10, 12)
_UTC = dt.timezone.utc


def validate(
    key_text: str,
    email: str,
    product: int,
    keyring: PublicKeyring,
    now: dt.datetime,
    *,
    build_date: dt.date | None = None,
    revocations: Container[int] | None = None,
) -> License:
    """Return the license `key_text` grants to `email` for `product` at `now`, or raise LicenseError.

    `now` must be timezone-aware. `build_date` is the program's own build date, checked against
    the license's "updates until" date. `revocations` is a list already verified with
    RevocationList.from_json.
    """
    if now.tzinfo is None:
        raise TypeError("now must be timezone-aware (for example datetime.now(timezone.utc))")
    raw = read_key_bytes(key_text)
    payload = raw[:PAYLOAD_BYTES]
    key_id = raw[1]
    key = keyring.keys.get(key_id)
    if key is None:
        raise LicenseError(
            Reason.UNKNOWN_KEY, f"the key was signed by key {key_id}, which this program does not know"
        )
    if key.retired:
        raise LicenseError(Reason.KEY_RETIRED, f"signing key {key_id} has been retired by the vendor")
    try:
        digest = email_digest(normalize_email(email))
    except InvalidEmail as exc:
        raise LicenseError(Reason.INVALID_EMAIL, str(exc)) from None
    try:
        # crypto_sign_open takes signature | message and raises a CryptoError subclass on failure.
        crypto_sign_open(raw[_SIGNATURE] + signed_message(payload, digest), key.public_key)
    except CryptoError:
        if raw[_EMAIL_CHECK] != digest[:2]:
            raise LicenseError(
                Reason.EMAIL_MISMATCH, "the key was issued to a different email address"
            ) from None
        raise LicenseError(
            Reason.BAD_SIGNATURE, "the key is not genuine: its signature does not check out"
        ) from None
    license = decode_payload(payload)
    check_terms(license, product, now, build_date=build_date, revocations=revocations)
    return license


def check_terms(
    license: License,
    product: int,
    now: dt.datetime,
    *,
    build_date: dt.date | None = None,
    revocations: Container[int] | None = None,
) -> None:
    """Raise LicenseError when a verified license does not hold for this product, time and build."""
    if license.product != product:
        raise LicenseError(
            Reason.WRONG_PRODUCT, f"the key is for product {license.product}, not {product}", license
        )
    if revocations is not None and license.serial in revocations:
        raise LicenseError(Reason.REVOKED, f"license {license.serial_text} has been revoked", license)
    today = now.astimezone(_UTC).date()
    if today < license.issued:
        raise LicenseError(
            Reason.NOT_YET_VALID,
            f"the key is valid from {license.issued.isoformat()}: check the computer's date",
            license,
        )
    if license.expires is not None and today > license.expires:
        raise LicenseError(
            Reason.EXPIRED, f"the license expired at the end of {license.expires.isoformat()}", license
        )
    if build_date is not None and license.updates_until is not None and build_date > license.updates_until:
        raise LicenseError(
            Reason.UPDATES_EXPIRED,
            f"this version was built after the license's updates ended on {license.updates_until.isoformat()}",
            license,
        )
