"""Issuing and revoking licenses: the order system's side of the domain.

Idempotency lives in the database, not in this process: one license per (order, product) is a
unique index, one order per reference another, so retries and racing replicas converge on the
row that committed first, and everyone is answered with that row.

The key is derived, not random: serial = SHA-256 of (product, order reference) cut to 48 bits,
and Ed25519 signatures are deterministic, so the same request gives the same key byte for byte.
The key is never stored (license_keys.py): a retry carries the email and gets the key derived
again; support sees it while the profile's email can be opened.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import TypeVar

from . import audit
from .errors import Conflict, InvalidArgument, LicensingError, NotFound, Unavailable
from .inputs import check_email, check_free_text, check_order_ref, check_provider
from .issuance_rules import IssueResult, license_record
from .issuance_writer import Ready, RowsWrite, Stored, ready_values, store_data_keys, write_rows
from .keyring import Keyring
from .license_keys import KeyMaker
from .products import ProductCatalog
from .profiles import Opened, ProfileStore, note_purpose
from .records import LicenseRecord, LicenseStatus, RevocationReason, Terms
from .storage.group_commit import GroupCommitter
from .storage.models import License, Order, Product, database, keystore, utcnow

__all__ = ["IssueRequest", "IssueResult", "Issuer", "derive_serial", "record_of", "run_writes", "shown"]

MAX_DAY = dt.date(2179, 6, 6)
MIN_DAY = dt.date(2000, 1, 2)
SERIAL_ATTEMPTS = 8  # a 48-bit collision is already ~1 in 500 at a million licenses; 8 is plenty


@dataclass(frozen=True, slots=True)
class IssueRequest:
    email: str
    order_ref: str
    product: str
    terms: Terms = field(default_factory=Terms)
    order_time: dt.datetime | None = None  # naive UTC; None: now
    provider: str = ""
    test_order: bool = False
    newsletter_consent: bool = False


def derive_serial(order_ref: str, product_number: int, attempt: int = 0) -> int:
    """The license serial: a pure function of the order and product (attempt > 0 only on collision)."""
    material = b"licensing.v1/serial\x00" + product_number.to_bytes(2, "big") + order_ref.encode()
    if attempt:
        material += attempt.to_bytes(1, "big")
    return int.from_bytes(hashlib.sha256(material).digest()[:6], "big")


def record_of(row: License, product_code: str, order: Order, key_text: str = "") -> LicenseRecord:
    """The stored license as plain data; its key is derived by the caller, who holds the email.
    The model's own field values go through the one row-to-record function (license_record)."""
    record = license_record(row.__data__, product_code, order.order_ref, order.test_order)
    return replace(record, key_text=key_text) if key_text else record


def shown(keys: KeyMaker, record: LicenseRecord, row: License, opened: Opened) -> LicenseRecord:
    """A stored license as support and the order system see it: its key derived again and its
    note opened, while the purchaser's profile holds an email (neither, once erased)."""
    note = (
        opened.open(note_purpose(row.order_id, row.product_id), row.revocation_note_sealed)
        or row.revocation_note
    )
    return replace(record, key_text=keys.key_of(opened.email, record, row.product_id), revocation_note=note)


T = TypeVar("T")


def run_writes(steps: Generator[list[RowsWrite], None, T], submit: Callable[[list[RowsWrite]], None]) -> T:
    """Drive a generator of writes (Issuer.writing) from a thread, blocking on each group."""
    try:
        writes = next(steps)
        while True:
            submit(writes)
            writes = steps.send(None)
    except StopIteration as finished:
        return finished.value  # type: ignore[no-any-return]


class Issuer:
    def __init__(
        self, keyring: Keyring, profiles: ProfileStore, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self.keyring = keyring
        self.keys = KeyMaker(keyring)
        self.profiles = profiles
        self.clock = clock
        self.products = ProductCatalog()
        # One writer for single issuances and bulk chunks alike (issuance_writer.py).
        self.committer: GroupCommitter[RowsWrite] = GroupCommitter(
            database.obj, write_rows, before_commit=store_data_keys, other_databases=(keystore.obj,)
        )

    def stop(self) -> None:
        self.committer.stop()

    # -- issuing ---------------------------------------------------------------------------

    def issue(self, request: IssueRequest, actor: str) -> IssueResult:
        """Issue (or return) the license for (order, product); answered only once it is durable.

        Everything that can happen before the transaction does (checks, the serial, sealing the
        email in case the purchaser is new) happens on the caller's thread, and nothing is read
        first: the writer's set-wise statements find an existing order, profile or license for the
        whole group at once, so concurrent issuances share one commit and no round trip precedes
        it. The key is signed once the license's values are known (new, or as stored).
        """
        return run_writes(self._issuing(request, actor), self.committer.submit_many)

    async def issue_async(self, request: IssueRequest, actor: str) -> IssueResult:
        """issue() for a coroutine: the CPU-light steps inline, the wait for the group without a thread."""
        steps = self._issuing(request, actor)
        try:
            writes = next(steps)
            while True:
                await self.committer.submit_async(writes)
                writes = steps.send(None)
        except StopIteration as finished:
            return finished.value  # type: ignore[no-any-return]

    def _issuing(self, request: IssueRequest, actor: str) -> Generator[list[RowsWrite], None, IssueResult]:
        row, email, product = self._prepare(request)
        ((row, outcome),) = yield from self.writing([row], actor)
        if isinstance(outcome, LicensingError):
            raise outcome
        record = license_record(outcome.license, product.code, row.order_ref, outcome.test_order)
        return IssueResult(
            replace(record, key_text=self.keys.key_of(email, record, product.number)), outcome.created
        )

    def _prepare(self, request: IssueRequest) -> tuple[Ready, str, Product]:
        """A request checked, its serial derived and its email sealed: the row the writer stores, the
        normalised email (the key is signed with it) and the product.

        The profile is prepared whether or not the purchaser has one (the writer uses it only if
        not): sealing costs less than the read that would tell."""
        email, order_ref, product, order_time, terms = self.checked(
            request.email,
            request.order_ref,
            lambda: self.product(request.product),
            request.order_time,
            request.terms,
        )
        email_index = self.profiles.index_of(email)
        row = Ready._make(
            ready_values(
                0,
                email_index,
                order_ref,
                product.number,
                derive_serial(order_ref, product.number),
                order_time,
                request.order_time is not None,
                terms,
                check_provider(request.provider),
                request.test_order,
                request.newsletter_consent,
                self.profiles.prepare(email, email_index),
            )
        )
        return row, email, product

    def writing(
        self, rows: list[Ready], actor: str
    ) -> Generator[list[RowsWrite], None, list[tuple[Ready, Stored | LicensingError]]]:
        """The writes of `rows`, round after round: a row whose serial belongs to another order (a
        48-bit collision) is written again with the next serial. Returns each row as last written,
        with its outcome (Stored, or a LicensingError). A generator, so that a thread and a
        coroutine share the one rule, each waiting for the writer its own way (run_writes)."""
        done: list[tuple[Ready, Stored | LicensingError]] = []
        for attempt in range(SERIAL_ATTEMPTS):
            if not rows:
                return done
            if attempt:
                rows = [r._replace(serial=derive_serial(r.order_ref, r.product, attempt)) for r in rows]
            write = RowsWrite(actor=actor, key_id=self.keyring.active_key_id, rows=rows)
            yield [write]
            if write.error is not None:
                error = write.error if isinstance(write.error, LicensingError) else Unavailable("retry")
                return done + [(r, error) for r in rows]
            retry = []
            for row, outcome in zip(rows, write.result, strict=True):
                if isinstance(outcome, Stored | LicensingError):
                    done.append((row, outcome))
                else:  # RETRY_WITH_NEXT_SERIAL
                    retry.append(row)
            rows = retry
        exhausted = Conflict(
            "could not allocate a serial for this order; contact the operator", reason="SERIAL_EXHAUSTED"
        )
        return done + [(r, exhausted) for r in rows]

    def checked(
        self,
        email: str,
        order_ref: str,
        product: Callable[[], Product],
        order_time: dt.datetime | None,
        terms: Terms,
        now: dt.datetime | None = None,
    ) -> tuple[str, str, Product, dt.datetime, Terms]:
        """A request's values checked, in the order its errors are reported: the one set of rules
        for a single issuance and for the bulk path (bulk_prepare.py). `product` resolves the code
        (or raises), so that a caller without the database can pass one resolved beforehand;
        `now`, the clock read once for a whole chunk (None: read it now)."""
        email = check_email(email)
        order_ref = check_order_ref(order_ref)
        found = product()
        when = self._check_order_time(order_time, now)
        return email, order_ref, found, when, self._check_terms(terms, when.date())

    def _check_order_time(self, value: dt.datetime | None, now: dt.datetime | None = None) -> dt.datetime:
        if now is None:
            now = self.clock()
        if value is None:
            return now
        if value.date() < MIN_DAY:
            raise InvalidArgument("order_time", "is before 2000-01-02", reason="DATE_OUT_OF_RANGE")
        if value > now + dt.timedelta(days=1):
            raise InvalidArgument("order_time", "is in the future", reason="DATE_OUT_OF_RANGE")
        return value

    @staticmethod
    def _check_terms(terms: Terms, issued: dt.date) -> Terms:
        for name, day in (
            ("terms.expire_time", terms.expires),
            ("terms.updates_until_time", terms.updates_until),
        ):
            if day is not None and not issued <= day <= MAX_DAY:
                raise InvalidArgument(
                    name,
                    f"must be between the order date and {MAX_DAY.isoformat()}",
                    reason="DATE_OUT_OF_RANGE",
                )
        seats = terms.seats or 1
        if not 1 <= seats <= 0xFFFF:
            raise InvalidArgument("terms.seats", "must be 1 to 65535", reason="SEATS_OUT_OF_RANGE")
        if not 0 <= terms.edition <= 0xFF:
            raise InvalidArgument("terms.edition", "must be 0 to 255", reason="EDITION_OUT_OF_RANGE")
        if not 0 <= terms.flags <= 0xFFFF:
            raise InvalidArgument("terms.feature_flags", "must fit in 16 bits", reason="FLAGS_OUT_OF_RANGE")
        return Terms(terms.expires, terms.updates_until, seats, terms.edition, terms.flags)

    # -- reading and revoking ------------------------------------------------------------------

    def product(self, code: str) -> Product:
        return self.products.by_code(code)

    def get(self, order_ref: str, product_code: str, actor: str) -> LicenseRecord:
        """One order's license for one product; hits and misses are both audited (see support.py)."""
        order_ref = check_order_ref(order_ref)
        product = self.product(product_code)
        query = (
            License.select(License, Order)
            .join(Order)
            .where((Order.order_ref == order_ref) & (License.product == product.number))
        )
        row = query.first()
        with database.atomic():
            if row is None:
                audit.record(actor, "get", "none", "by order, 0 found")
            else:
                audit.record(actor, "get", f"order:{order_ref}", f"product {product.code}")
        if row is None:
            raise NotFound("no license for this order_id and product", reason="LICENSE_NOT_FOUND")
        return shown(
            self.keys, record_of(row, product.code, row.order), row, self.profiles.opened(row.order.profile)
        )

    def revoke(
        self, order_ref: str, product_code: str, reason: RevocationReason, note: str, actor: str
    ) -> list[LicenseRecord]:
        """Revoke the order's license for one product, or all of them; revoking again changes nothing."""
        order_ref = check_order_ref(order_ref)
        note = check_free_text(note, "note", 200)
        product = self.product(product_code) if product_code else None
        with database.atomic():
            order = Order.get_or_none(Order.order_ref == order_ref)
            if order is None:
                raise NotFound("no order with this order_id", reason="ORDER_NOT_FOUND")
            query = License.select(License, Product).join(Product).where(License.order == order)
            if product is not None:
                query = query.where(License.product == product.number)
            rows = list(query)
            if not rows:
                raise NotFound("the order has no license for this product", reason="LICENSE_NOT_FOUND")
            # The note is staff's text about the purchaser: sealed under their data key, so that an
            # erasure shreds it (a note on an erased purchaser's license is not kept at all).
            opened = self.profiles.opened(order.profile)
            now = utcnow()
            for row in rows:
                if row.revoke_time is None:
                    row.revoke_time, row.revocation_reason = now, reason.value
                    row.revocation_note_sealed = opened.seal(note_purpose(row.order_id, row.product_id), note)
                    row.save()
                    audit.record(
                        actor, "revoke", f"order:{order_ref}", f"serial {row.serial:012X} {reason.value}"
                    )
        return [shown(self.keys, record_of(row, row.product.code, order), row, opened) for row in rows]

    def list_licenses(
        self,
        *,
        today: dt.date,
        order_ref: str = "",
        product_code: str = "",
        status: LicenseStatus | None = None,
        serial: int = 0,
        after_serial: int = -1,
        limit: int = 100,
    ) -> list[LicenseRecord]:
        """Licenses matching every filter given, in serial order, after `after_serial` (paging).

        Keys are not shown in a list (each would mean opening a purchaser's email); `get` shows one.
        """
        query = License.select(License, Order, Product).join(Order).switch(License).join(Product)
        query = query.where(License.serial > after_serial)
        if order_ref:
            query = query.where(Order.order_ref == check_order_ref(order_ref))
        if product_code:
            query = query.where(License.product == self.product(product_code).number)
        if serial:
            query = query.where(License.serial == serial)
        if status is LicenseStatus.REVOKED:
            query = query.where(License.revoke_time.is_null(False))
        elif status is LicenseStatus.EXPIRED:
            query = query.where(License.revoke_time.is_null() & (License.expires < today))
        elif status is LicenseStatus.VALID:
            query = query.where(
                License.revoke_time.is_null() & (License.expires.is_null() | (License.expires >= today))
            )
        rows = query.order_by(License.serial).limit(limit)
        return [record_of(row, row.product.code, row.order) for row in rows]
