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
import hmac
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field, replace

import peewee

from . import audit
from .bulk_writer import flush_group, store_data_keys_of_group
from .errors import Conflict, InvalidArgument, LicensingError, NotFound, Unavailable
from .inputs import check_email, check_free_text, check_order_ref, check_provider
from .issuance_batch import (
    RETRY_WITH_NEXT_SERIAL,
    IssueResult,
    PendingIssue,
    license_record,
    mismatch,
    order_conflict,
)
from .keyring import Keyring
from .license_keys import KeyMaker
from .products import ProductCatalog
from .profiles import NewProfile, Opened, ProfileStore, note_purpose
from .records import LicenseRecord, LicenseStatus, RevocationReason, Terms
from .storage.compiled import CompiledQuery
from .storage.group_commit import GroupCommitter, PendingWrite
from .storage.models import License, Order, Product, Profile, database, keystore, utcnow

__all__ = ["IssueRequest", "IssueResult", "Issuer", "derive_serial", "record_of", "shown"]

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


# The order, its profile's blind index, and its license for one product: the one read an
# issuance makes before deciding to write (compiled once: building it costs more than running it).
_EXISTING = CompiledQuery(
    lambda order_ref, product: (
        Order.select(Order.test_order, Order.profile, Profile.email_index, License)
        .join(Profile)
        .switch(Order)
        .join(License, peewee.JOIN.LEFT_OUTER, on=(License.order == Order.id) & (License.product == product))
        .where(Order.order_ref == order_ref)
    ),
    arity=2,
)


class Issuer:
    def __init__(
        self, keyring: Keyring, profiles: ProfileStore, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self.keyring = keyring
        self.keys = KeyMaker(keyring)
        self.profiles = profiles
        self.clock = clock
        self.products = ProductCatalog()
        # One writer for unary writes and bulk chunks alike (bulk_writer.flush_group dispatches).
        self.committer: GroupCommitter[PendingWrite] = GroupCommitter(
            database.obj, flush_group, before_commit=store_data_keys_of_group, other_databases=(keystore.obj,)
        )

    def stop(self) -> None:
        self.committer.stop()

    # -- issuing ---------------------------------------------------------------------------

    def issue(self, request: IssueRequest, actor: str) -> IssueResult:
        """Issue (or return) the license for (order, product); answered only once it is durable.

        Everything that can happen before the transaction does (checks, signing, sealing the email
        in case the purchaser is new) happens on the caller's thread, and nothing is read first:
        the writer's set-wise statements find an existing order, profile or license for the whole
        group at once, so concurrent issuances share one commit and no round trip precedes it.
        """
        return self._one(self._run(self._rounds([self._prepare(request, actor)])))

    async def issue_async(self, request: IssueRequest, actor: str) -> IssueResult:
        """issue() for a coroutine: the CPU-light steps inline, the wait for the group without a thread."""
        rounds = self._rounds([self._prepare(request, actor)])
        try:
            writes = next(rounds)
            while True:
                await self.committer.submit_async(writes)
                writes = rounds.send(None)
        except StopIteration as finished:
            return self._one(finished.value)

    @staticmethod
    def _one(outcomes: list[IssueResult | LicensingError]) -> IssueResult:
        outcome = outcomes[0]
        if isinstance(outcome, LicensingError):
            raise outcome
        return outcome

    def issue_many(self, requests: Iterable[IssueRequest], actor: str) -> list[IssueResult | LicensingError]:
        """Issue a batch (bulk back-fill): each request succeeds or fails alone, in order.

        The batch goes to the group committer at once, so it is written in as few transactions
        as the group size allows; an existing license or profile is found by the write itself,
        not by a read beforehand. Each distinct email is sealed once.
        """
        outcomes: list[IssueResult | LicensingError | None] = []
        prepared: list[tuple[int, PendingIssue, str]] = []
        sealed: dict[bytes, NewProfile] = {}
        for index, request in enumerate(requests):
            try:
                pending, email = self._prepare(request, actor, sealed)
            except LicensingError as exc:
                outcomes.append(exc)
                continue
            outcomes.append(None)
            prepared.append((index, pending, email))
        results = self._run(self._rounds([(pending, email) for _, pending, email in prepared]))
        for (index, _, _), result in zip(prepared, results, strict=True):
            outcomes[index] = result
        return outcomes  # type: ignore[return-value]

    def _prepare(
        self, request: IssueRequest, actor: str, sealed: dict[bytes, NewProfile] | None = None
    ) -> tuple[PendingIssue, str]:
        """Check a request, sign its key and seal its email; the write it becomes (serial attempt 0).

        The profile is prepared whether or not the purchaser has one (the writer uses it only if
        not): sealing costs less than the read that would tell. `sealed` shares one per email."""
        email, order_ref, product, order_time, terms = self.checked(
            request.email,
            request.order_ref,
            lambda: self.product(request.product),
            request.order_time,
            request.terms,
        )
        key_id = self.keyring.active_key_id
        serial = derive_serial(order_ref, product.number)
        email_index = self.profiles.index_of(email)
        profile = sealed.get(email_index) if sealed is not None else None
        if profile is None:
            profile = self.profiles.prepare(email, email_index)
            if sealed is not None:
                sealed[email_index] = profile
        return PendingIssue(
            actor=actor,
            email_index=email_index,
            new_profile=profile,
            order_ref=order_ref,
            provider=check_provider(request.provider),
            order_time=order_time,
            explicit_order_time=request.order_time is not None,
            test_order=request.test_order,
            product=product,
            serial=serial,
            key_id=key_id,
            key_text=self._sign(email, key_id, product.number, serial, order_time.date(), terms),
            terms=terms,
            newsletter_consent=request.newsletter_consent,
        ), email

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

    def _run(
        self, rounds: Generator[list[PendingIssue], None, list[IssueResult | LicensingError]]
    ) -> list[IssueResult | LicensingError]:
        """Drive `_rounds` from a thread (blocking on each group)."""
        try:
            writes = next(rounds)
            while True:
                self.committer.submit_many(writes)
                writes = rounds.send(None)
        except StopIteration as finished:
            return finished.value  # type: ignore[no-any-return]

    def _rounds(
        self, batch: list[tuple[PendingIssue, str]]
    ) -> Generator[list[PendingIssue], None, list[IssueResult | LicensingError]]:
        """The writes to submit, round after round (a write whose serial collided is retried with
        the next serial); returns each request's outcome. A generator so that a thread and a
        coroutine share the one rule, each waiting for the writer its own way."""
        outcomes: list[IssueResult | LicensingError | None] = [None] * len(batch)
        todo = list(range(len(batch)))
        for attempt in range(SERIAL_ATTEMPTS):
            if attempt:
                for i in todo:
                    pending, email = batch[i]
                    serial = derive_serial(pending.order_ref, pending.product.number, attempt)
                    key_text = self._sign(
                        email, pending.key_id, pending.product.number, serial, pending.issued, pending.terms
                    )
                    fresh = replace(
                        pending, serial=serial, key_text=key_text, submission=None, result=None, error=None
                    )
                    batch[i] = (fresh, email)
            writes = [batch[i][0] for i in todo]
            if not writes:
                break
            yield writes
            retry = []
            for i, write in zip(todo, writes, strict=True):
                if write.error is not None:
                    outcomes[i] = (
                        write.error if isinstance(write.error, LicensingError) else Unavailable("retry")
                    )
                elif write.result is RETRY_WITH_NEXT_SERIAL:
                    retry.append(i)
                else:
                    outcomes[i] = write.result
            todo = retry
            if not todo:
                break
        for i in todo:
            outcomes[i] = Conflict(
                "could not allocate a serial for this order; contact the operator", reason="SERIAL_EXHAUSTED"
            )
        for i, outcome in enumerate(outcomes):
            if isinstance(outcome, IssueResult) and not outcome.created:
                # A stored license: its key is derived again with the email this retry carries.
                outcomes[i] = IssueResult(self._with_key(outcome.license, *batch[i]), created=False)
        return outcomes  # type: ignore[return-value]

    def _with_key(self, record: LicenseRecord, pending: PendingIssue, email: str) -> LicenseRecord:
        """`record` with its key: the one just signed when it matches, else derived again."""
        if (record.serial, record.key_id, record.issued, record.terms) == (
            pending.serial,
            pending.key_id,
            pending.issued,
            pending.terms,
        ):
            return replace(record, key_text=pending.key_text)
        return replace(record, key_text=self.keys.key_of(email, record, pending.product.number))

    def _sign(self, email: str, key_id: int, product: int, serial: int, issued: dt.date, terms: Terms) -> str:
        return self.keys.key(email, key_id, product, serial, issued, terms)

    def _existing(self, pending: PendingIssue, email: str) -> LicenseRecord | None:
        """The stored license for (order, product) if the request matches it; Conflict if not.

        One query: the order, its profile's blind index, and the license for this product. An
        order whose purchaser was erased, or moved to a corrected address, says so (PROFILE_ERASED,
        EMAIL_CORRECTED) rather than "a different email".
        """
        row = _EXISTING.first(database.obj, pending.order_ref, pending.product.number)
        if row is None:
            return None
        stored_index = row["email_index"]
        if stored_index is None or not hmac.compare_digest(bytes(stored_index), pending.email_index):
            raise order_conflict(row["profile"], pending.email_index)
        if row["serial"] is None:
            return None
        problem = mismatch(row, pending.terms, pending.issued if pending.explicit_order_time else None)
        if problem is not None:
            raise problem
        record = license_record(row, pending.product.code, pending.order_ref, row["test_order"])
        return self._with_key(record, pending, email)

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
