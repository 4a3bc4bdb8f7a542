"""Writes a group of issuances with a handful of set-wise statements (the group committer's flush).

The rules are the ones a single issuance follows, applied to many at once inside one
transaction: a purchaser's profile is found by blind index or created; an order is found by
reference or created, and must belong to that profile; a license is inserted for (order,
product) unless one exists, in which case it must have the same terms. Every insert ignores a
conflict and is followed by a read, so a row another replica (or an earlier write of the same
group) committed first is found and compared rather than failing the group.

On PostgreSQL the profiles read hold their blind index until the group commits (FOR KEY SHARE,
in the same set-wise read): an email correction, which locks its profile FOR UPDATE before it
reads the licenses to reissue, either waits for the group and then sees its licenses, or commits
first, and the group then finds no profile under the old address.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import Conflict, Unavailable
from .profiles import NewProfile
from .records import LicenseRecord, RevocationReason, Terms
from .storage.compiled import insert_ignoring_conflicts
from .storage.group_commit import PendingWrite
from .storage.issuance_rows import licenses_of_orders, orders_by_ref, profiles_by_index, serials_of_orders
from .storage.models import (
    AuditEvent,
    DataKey,
    EmailCorrection,
    License,
    Order,
    Product,
    Profile,
    database,
    keystore,
    utcnow,
)

__all__ = [
    "RETRY_WITH_NEXT_SERIAL",
    "IssueResult",
    "PendingIssue",
    "new_profiles_needed",
    "order_conflict",
    "store_new_data_keys",
    "write_issuances",
]

RETRY_WITH_NEXT_SERIAL = object()  # the serial belongs to another order (a 48-bit collision)


@dataclass(frozen=True, slots=True)
class IssueResult:
    license: LicenseRecord
    created: bool


@dataclass(eq=False, kw_only=True)
class PendingIssue(PendingWrite):
    actor: str
    email_index: bytes
    new_profile: NewProfile | None
    order_ref: str
    provider: str
    order_time: dt.datetime
    explicit_order_time: bool
    test_order: bool
    product: Product
    serial: int
    key_id: int
    key_text: str
    terms: Terms
    newsletter_consent: bool
    data_key_stored: bool = False  # set by store_new_data_keys: new_profile's data key is committed

    @property
    def issued(self) -> dt.date:
        return self.order_time.date()


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


def _record_of_new(w: PendingIssue, now: dt.datetime, test_order: bool) -> LicenseRecord:
    return LicenseRecord(
        serial=w.serial,
        product=w.product.code,
        order_ref=w.order_ref,
        key_text=w.key_text,
        key_id=w.key_id,
        terms=w.terms,
        issued=w.issued,
        test_order=test_order,
        create_time=now,
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
    """What the profile rule reads of a write: a unary PendingIssue or a bulk row (bulk_lines.Ready)."""

    @property
    def email_index(self) -> bytes: ...
    @property
    def new_profile(self) -> NewProfile | None: ...
    @property
    def order_ref(self) -> str: ...


def new_profiles_needed(
    group: Sequence[WantsProfile],
    profiles: dict[bytes, Any],
    orders: dict[str, Any],
    *,
    stored_only: bool = False,
) -> dict[bytes, NewProfile]:
    """The profiles this group must create: a new email on an order not recorded yet (one per email).

    An order already recorded belongs to a profile that exists; a retry of it with an email that
    has none (say the erased purchaser's) must not store that email again. `stored_only`: only
    profiles whose data key the pre-commit hook stored (an address freed by a correction or an
    erasure after the hook looked is answered PROFILE_CHANGED, not stored without its key)."""
    needed: dict[bytes, NewProfile] = {}
    for w in group:
        if (
            w.email_index not in profiles
            and w.new_profile is not None
            and w.order_ref not in orders
            and (not stored_only or getattr(w, "data_key_stored", False))
        ):
            needed.setdefault(w.email_index, w.new_profile)
    return needed


def store_new_data_keys(group: list[PendingIssue]) -> None:
    """The group committer's pre-commit hook: the data keys of the profiles the group will create,
    committed in the key store before the main transaction (a crash in between leaves at most an
    unused data key, never a profile whose email cannot be opened). A write carries a prepared
    profile whether or not its purchaser has one: this set-wise read, once per group, replaces a
    read per call before it was queued."""
    needed = new_profiles_needed(
        group, profiles_by_index({w.email_index for w in group}), orders_by_ref({w.order_ref for w in group})
    )
    for w in group:
        w.data_key_stored = w.new_profile is not None and needed.get(w.email_index) is w.new_profile
    if not needed:
        return
    now = utcnow()  # once per group: a clock read per row was a measurable share of the writer
    with keystore.obj.atomic():
        insert_ignoring_conflicts(
            keystore.obj,
            DataKey,
            [
                {"profile_public_id": p.public_id, "wrapped_key": p.wrapped_key, "create_time": now}
                for p in needed.values()
            ],
        )


def write_issuances(group: list[PendingIssue]) -> None:
    """Flush a group inside the caller's transaction; sets each write's result or error."""
    now = utcnow()  # one time for the group's rows: they are committed together
    orders = orders_by_ref({w.order_ref for w in group})
    profiles = profiles_by_index({w.email_index for w in group}, hold=True)
    new_profiles = new_profiles_needed(group, profiles, orders, stored_only=True)
    if new_profiles:
        insert_ignoring_conflicts(
            database.obj,
            Profile,
            [
                {
                    "public_id": p.public_id,
                    "email_index": p.email_index,
                    "email_ciphertext": p.email_ciphertext,
                    "create_time": now,
                    "newsletter_subscribed": False,
                }
                for p in new_profiles.values()
            ],
        )
        profiles.update(profiles_by_index(set(new_profiles), hold=True))

    new_orders: dict[str, dict[str, Any]] = {}
    for w in group:
        if w.order_ref not in orders and w.order_ref not in new_orders and w.email_index in profiles:
            new_orders[w.order_ref] = {
                "order_ref": w.order_ref,
                "provider": w.provider,
                "profile": profiles[w.email_index][0],
                "order_time": w.order_time,
                "test_order": w.test_order,
                "create_time": now,
            }
    if new_orders:
        insert_ignoring_conflicts(database.obj, Order, list(new_orders.values()))
        orders.update(orders_by_ref(set(new_orders)))

    live: list[tuple[PendingIssue, int, bool]] = []
    for w in group:
        profile = profiles.get(w.email_index)
        order = orders.get(w.order_ref)
        if order is not None and (profile is None or order[1] != profile[0]):
            w.error = order_conflict(order[1], w.email_index)
        elif profile is None or order is None:
            # Erased between the caller's look-up and this write: a rare race, answered as busy.
            w.error = Unavailable(
                "the purchaser's profile changed during the request; retry", reason="PROFILE_CHANGED"
            )
        else:
            live.append((w, order[0], order[2]))
    if not live:
        return

    before = licenses_of_orders({order_id for _, order_id, _ in live})
    creators: dict[tuple[int, int], PendingIssue] = {}
    for w, order_id, _ in live:
        pair = (order_id, w.product.number)
        if pair not in before and pair not in creators:
            creators[pair] = w
    if creators:
        insert_ignoring_conflicts(
            database.obj,
            License,
            [
                {
                    "serial": w.serial,
                    "order": pair[0],
                    "product": w.product.number,
                    "key_id": w.key_id,
                    "issued": w.issued,
                    "expires": w.terms.expires,
                    "updates_until": w.terms.updates_until,
                    "seats": w.terms.seats,
                    "edition": w.terms.edition,
                    "flags": w.terms.flags,
                    "create_time": now,
                }
                for pair, w in creators.items()
            ],
        )
    inserted = serials_of_orders({pair[0] for pair in creators}) if creators else {}

    created: list[PendingIssue] = []
    for w, order_id, test_order in live:
        pair = (order_id, w.product.number)
        if creators.get(pair) is w and inserted.get(pair) == w.serial:
            w.result = IssueResult(_record_of_new(w, now, test_order), created=True)
            created.append(w)
            continue
        row = before.get(pair)
        if row is None and pair in inserted:  # a duplicate of a write earlier in this group
            row = licenses_of_orders({order_id})[pair]
        if row is None:
            w.result = RETRY_WITH_NEXT_SERIAL  # the serial belongs to another order
            continue
        problem = mismatch(row, w.terms, w.issued if w.explicit_order_time else None)
        if problem is not None:
            w.error = problem
            continue
        w.result = IssueResult(license_record(row, w.product.code, w.order_ref, test_order), created=False)

    if created:
        insert_ignoring_conflicts(
            database.obj,
            AuditEvent,
            [
                {
                    "time": now,
                    "actor": w.actor[:64],
                    "action": "issue",
                    "target": f"order:{w.order_ref}",
                    "detail": f"serial {w.serial:012X}",
                }
                for w in created
            ],
        )
        consenting = {
            profiles[w.email_index][0]
            for w in created
            if w.newsletter_consent and not profiles[w.email_index][1]
        }
        if consenting:
            Profile.update(
                newsletter_subscribed=True,
                newsletter_change_time=now,
                newsletter_source="checkout",
                newsletter_source_sealed=None,
            ).where(Profile.id.in_(list(consenting)) & (Profile.newsletter_subscribed == False)).execute()  # noqa: E712 (SQL)
