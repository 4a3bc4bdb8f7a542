"""The raw set-wise writer for bulk chunks, run by the issuer's group committer beside the unary one.

The steps and rules are write_issuances' (issuance_batch.py): a profile found by blind index or
created (the same `_new_profiles_needed` rule), an order found by reference or created and bound
to that profile (`order_conflict` otherwise), a license inserted unless one exists for (order,
product), which must then match (`mismatch`); a serial held by another order asks for the next.
What differs is the cost: the rows come as `Ready` tuples and go to the database as parameter
tuples through one multi-row INSERT per table (storage/issuance_rows.py), with no dataclass per
row, no dict per row and no field conversion per value. tests/server/test_import_pool.py checks
that both writers store the same rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .bulk_lines import Ready
from .errors import LicensingError, Unavailable
from .issuance_batch import (
    RETRY_WITH_NEXT_SERIAL,
    PendingIssue,
    mismatch,
    new_profiles_needed,
    order_conflict,
    store_new_data_keys,
    write_issuances,
)
from .storage.group_commit import PendingWrite
from .storage.issuance_rows import (
    group_time,
    insert_rows,
    licenses_of_orders,
    orders_by_ref,
    profiles_by_index,
    serials_of_orders,
)
from .storage.models import AuditEvent, DataKey, License, Order, Profile, database, keystore, utcnow

__all__ = ["CREATED", "EXISTING", "BulkWrite", "flush_group", "store_data_keys_of_group"]

CREATED, EXISTING = True, False  # a row's outcome when it succeeded
Outcome = bool | LicensingError | object  # CREATED, EXISTING, an error, or RETRY_WITH_NEXT_SERIAL

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


@dataclass(eq=False, kw_only=True)
class BulkWrite(PendingWrite):
    """A chunk of an import, one write for the group committer; `result` becomes one outcome per row."""

    actor: str
    key_id: int
    rows: list[Ready] = field(default_factory=list)


def _split(group: list[PendingWrite]) -> tuple[list[PendingIssue], list[BulkWrite]]:
    singles = [w for w in group if isinstance(w, PendingIssue)]
    chunks = [w for w in group if isinstance(w, BulkWrite)]
    return singles, chunks


def store_data_keys_of_group(group: list[PendingWrite]) -> None:
    """The committer's pre-commit hook for both kinds of write: new profiles' data keys first.

    A bulk row carries a profile only when its order was not stored at the chunk's look-up
    (bulk_issue.py), so only the purchasers are read here, not the orders again."""
    singles, chunks = _split(group)
    if singles:
        store_new_data_keys(singles)
    rows = [row for chunk in chunks for row in chunk.rows if row.new_profile is not None]
    if not rows:
        return
    needed = new_profiles_needed(rows, profiles_by_index({r.email_index for r in rows}), {})
    if needed:
        now = group_time(keystore.obj, utcnow())
        with keystore.obj.atomic():
            insert_rows(
                keystore.obj,
                DataKey,
                ("profile_public_id", "wrapped_key", "create_time"),
                [(p.public_id, p.wrapped_key, now) for p in needed.values()],
            )


def flush_group(group: list[PendingWrite]) -> None:
    """The committer's flush: unary writes first (write_issuances), then the bulk chunks."""
    singles, chunks = _split(group)
    if singles:
        write_issuances(singles)
    if chunks:
        write_chunks(chunks)


def write_chunks(chunks: list[BulkWrite]) -> None:
    """Flush bulk chunks inside the caller's transaction; sets each chunk's `result` (per row).

    Each INSERT returns the rows it inserted (RETURNING, SQLite 3.35+ and PostgreSQL), so only a
    row skipped for a conflict (another writer's, or a serial collision) is read back."""
    db = database.obj
    at = utcnow()
    now = group_time(db, at)
    outcomes: list[list[Outcome]] = [[EXISTING] * len(c.rows) for c in chunks]
    rows = [row for chunk in chunks for row in chunk.rows]
    orders = orders_by_ref({r.order_ref for r in rows})
    stored_orders = {order[0] for order in orders.values()}  # only these can hold licenses yet
    profiles = profiles_by_index({r.email_index for r in rows})
    new_profiles = new_profiles_needed(rows, profiles, orders)
    if new_profiles:
        made = insert_rows(
            db,
            Profile,
            _PROFILE,
            [(p.public_id, p.email_index, p.email_ciphertext, now, False) for p in new_profiles.values()],
            returning=("id", "email_index"),
        )
        profiles.update((bytes(index), (pid, False)) for pid, index in made)
        if len(made) < len(new_profiles):
            profiles.update(profiles_by_index(set(new_profiles) - set(profiles)))

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
            list(new_orders.values()),
            returning=("order_ref", "id", "profile", "test_order"),
        )
        orders.update((ref, (oid, profile_id, bool(test))) for ref, oid, profile_id, test in made)
        if len(made) < len(new_orders):
            raced = set(new_orders) - {ref for ref, *_ in made}
            orders.update(orders_by_ref(raced))
            stored_orders.update(orders[ref][0] for ref in raced if ref in orders)

    # (chunk, row number, row, order id, test order) of the rows whose order is theirs
    live: list[tuple[int, int, Ready, int, bool]] = []
    for c, chunk in enumerate(chunks):
        for n, r in enumerate(chunk.rows):
            profile = profiles.get(r.email_index)
            order = orders.get(r.order_ref)
            if order is not None and (profile is None or order[1] != profile[0]):
                outcomes[c][n] = order_conflict(order[1], r.email_index)
            elif profile is None or order is None:
                outcomes[c][n] = Unavailable(
                    "the purchaser's profile changed during the request; retry", reason="PROFILE_CHANGED"
                )
            else:
                live.append((c, n, r, order[0], order[2]))

    old_orders = {order_id for _, _, _, order_id, _ in live if order_id in stored_orders}
    before = licenses_of_orders(old_orders) if old_orders else {}
    creators: dict[tuple[int, int], tuple[int, int]] = {}  # (order, product) -> (chunk, row number)
    for c, n, r, order_id, _ in live:
        pair = (order_id, r.product)
        if pair not in before and pair not in creators:
            creators[pair] = (c, n)
    inserted: dict[tuple[int, int], int] = {}
    if creators:
        made = insert_rows(
            db,
            License,
            _LICENSE,
            [
                (
                    r.serial,
                    pair[0],
                    r.product,
                    chunks[c].key_id,
                    r.order_time.date(),
                    r.expires,
                    r.updates_until,
                    r.seats,
                    r.edition,
                    r.flags,
                    now,
                )
                for pair, (c, n) in creators.items()
                for r in (chunks[c].rows[n],)
            ],
            returning=("order", "product", "serial"),
        )
        inserted = {(order_id, product): serial for order_id, product, serial in made}
        if len(made) < len(creators):  # skipped: a serial collision, or another writer's license
            inserted.update(serials_of_orders({pair[0] for pair in creators if pair not in inserted}))

    audit: list[tuple[Any, ...]] = []
    consenting: set[int] = set()
    for c, n, r, order_id, _ in live:
        pair = (order_id, r.product)
        if creators.get(pair) == (c, n) and inserted.get(pair) == r.serial:
            outcomes[c][n] = CREATED
            audit.append(
                (now, chunks[c].actor[:64], "issue", f"order:{r.order_ref}", f"serial {r.serial:012X}")
            )
            profile_id, subscribed = profiles[r.email_index]
            if r.newsletter_consent and not subscribed:
                consenting.add(profile_id)
            continue
        row = before.get(pair)
        if row is None and pair in inserted:  # a duplicate of a row earlier in this group
            row = licenses_of_orders({order_id})[pair]
        if row is None:
            outcomes[c][n] = RETRY_WITH_NEXT_SERIAL  # the serial belongs to another order
            continue
        problem = mismatch(row, r.terms, r.issued if r.explicit_order_time else None)
        outcomes[c][n] = problem if problem is not None else EXISTING

    if audit:
        insert_rows(db, AuditEvent, _AUDIT, audit)
    if consenting:
        _subscribe(consenting, at)
    for chunk, outcome in zip(chunks, outcomes, strict=True):
        chunk.result = outcome


def _subscribe(profile_ids: set[int], now: dt.datetime) -> None:
    Profile.update(
        newsletter_subscribed=True,
        newsletter_change_time=now,
        newsletter_source="checkout",
        newsletter_source_sealed=None,
    ).where(Profile.id.in_(list(profile_ids)) & (Profile.newsletter_subscribed == False)).execute()  # noqa: E712 (SQL)
