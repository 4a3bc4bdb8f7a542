"""License keys are derived, never stored.

A key is a pure function of the license's terms, its serial, the signing key and the
purchaser's email (Ed25519 signatures are deterministic), so the server keeps the terms and
derives the key again whenever it must show one: to the order system's retry, which carries the
email, and to support, while the profile's email can still be opened. Once a profile is erased
nothing can derive its keys again, and no copy of the database holds one that a list of
candidate emails could be checked against.
"""

from __future__ import annotations

import datetime as dt
import hmac

from licensing_client import LicenseError
from licensing_client.email import email_digest
from licensing_client.keyformat import encode_payload, format_key, read_key_bytes, signed_message
from licensing_client.license import License as KeyLicense

from .errors import KeyringError
from .keyring import Keyring
from .records import LicenseRecord, Terms

__all__ = ["KeyMaker"]


class KeyMaker:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def key(self, email: str, key_id: int, product: int, serial: int, issued: dt.date, terms: Terms) -> str:
        """The key text for these terms and this (normalised) email, signed by `key_id`."""
        digest = email_digest(email)
        payload = encode_payload(
            KeyLicense(
                key_id=key_id,
                product=product,
                serial=serial,
                issued=issued,
                expires=terms.expires,
                updates_until=terms.updates_until,
                seats=terms.seats,
                edition=terms.edition,
                flags=terms.flags,
            ),
            digest,
        )
        return format_key(payload, self.keyring.sign(key_id, signed_message(payload, digest)))

    def key_of(self, email: str | None, record: LicenseRecord, product_number: int) -> str:
        """The key of a stored license, or "" when it cannot be shown: the purchaser's email was
        erased (None), or the key that signed it is retired (it signs nothing, and programs
        refuse what it signed)."""
        if email is None:
            return ""
        try:
            return self.key(email, record.key_id, product_number, record.serial, record.issued, record.terms)
        except KeyringError:
            return ""

    @staticmethod
    def same_key(pasted: str, derived: str) -> bool:
        """Whether a pasted key (typos of case and dashes tolerated) is `derived`, in constant time."""
        if not derived:
            return False
        try:
            return hmac.compare_digest(read_key_bytes(pasted), read_key_bytes(derived))
        except LicenseError:
            return False
