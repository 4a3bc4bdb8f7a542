"""Support staff's side of the domain: find a customer's licenses, export, erase, correct an
email, record consent.

Every action is written to the audit log under the caller's token name, naming the profile by
its opaque ID and licenses by serial, never an email, a key or text typed by staff. A look-up by
key reads the serial out of the key with the validator's own typo-tolerant reader (so a key
pasted with wrong case or dashes is found), then compares the whole key, in constant time, with
the one derived again for the stored license.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import peewee
from licensing_client import LicenseError
from licensing_client.keyformat import decode_payload, parse_key

from . import audit
from .errors import Conflict, InvalidArgument, NotFound
from .inputs import check_email, check_free_text, check_order_ref
from .issuance import derive_serial, record_of, shown
from .license_keys import KeyMaker
from .profiles import SOURCE_PURPOSE, ProfileStore
from .records import LicenseRecord
from .storage.models import (
    AuditEvent,
    EmailCorrection,
    License,
    Order,
    Product,
    Profile,
    SupersededLicense,
    database,
    utcnow,
)

__all__ = ["Correction", "OrderView", "ProfileView", "Support"]

MAX_KEY_INPUT = 400  # a pasted key with generous spacing; anything longer is not a key


@dataclass(frozen=True, slots=True)
class OrderView:
    order_ref: str
    provider: str
    order_time: dt.datetime
    test_order: bool
    licenses: tuple[LicenseRecord, ...]


@dataclass(frozen=True, slots=True)
class ProfileView:
    public_id: str
    email: str | None  # None once erased
    create_time: dt.datetime
    erase_time: dt.datetime | None
    newsletter_subscribed: bool
    newsletter_change_time: dt.datetime | None
    newsletter_source: str | None
    orders: tuple[OrderView, ...]


@dataclass(frozen=True, slots=True)
class Correction:
    """What an email correction did: the profile at its new address, and old serial -> new."""

    profile: ProfileView
    replaced: tuple[tuple[int, int], ...]


class Support:
    def __init__(self, profiles: ProfileStore, keys: KeyMaker) -> None:
        self.profiles = profiles
        self.keys = keys

    # -- look-ups ------------------------------------------------------------------------------

    def find_by_email(self, email: str, actor: str) -> list[ProfileView]:
        profile = self.profiles.find(check_email(email))
        return self._found([profile] if profile else [], actor, "email")

    def find_by_order(self, order_ref: str, actor: str) -> list[ProfileView]:
        order = Order.get_or_none(Order.order_ref == check_order_ref(order_ref))
        return self._found([order.profile] if order else [], actor, "order")

    def find_by_key(self, key_text: str, actor: str) -> list[ProfileView]:
        """The purchaser whose key this is. A live purchaser's key must match the one derived
        again, byte for byte; an erased purchaser's key (nothing left to derive it with) and a key
        replaced by an email correction are found by serial and signing key ID alone."""
        if not key_text or len(key_text) > MAX_KEY_INPUT:
            raise InvalidArgument(
                "license_key", f"must be 1 to {MAX_KEY_INPUT} characters", reason="KEY_INVALID"
            )
        try:
            payload = decode_payload(parse_key(key_text).payload)
        except LicenseError as exc:
            raise InvalidArgument(
                "license_key", f"is not a well-formed key ({exc.reason.value})", reason="KEY_INVALID"
            ) from None
        found: list[Profile] = []
        row = License.get_or_none(License.serial == payload.serial)
        if row is not None and row.key_id == payload.key_id:
            profile = row.order.profile
            email = self.profiles.opened(profile).email
            if email is None or self.keys.same_key(
                key_text, self.keys.key_of(email, record_of(row, "", row.order), row.product_id)
            ):
                found = [profile]
        else:
            old = SupersededLicense.get_or_none(SupersededLicense.serial == payload.serial)
            if old is not None and old.key_id == payload.key_id:
                found = [old.order.profile]
        return self._found(found, actor, "key")

    def _found(self, profiles: list[Profile], actor: str, by: str) -> list[ProfileView]:
        views = [self._view(profile) for profile in profiles]
        with database.atomic():
            target = f"profile:{profiles[0].public_id}" if profiles else "none"
            audit.record(actor, "find", target, f"by {by}, {len(views)} found")
        return views

    def _view(self, profile: Profile) -> ProfileView:
        products = {p.number: p.code for p in Product.select(Product.number, Product.code)}
        opened = self.profiles.opened(profile)
        orders = []
        for order in Order.select().where(Order.profile == profile).order_by(Order.order_time, Order.id):
            licenses = License.select().where(License.order == order).order_by(License.product)
            records = tuple(
                shown(
                    self.keys,
                    record_of(row, products.get(row.product_id, str(row.product_id)), order),
                    row,
                    opened,
                )
                for row in licenses
            )
            orders.append(
                OrderView(order.order_ref, order.provider, order.order_time, order.test_order, records)
            )
        return ProfileView(
            public_id=profile.public_id,
            email=opened.email,
            create_time=profile.create_time,
            erase_time=profile.erase_time,
            newsletter_subscribed=profile.newsletter_subscribed,
            newsletter_change_time=profile.newsletter_change_time,
            newsletter_source=self.profiles.newsletter_source(profile, opened),
            orders=tuple(orders),
        )

    def _require(self, email: str, actor: str, action: str) -> Profile:
        profile = self.profiles.find(check_email(email))
        if profile is None:
            _audit_miss(actor, action)
            raise NotFound("no profile is held for this email address", reason="PROFILE_NOT_FOUND")
        return profile

    # -- data subject requests -----------------------------------------------------------------

    def export(self, email: str, actor: str, today: dt.date) -> str:
        """Everything held about one purchaser, as a JSON document (for a data access request)."""
        profile = self._require(email, actor, "export")
        view = self._view(profile)
        targets = [f"profile:{profile.public_id}", *(f"order:{o.order_ref}" for o in view.orders)]
        history = AuditEvent.select().where(AuditEvent.target.in_(targets)).order_by(AuditEvent.id)
        order_ids = Order.select(Order.id).where(Order.profile == profile.id)
        replaced = (
            SupersededLicense.select()
            .where(SupersededLicense.order.in_(order_ids))
            .order_by(SupersededLicense.supersede_time)
        )
        corrections = (
            EmailCorrection.select().where(EmailCorrection.profile == profile.id).order_by(EmailCorrection.id)
        )
        document = {
            "format": "licensing-profile-export/1",
            "export_time": _iso(utcnow()),
            "profile": {
                "profile_id": view.public_id,
                "email": view.email,
                "create_time": _iso(view.create_time),
                "newsletter": {
                    "subscribed": view.newsletter_subscribed,
                    "change_time": _iso(view.newsletter_change_time),
                    "source": view.newsletter_source,
                },
            },
            "orders": [_order_json(order, today) for order in view.orders],
            # Earlier addresses are kept only as keyed digests (to answer a retry), never in clear.
            "email_corrections": [{"correct_time": _iso(c.correct_time)} for c in corrections],
            "replaced_licenses": [
                {
                    "serial": f"{r.serial:012X}",
                    "replaced_by": f"{r.replaced_by:012X}",
                    "replace_time": _iso(r.supersede_time),
                    "status": "revoked",
                }
                for r in replaced
            ],
            "history": [
                {
                    "time": _iso(e.time),
                    "action": e.action,
                    "target": e.target,
                    "detail": e.detail,
                    "by": e.actor,
                }
                for e in history
            ],
        }
        with database.atomic():
            audit.record(actor, "export", f"profile:{profile.public_id}")
        return json.dumps(document, indent=2, ensure_ascii=False)

    def erase(self, email: str, actor: str) -> tuple[bool, int]:
        """Crypto-shred the profile's email and clear what was written about the purchaser; keep
        their orders and licenses, anonymised.

        Returns (erased, licenses kept). Erasing what is not there is not an error. Raises
        Unavailable (ERASE_NOT_CONFIRMED) when the shred cannot be confirmed on disk yet.
        """
        profile = self.profiles.find(check_email(email))
        if profile is None:
            _audit_miss(actor, "erase")
            return False, 0
        kept = License.select().join(Order).where(Order.profile == profile).count()
        self.profiles.erase(profile)
        with database.atomic():
            audit.record(actor, "erase", f"profile:{profile.public_id}", f"{kept} licenses kept")
        return True, kept

    def set_newsletter_consent(self, email: str, subscribed: bool, source: str, actor: str) -> ProfileView:
        source = check_free_text(source, "source", 64) or "support"
        profile = self._require(email, actor, "consent")
        # The source is staff's text about the purchaser: sealed under their data key.
        sealed = self.profiles.opened(profile).seal(SOURCE_PURPOSE, source)
        with database.atomic():
            Profile.update(
                newsletter_subscribed=subscribed,
                newsletter_change_time=utcnow(),
                newsletter_source=None,
                newsletter_source_sealed=sealed,
            ).where(Profile.id == profile.id).execute()
            audit.record(
                actor,
                "consent",
                f"profile:{profile.public_id}",
                f"newsletter {'on' if subscribed else 'off'}",
            )
        return self._view(Profile.get_by_id(profile.id))

    def correct_email(self, email: str, profile_id: str, new_email: str, actor: str) -> Correction:
        """Move a purchaser to a corrected address, on their request.

        The profile is named by its current email or its profile ID. Every license gets a new
        serial and a key bound to the new address (same terms, signed by the active key); the old
        serial is revoked for good and appears in every revocation list from now on. The former
        address is kept only as a keyed digest, so that the order system's retry with it is told
        EMAIL_CORRECTED; erasure deletes that too.
        """
        new_email = check_email(new_email, "new_email")
        profile = self._named(email, profile_id, actor)
        self._check_new_address(profile, new_email)  # at once, before any lock is taken
        key_id = self.keys.keyring.active_key_id
        replaced: list[tuple[int, int]] = []
        with database.atomic():
            profile = self.profiles.hold(profile)  # before the licenses are read: see hold
            # Again inside the transaction: an issuance may have made the new address a purchaser
            # meanwhile. If one commits it after this look, the move's unique index refuses it.
            self._check_new_address(profile, new_email)
            try:
                self.profiles.move(profile, new_email)
            except peewee.IntegrityError:  # the transaction is rolled back: nothing was changed
                raise _email_in_use() from None
            rows = list(
                License.select(License, Order)
                .join(Order)
                .where(Order.profile == profile.id)
                .order_by(License.serial)
            )
            for row in rows:
                new_serial = _free_serial(row.order.order_ref, row.product_id)
                SupersededLicense.create(
                    serial=row.serial,
                    order=row.order_id,
                    product=row.product_id,
                    key_id=row.key_id,
                    replaced_by=new_serial,
                    supersede_time=utcnow(),
                )
                License.update(serial=new_serial, key_id=key_id).where(License.serial == row.serial).execute()
                audit.record(
                    actor,
                    "reissue",
                    f"order:{row.order.order_ref}",
                    f"serial {row.serial:012X} replaced by {new_serial:012X}",
                )
                replaced.append((row.serial, new_serial))
            audit.record(
                actor, "correct-email", f"profile:{profile.public_id}", f"{len(rows)} licenses reissued"
            )
        return Correction(self._view(Profile.get_by_id(profile.id)), tuple(replaced))

    def _check_new_address(self, profile: Profile, new_email: str) -> None:
        owner = self.profiles.find(new_email)
        if owner is not None and owner.id == profile.id:
            raise InvalidArgument("new_email", "is already the purchaser's address", reason="EMAIL_UNCHANGED")
        if owner is not None:
            raise _email_in_use()

    def _named(self, email: str, profile_id: str, actor: str) -> Profile:
        """A live profile named by exactly one of its email or its profile ID."""
        if bool(email) == bool(profile_id):
            raise InvalidArgument("profile", "give one of email or profile_id", reason="PROFILE_REQUIRED")
        if email:
            return self._require(email, actor, "correct-email")
        if len(profile_id) != 32 or not all(c in "0123456789abcdef" for c in profile_id):
            raise InvalidArgument(
                "profile_id",
                "must be the 32 hexadecimal digits support was shown",
                reason="PROFILE_ID_INVALID",
            )
        profile = Profile.get_or_none((Profile.public_id == profile_id) & Profile.email_index.is_null(False))
        if profile is None:
            _audit_miss(actor, "correct-email")
            raise NotFound(
                "no profile with this profile_id holds an email address", reason="PROFILE_NOT_FOUND"
            )
        return profile


def _free_serial(order_ref: str, product_number: int) -> int:
    """The next serial derived for (order, product) that no license, current or replaced, holds."""
    for attempt in range(1, 256):
        serial = derive_serial(order_ref, product_number, attempt)
        taken = License.select(License.serial).where(License.serial == serial).exists() or (
            SupersededLicense.select(SupersededLicense.serial)
            .where(SupersededLicense.serial == serial)
            .exists()
        )
        if not taken:
            return serial
    raise Conflict("no free serial is left for this order; contact the operator", reason="SERIAL_EXHAUSTED")


def _audit_miss(actor: str, action: str) -> None:
    """A look-up that found nobody is audited too: a run of misses is what guessing looks like."""
    with database.atomic():
        audit.record(actor, action, "none", "by email, 0 found")


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    """Dates as YYYY-MM-DD; times (stored as naive UTC) with their zone, so no reader guesses it."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return None if value is None else value.isoformat()


def _order_json(order: OrderView, today: dt.date) -> dict[str, object]:
    return {
        "order_id": order.order_ref,
        "provider": order.provider,
        "order_time": _iso(order.order_time),
        "test_order": order.test_order,
        "licenses": [_license_json(lic, today) for lic in order.licenses],
    }


def _license_json(lic: LicenseRecord, today: dt.date) -> dict[str, object]:
    return {
        "serial": f"{lic.serial:012X}",
        "product": lic.product,
        "license_key": lic.key_text,
        "status": lic.status(today).value,
        "issued": _iso(lic.issued),
        "expires": _iso(lic.terms.expires),
        "updates_until": _iso(lic.terms.updates_until),
        "seats": lic.terms.seats,
        "edition": lic.terms.edition,
        "feature_flags": lic.terms.flags,
        "revoke_time": _iso(lic.revoke_time),
        "revocation_reason": lic.revocation_reason.value if lic.revocation_reason else None,
        "revocation_note": lic.revocation_note,
    }


def _email_in_use() -> Conflict:
    return Conflict(
        "new_email belongs to another purchaser's profile; nothing was changed (erase or correct that one first)",
        reason="EMAIL_IN_USE",
    )
