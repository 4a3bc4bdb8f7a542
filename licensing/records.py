"""Plain data the domain hands to its callers (the gRPC edge, the CLI): no Peewee, no protobuf."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

__all__ = ["LicenseRecord", "LicenseStatus", "RevocationReason", "Terms"]


class RevocationReason(enum.Enum):
    REFUND = "refund"
    CHARGEBACK = "chargeback"
    CANCELED = "canceled"
    FRAUD = "fraud"
    OTHER = "other"


class LicenseStatus(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Terms:
    """What the order system asks for; dates are UTC calendar days."""

    expires: dt.date | None = None  # None: perpetual
    updates_until: dt.date | None = None  # None: updates without end
    seats: int = 1
    edition: int = 0
    flags: int = 0


@dataclass(frozen=True, slots=True)
class LicenseRecord:
    serial: int
    product: str
    order_ref: str
    key_text: str
    key_id: int
    terms: Terms
    issued: dt.date
    test_order: bool
    create_time: dt.datetime
    revoke_time: dt.datetime | None = None
    revocation_reason: RevocationReason | None = None
    revocation_note: str | None = None

    def status(self, today: dt.date) -> LicenseStatus:
        """Revocation outranks expiry; a perpetual license never expires."""
        if self.revoke_time is not None:
            return LicenseStatus.REVOKED
        if self.terms.expires is not None and today > self.terms.expires:
            return LicenseStatus.EXPIRED
        return LicenseStatus.VALID
