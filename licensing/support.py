"""Support staff's side of the domain: find a customer's licenses, export, erase, consent.

Every action is written to the audit log under the caller's token name, naming the profile by
its opaque ID, never by its email. A look-up by key reads the serial out of the key with the
validator's own typo-tolerant reader, so a key pasted with wrong case or dashes is found.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from licensing_client import LicenseError
from licensing_client.keyformat import decode_payload, parse_key

from . import audit
from .errors import InvalidArgument, NotFound
from .inputs import check_email, check_free_text, check_order_ref
from .issuance import record_of
from .profiles import ProfileStore
from .records import LicenseRecord
from .storage.models import AuditEvent, License, Order, Product, Profile, database, utcnow

__all__ = ["OrderView", "ProfileView", "Support"]

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


class Support:
    def __init__(self, profiles: ProfileStore) -> None:
        self.profiles = profiles

    # -- look-ups ------------------------------------------------------------------------------

    def find_by_email(self, email: str, actor: str) -> list[ProfileView]:
        profile = self.profiles.find(check_email(email))
        return self._found([profile] if profile else [], actor, "email")

    def find_by_order(self, order_ref: str, actor: str) -> list[ProfileView]:
        order = Order.get_or_none(Order.order_ref == check_order_ref(order_ref))
        return self._found([order.profile] if order else [], actor, "order")

    def find_by_key(self, key_text: str, actor: str) -> list[ProfileView]:
        if not key_text or len(key_text) > MAX_KEY_INPUT:
            raise InvalidArgument("license_key", f"must be 1 to {MAX_KEY_INPUT} characters", reason="KEY_INVALID")
        try:
            serial = decode_payload(parse_key(key_text).payload).serial
        except LicenseError as exc:
            raise InvalidArgument("license_key", f"is not a well-formed key ({exc.reason.value})", reason="KEY_INVALID") from None
        row = License.get_or_none(License.serial == serial)
        return self._found([row.order.profile] if row else [], actor, "key")

    def _found(self, profiles: list[Profile], actor: str, by: str) -> list[ProfileView]:
        views = [self._view(profile) for profile in profiles]
        with database.atomic():
            target = f"profile:{profiles[0].public_id}" if profiles else "none"
            audit.record(actor, "find", target, f"by {by}, {len(views)} found")
        return views

    def _view(self, profile: Profile) -> ProfileView:
        products = {p.number: p.code for p in Product.select(Product.number, Product.code)}
        orders = []
        for order in Order.select().where(Order.profile == profile).order_by(Order.order_time, Order.id):
            licenses = License.select().where(License.order == order).order_by(License.product)
            orders.append(
                OrderView(
                    order.order_ref,
                    order.provider,
                    order.order_time,
                    order.test_order,
                    tuple(record_of(row, products.get(row.product_id, str(row.product_id)), order) for row in licenses),
                )
            )
        return ProfileView(
            public_id=profile.public_id,
            email=self.profiles.reveal_email(profile),
            create_time=profile.create_time,
            erase_time=profile.erase_time,
            newsletter_subscribed=profile.newsletter_subscribed,
            newsletter_change_time=profile.newsletter_change_time,
            newsletter_source=profile.newsletter_source,
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
            "history": [
                {"time": _iso(e.time), "action": e.action, "target": e.target, "by": e.actor} for e in history
            ],
        }
        with database.atomic():
            audit.record(actor, "export", f"profile:{profile.public_id}")
        return json.dumps(document, indent=2, ensure_ascii=False)

    def erase(self, email: str, actor: str) -> tuple[bool, int]:
        """Crypto-shred the profile's email; keep its orders and licenses, anonymised.

        Returns (erased, licenses kept). Erasing what is not there is not an error.
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
        with database.atomic():
            Profile.update(
                newsletter_subscribed=subscribed, newsletter_change_time=utcnow(), newsletter_source=source
            ).where(Profile.id == profile.id).execute()
            audit.record(actor, "consent", f"profile:{profile.public_id}", f"newsletter {'on' if subscribed else 'off'} via {source}")
        return self._view(Profile.get_by_id(profile.id))


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
    }
