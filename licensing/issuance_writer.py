"""The one writer of issuances: a group of rows in a handful of set-wise statements.

A write (`RowsWrite`) is one caller's rows: one row for IssueLicense, a chunk for IssueLicenses
(`licensing import`). The group committer (storage/group_commit.py) takes every write waiting and
runs, for the whole group, `store_data_keys` outside the main transaction, then `write_rows`
inside it, and commits once. The rules are issuance_rules.py's, applied to the whole group at
once: a purchaser's profile is found by blind index or created; an order is found by reference
or created, and must belong to that profile; a license is inserted for (order, product) unless
one exists, which must then have the same terms. The SQL is storage/issuance_rows.py's: multi-row
`INSERT ... ON CONFLICT DO NOTHING RETURNING` from parameter tuples (no dict or conversion per
value). RETURNING names the rows this group inserted; a row skipped for a conflict (another
writer's committed first, or a serial that is another order's) is read back whole and judged as a
stored one, so two writers of one license never both answer "created".

Data keys first: `store_data_keys` commits the data keys of the purchasers the group will create
in the key store before the main transaction, so a crash in between leaves at most an unused data
key, never a profile whose email cannot be opened; `write_rows` creates only the profiles whose
key it stored (an address freed by an erasure or a correction meanwhile is answered
PROFILE_CHANGED, and stored on the retry).

On PostgreSQL the profiles read hold their blind index until the group commits (FOR KEY SHARE,
in the same set-wise read): an email correction, which locks its profile FOR UPDATE before it
reads the licenses to reissue, either waits for the group and then sees its licenses, or commits
first, and the group then finds no profile under the old address.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .errors import LicensingError, Unavailable
from .issuance_rules import RETRY_WITH_NEXT_SERIAL, mismatch, new_profiles_needed, order_conflict
from .profiles import NewProfile
from .records import Terms
from .storage.database import use_writer_cache
from .storage.group_commit import PendingWrite
from .storage.issuance_rows import (
    group_time,
    insert_rows,
    licenses_of_orders,
    orders_by_ref,
    profiles_by_index,
)
from .storage.models import AuditEvent, DataKey, License, Order, Profile, database, keystore, utcnow

__all__ = ["Outcome", "Ready", "RowsWrite", "Stored", "ready_values", "store_data_keys", "write_rows"]


class Ready(NamedTuple):
    """A checked request, what the writer stores: its purchaser's blind index, its serial, its
    terms (flat: no object per row), and the purchaser's sealed profile in case they are new
    (None: the order is known to exist, nothing to seal). A named tuple: the bulk path builds
    thousands per second and passes them through a pipe as plain tuples (bulk_lines.from_wire)."""

    position: int  # its line in a bulk stream (0 for a single issuance)
    email_index: bytes
    order_ref: str
    product: int  # the number
    serial: int
    order_time: dt.datetime
    explicit_order_time: bool
    expires: dt.date | None
    updates_until: dt.date | None
    seats: int
    edition: int
    flags: int
    provider: str
    test_order: bool
    newsletter_consent: bool
    new_profile: NewProfile | None

    @property
    def issued(self) -> dt.date:
        return self.order_time.date()

    @property
    def terms(self) -> Terms:
        return Terms(self.expires, self.updates_until, self.seats, self.edition, self.flags)


def ready_values(
    position: int,
    email_index: bytes,
    order_ref: str,
    product: int,
    serial: int,
    order_time: dt.datetime,
    explicit_order_time: bool,
    terms: Terms,
    provider: str,
    test_order: bool,
    newsletter_consent: bool,
    new_profile: tuple[Any, ...] | None,
) -> tuple[Any, ...]:
    """A checked request's row, Ready's fields in their order, as a plain tuple: the one place that
    order is written out, for a single issuance (`Ready._make`) and for a preparation worker, which
    sends the plain tuple through its pipe (bulk_lines.from_wire makes it a Ready again)."""
    return (
        position,
        email_index,
        order_ref,
        product,
        serial,
        order_time,
        explicit_order_time,
        terms.expires,
        terms.updates_until,
        terms.seats,
        terms.edition,
        terms.flags,
        provider,
        test_order,
        newsletter_consent,
        new_profile,
    )


class Stored(NamedTuple):
    """A row's outcome when it succeeded: its license, created now or found as it was stored."""

    created: bool
    test_order: bool  # its order's
    license: dict[str, Any]  # the license row by field name (issuance_rules.license_record reads it)


Outcome = Stored | LicensingError | object  # or RETRY_WITH_NEXT_SERIAL: the serial is another order's


@dataclass(eq=False, kw_only=True)
class RowsWrite(PendingWrite):
    """One caller's rows for the group committer; `result` becomes one Outcome per row, in order."""

    actor: str
    key_id: int  # the signing key the new licenses are issued under
    rows: list[Ready] = field(default_factory=list)


_PROFILE = ("public_id", "email_index", "email_ciphertext", "create_time", "newsletter_subscribed")
_ORDER = ("order_ref", "provider", "profile", "order_time", "test_order", "create_time")
_LICENSE = (
    "serial",
    "order",
    "product",
    "key_id",
    "issued",
    "expires",
    "updates_until",
    "seats",
    "edition",
    "flags",
    "create_time",
)
_AUDIT = ("time", "actor", "action", "target", "detail")


def store_data_keys(group: list[RowsWrite]) -> dict[bytes, str]:
    """The committer's pre-commit hook: the data keys of the profiles the group will create,
    committed in the key store. Returns blind index -> public id of each key stored (write_rows
    creates those profiles and no other)."""
    rows = [row for write in group for row in write.rows if row.new_profile is not None]
    if not rows:
        return {}
    profiles = profiles_by_index({r.email_index for r in rows})
    candidates = [r for r in rows if r.email_index not in profiles]
    if not candidates:  # every purchaser is known: the usual case of a returning customer
        return {}
    needed = new_profiles_needed(candidates, profiles, orders_by_ref({r.order_ref for r in candidates}))
    if needed:
        use_writer_cache(keystore.obj)
        now = group_time(keystore.obj, utcnow())
        with keystore.obj.atomic():
            insert_rows(
                keystore.obj,
                DataKey,
                ("profile_public_id", "wrapped_key", "create_time"),
                [(p.public_id, p.wrapped_key, now) for p in needed.values()],
            )
    return {index: p.public_id for index, p in needed.items()}


def write_rows(group: list[RowsWrite], keyed: dict[bytes, str] | None) -> None:
    """The committer's flush, inside its transaction: sets each write's `result`, an Outcome per row."""
    db = database.obj
    use_writer_cache(db)
    at = utcnow()  # one time for the group's rows: they are committed together
    now = group_time(db, at)
    keyed = keyed or {}
    entries = [(w, r) for w in group for r in w.rows]
    rows = [r for _, r in entries]
    orders = orders_by_ref({r.order_ref for r in rows})
    stored_orders = {order[0] for order in orders.values()}  # only these can hold licenses yet
    profiles = profiles_by_index({r.email_index for r in rows}, hold=True)
    new_profiles = {
        index: profile
        for index, profile in new_profiles_needed(rows, profiles, orders).items()
        if keyed.get(index) == profile.public_id
    }
    made_profiles: dict[bytes, int] = {}  # the profiles this group created: blind index -> id
    if new_profiles:
        made = insert_rows(
            db,
            Profile,
            _PROFILE,
            # In one order of the unique key in every group: two groups (two processes on one
            # PostgreSQL) inserting the same purchasers wait for each other instead of deadlocking.
            [
                (p.public_id, p.email_index, p.email_ciphertext, now, False)
                for _, p in sorted(new_profiles.items())  # by blind index
            ],
            returning=("id", "email_index"),
        )
        made_profiles = {bytes(index): pid for pid, index in made}
        profiles.update((index, (pid, False)) for index, pid in made_profiles.items())
        if len(made) < len(new_profiles):
            profiles.update(profiles_by_index(set(new_profiles) - set(profiles), hold=True))

    new_orders: dict[str, tuple[Any, ...]] = {}
    for r in rows:
        if r.order_ref not in orders and r.order_ref not in new_orders and r.email_index in profiles:
            new_orders[r.order_ref] = (
                r.order_ref,
                r.provider,
                profiles[r.email_index][0],
                r.order_time,
                r.test_order,
                now,
            )
    if new_orders:
        made = insert_rows(
            db,
            Order,
            _ORDER,
            sorted(new_orders.values()),  # in the unique key's order (see the profiles above)
            returning=("order_ref", "id", "profile", "test_order"),
        )
        orders.update((ref, (oid, profile_id, bool(test))) for ref, oid, profile_id, test in made)
        if len(made) < len(new_orders):
            raced = set(new_orders) - {ref for ref, *_ in made}
            orders.update(orders_by_ref(raced))
            stored_orders.update(orders[ref][0] for ref in raced if ref in orders)

    outcomes: dict[int, Outcome] = {}  # by the entry's place in the group
    live: list[tuple[int, RowsWrite, Ready, int, bool]] = []  # (place, write, row, order id, test order)
    for place, (w, r) in enumerate(entries):
        profile = profiles.get(r.email_index)
        order = orders.get(r.order_ref)
        if order is not None and (profile is None or order[1] != profile[0]):
            outcomes[place] = order_conflict(order[1], r.email_index)
        elif profile is None or order is None:
            # Erased or corrected between the hook's look and this write: a rare race, answered busy.
            outcomes[place] = Unavailable(
                "the purchaser's profile changed during the request; retry", reason="PROFILE_CHANGED"
            )
        else:
            live.append((place, w, r, order[0], order[2]))
    _drop_unused_profiles(made_profiles, {profiles[r.email_index][0] for _, _, r, _, _ in live})

    old_orders = {order_id for *_, order_id, _ in live if order_id in stored_orders}
    before = licenses_of_orders(old_orders) if old_orders else {}
    creators: dict[tuple[int, int], tuple[int, RowsWrite, Ready]] = {}  # (order, product) -> its row
    for place, w, r, order_id, _ in live:
        pair = (order_id, r.product)
        if pair not in before and pair not in creators:
            creators[pair] = (place, w, r)
    inserted: set[tuple[int, int]] = set()  # the pairs whose license this group inserted
    if creators:
        made = insert_rows(
            db,
            License,
            _LICENSE,
            sorted(  # in the serial's order (see the profiles above)
                (
                    r.serial,
                    pair[0],
                    r.product,
                    w.key_id,
                    r.issued,
                    r.expires,
                    r.updates_until,
                    r.seats,
                    r.edition,
                    r.flags,
                    now,
                )
                for pair, (_, w, r) in creators.items()
            ),
            returning=("order", "product"),
        )
        inserted = {(order_id, product) for order_id, product in made}
        if len(inserted) < len(creators):
            # Skipped: another writer's license for the pair (committed first), or the serial is
            # another order's (a collision). Only the stored row tells which, and what it holds.
            before.update(licenses_of_orders({pair[0] for pair in creators if pair not in inserted}))

    audit: list[tuple[Any, ...]] = []
    consenting: set[int] = set()
    for place, w, r, order_id, test_order in live:
        pair = (order_id, r.product)
        creator = creators.get(pair)
        if creator is not None and pair in inserted:
            if creator[0] == place:
                outcomes[place] = Stored(True, test_order, _new_license(r, w.key_id, at))
                audit.append((now, w.actor[:64], "issue", f"order:{r.order_ref}", f"serial {r.serial:012X}"))
                profile_id, subscribed = profiles[r.email_index]
                if r.newsletter_consent and not subscribed:
                    consenting.add(profile_id)
                continue
            # A second row for a pair an earlier row of this group created: compared with that one.
            row: dict[str, Any] | None = _new_license(creator[2], creator[1].key_id, at)
        else:
            row = before.get(pair)
        if row is None:
            outcomes[place] = RETRY_WITH_NEXT_SERIAL  # the serial belongs to another order
            continue
        problem = mismatch(row, r.terms, r.issued if r.explicit_order_time else None)
        outcomes[place] = problem if problem is not None else Stored(False, test_order, row)

    if audit:
        insert_rows(db, AuditEvent, _AUDIT, audit)
    if consenting:
        _subscribe(consenting, at)
    place = 0
    for w in group:
        w.result = [outcomes[place + i] for i in range(len(w.rows))]
        place += len(w.rows)


def _drop_unused_profiles(made: dict[bytes, int], used: set[int]) -> None:
    """Delete the profiles this group created that no row ended up using (their order was raced by
    another purchaser's): no email is kept for someone who has no order. Their data keys stay,
    unused, in the key store; a key alone holds nothing personal."""
    unused = [pid for pid in made.values() if pid not in used]
    if unused:
        Profile.delete().where(Profile.id.in_(unused)).execute()


def _new_license(r: Ready, key_id: int, at: dt.datetime) -> dict[str, Any]:
    """A license row just inserted, as licenses_of_orders would read it back."""
    return {
        "serial": r.serial,
        "product": r.product,
        "key_id": key_id,
        "issued": r.issued,
        "expires": r.expires,
        "updates_until": r.updates_until,
        "seats": r.seats,
        "edition": r.edition,
        "flags": r.flags,
        "create_time": at,
    }


def _subscribe(profile_ids: set[int], now: dt.datetime) -> None:
    Profile.update(
        newsletter_subscribed=True,
        newsletter_change_time=now,
        newsletter_source="checkout",
        newsletter_source_sealed=None,
    ).where(Profile.id.in_(list(profile_ids)) & (Profile.newsletter_subscribed == False)).execute()  # noqa: E712 (SQL)
