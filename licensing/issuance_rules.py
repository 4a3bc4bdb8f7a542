"""The rules of issuing, as the writer applies them to what it finds stored.

One home for what decides an issuance's outcome once the database has been read, for a single
IssueLicense and a bulk import alike (issuance_writer.py applies them to a whole group): which
purchasers get a new profile, when an order belongs to someone else (and why: another purchaser,
an erased one, a corrected address), when a stored license answers a request and when its terms or
order time differ, and the one mapping of a stored license row to a LicenseRecord. The checks of
a request itself (email, order reference, product, dates, seats) are Issuer.checked's
(issuance.py); the serial, derive_serial's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import Conflict
from .profiles import NewProfile
from .records import LicenseRecord, RevocationReason, Terms
from .storage.models import EmailCorrection, Profile

__all__ = [
    "RETRY_WITH_NEXT_SERIAL",
    "IssueResult",
    "license_record",
    "mismatch",
    "new_profiles_needed",
    "order_conflict",
    "terms_of",
]

RETRY_WITH_NEXT_SERIAL = object()  # the serial belongs to another order (a 48-bit collision)


@dataclass(frozen=True, slots=True)
class IssueResult:
    license: LicenseRecord
    created: bool


def terms_of(row: dict[str, Any]) -> Terms:
    return Terms(
        row.get("expires"),
        row.get("updates_until"),
        row.get("seats"),  # type: ignore[arg-type]  # a license row always holds its terms
        row.get("edition"),  # type: ignore[arg-type]
        row.get("flags"),  # type: ignore[arg-type]
    )


def license_record(row: dict[str, Any], product_code: str, order_ref: str, test_order: bool) -> LicenseRecord:
    """The one row-to-record function: a stored license (a compiled query's row, or a model's
    `__data__`, where a field not selected is absent, read as None as the model would). Its key
    is not stored, and is derived by the caller, who has the email."""
    reason = row.get("revocation_reason")
    return LicenseRecord(
        serial=row["serial"],
        product=product_code,
        order_ref=order_ref,
        key_text="",
        key_id=row.get("key_id"),  # type: ignore[arg-type]
        terms=terms_of(row),
        issued=row.get("issued"),  # type: ignore[arg-type]
        test_order=test_order,
        create_time=row.get("create_time"),  # type: ignore[arg-type]
        revoke_time=row.get("revoke_time"),
        revocation_reason=RevocationReason(reason) if reason else None,
        revocation_note=row.get("revocation_note"),
    )


def mismatch(row: dict[str, Any], terms: Terms, issued: dt.date | None) -> Conflict | None:
    """Why a stored license does not answer this request, or None when it does."""
    if terms_of(row) != terms:
        return Conflict(
            "a license for this order and product exists with different terms; nothing was changed",
            reason="ORDER_TERMS_MISMATCH",
        )
    if issued is not None and issued != row["issued"]:
        return Conflict(
            "a license for this order and product exists with a different order_time",
            reason="ORDER_TIME_MISMATCH",
        )
    return None


def order_email_mismatch() -> Conflict:
    return Conflict(
        "order_id is already recorded for a different email address; nothing was changed",
        reason="ORDER_EMAIL_MISMATCH",
    )


def order_conflict(order_profile_id: int, email_index: bytes) -> Conflict:
    """Why an order that belongs to another profile than this email's cannot be answered.

    PROFILE_ERASED: the order's purchaser had their personal data erased (whatever email the
    retry carries: the answer must not confirm a guess). EMAIL_CORRECTED: this email is one the
    purchaser moved away from. Otherwise the order belongs to someone else.
    """
    owner = Profile.select(Profile.email_index).where(Profile.id == order_profile_id).first()
    if owner is None or owner.email_index is None:
        return Conflict(
            "the purchaser of this order had their personal data erased on request; no license key "
            "is issued or shown for this order again (do not retry)",
            reason="PROFILE_ERASED",
        )
    corrected = EmailCorrection.select(EmailCorrection.id).where(
        (EmailCorrection.profile == order_profile_id) & (EmailCorrection.former_index == email_index)
    )
    if corrected.exists():
        return Conflict(
            "the purchaser's email address for this order was corrected on their request; retry "
            "with the corrected address to get the current key",
            reason="EMAIL_CORRECTED",
        )
    return order_email_mismatch()


class WantsProfile(Protocol):
    """What the profile rule reads of a row (issuance_writer.Ready)."""

    @property
    def email_index(self) -> bytes: ...
    @property
    def new_profile(self) -> NewProfile | None: ...
    @property
    def order_ref(self) -> str: ...


def new_profiles_needed(
    rows: Sequence[WantsProfile], profiles: dict[bytes, Any], orders: dict[str, Any]
) -> dict[bytes, NewProfile]:
    """The profiles a group must create: a new email on an order not recorded yet (one per email,
    the first row's).

    An order already recorded belongs to a profile that exists; a retry of it with an email that
    has none (say the erased purchaser's) must not store that email again."""
    needed: dict[bytes, NewProfile] = {}
    for row in rows:
        if row.email_index not in profiles and row.new_profile is not None and row.order_ref not in orders:
            needed.setdefault(row.email_index, row.new_profile)
    return needed
