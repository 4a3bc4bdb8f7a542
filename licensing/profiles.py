"""Purchaser profiles: found by blind index, email sealed under a per-profile data key.

The data key is written to the key store before the profile row to the main database (the
group committer does both), so a crash in between leaves at most an unused data key, never a
profile whose email cannot be opened.

Erasure is confirmed or it fails: the data key is deleted, and the key store's files are made
to forget it (see `purge_deleted_rows`) before the profile loses its blind index. A reader that
keeps the old page alive (a running backup) makes the erase answer UNAVAILABLE, and the profile
can still be found by its email to retry; only then is the main database cleared of the
ciphertext, the blind index and every free text written about the purchaser.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NamedTuple

import peewee

from .errors import Unavailable
from .privacy import DataKeyUnavailable, EmailVault, new_public_id
from .storage.database import CheckpointBusy, purge_deleted_rows
from .storage.models import DataKey, EmailCorrection, License, Order, Profile, database, keystore, utcnow

__all__ = ["NewProfile", "Opened", "ProfileStore", "note_purpose"]

log = logging.getLogger("licensing.privacy")


class NewProfile(NamedTuple):
    """What a first purchase stores. A named tuple: the bulk path passes it through a pipe as a
    plain tuple (bulk_lines.from_wire), and builds thousands of them per second."""

    public_id: str
    wrapped_key: bytes
    email_index: bytes
    email_ciphertext: bytes

    def __repr__(self) -> str:
        return f"NewProfile({self.public_id})"


def note_purpose(order_id: int, product: int) -> str:
    """What a revocation note is sealed for: its license's order and product (the serial can change)."""
    return f"revocation-note:{order_id}:{product}"


SOURCE_PURPOSE = "newsletter-source"


@dataclass(frozen=True, slots=True)
class Opened:
    """A profile's secrets, opened once for a view: the email and the data key (None once erased)."""

    vault: EmailVault
    public_id: str
    email: str | None
    data_key: bytes | None

    def __repr__(self) -> str:
        return f"Opened({self.public_id})"

    def open(self, purpose: str, sealed: bytes | None) -> str | None:
        if sealed is None or self.data_key is None:
            return None
        try:
            return self.vault.open_text(self.data_key, self.public_id, purpose, bytes(sealed))
        except DataKeyUnavailable:
            return None

    def seal(self, purpose: str, text: str | None) -> bytes | None:
        """`text` sealed under the data key; None for no text, or once erased (nothing to seal under)."""
        if not text or self.data_key is None:
            return None
        return self.vault.seal_text(self.data_key, self.public_id, purpose, text)


class ProfileStore:
    def __init__(self, vault: EmailVault) -> None:
        self.vault = vault

    def index_of(self, normalized_email: str) -> bytes:
        return self.vault.blind_index(normalized_email)

    def find(self, normalized_email: str) -> Profile | None:
        return Profile.get_or_none(Profile.email_index == self.index_of(normalized_email))

    def prepare(self, normalized_email: str, email_index: bytes | None = None) -> NewProfile:
        """What a first purchase stores: a fresh data key (wrapped) and the email sealed under it.

        Pure computation, done on the caller's thread before the write is queued.
        """
        public_id = new_public_id()
        data_key, wrapped = self.vault.new_data_key(public_id)
        return NewProfile(
            public_id=public_id,
            wrapped_key=wrapped,
            email_index=email_index if email_index is not None else self.index_of(normalized_email),
            email_ciphertext=self.vault.encrypt_email(data_key, public_id, normalized_email),
        )

    def opened(self, profile: Profile) -> Opened:
        data_key = None if profile.email_index is None else self._data_key(profile.public_id)
        email = None
        if data_key is not None and profile.email_ciphertext is not None:
            try:
                email = self.vault.decrypt_email(data_key, profile.public_id, bytes(profile.email_ciphertext))
            except DataKeyUnavailable:
                email = None
        return Opened(self.vault, profile.public_id, email, data_key)

    def newsletter_source(self, profile: Profile, opened: Opened) -> str | None:
        """Where consent was given: staff's text (sealed) or "checkout" (set by an order)."""
        return opened.open(SOURCE_PURPOSE, profile.newsletter_source_sealed) or profile.newsletter_source

    def seal_legacy_text(self) -> int:
        """Seal the free text written in clear before schema 3 (notes, consent sources); returns
        how many values were sealed or, for erased purchasers, cleared. Idempotent."""
        done = 0
        legacy = (
            License.select(License, Order, Profile)
            .join(Order)
            .join(Profile)
            .where(License.revocation_note.is_null(False))
        )
        for row in list(legacy):
            sealed = self.opened(row.order.profile).seal(
                note_purpose(row.order_id, row.product_id), row.revocation_note
            )
            with database.atomic():
                License.update(revocation_note=None, revocation_note_sealed=sealed).where(
                    License.serial == row.serial
                ).execute()
            done += 1
        sources = Profile.select().where(
            Profile.newsletter_source.is_null(False) & (Profile.newsletter_source != "checkout")
        )
        for profile in list(sources):
            sealed = self.opened(profile).seal(SOURCE_PURPOSE, profile.newsletter_source)
            with database.atomic():
                Profile.update(newsletter_source=None, newsletter_source_sealed=sealed).where(
                    Profile.id == profile.id
                ).execute()
            done += 1
        if done:
            try:
                purge_deleted_rows(
                    database.obj, License._meta.table_name, Profile._meta.table_name, rewrite=True
                )
            except CheckpointBusy:
                log.warning("sealing legacy text: the checkpoint was deferred by a reader")
        return done

    def _data_key(self, public_id: str) -> bytes | None:
        wrapped = DataKey.select(DataKey.wrapped_key).where(DataKey.profile_public_id == public_id).scalar()
        if wrapped is None:
            return None
        try:
            return self.vault.unwrap_data_key(public_id, bytes(wrapped))
        except DataKeyUnavailable:
            return None

    def reveal_email(self, profile: Profile) -> str | None:
        """The clear email for support and export; None once the profile has been erased."""
        return self.opened(profile).email

    def hold(self, profile: Profile) -> Profile:
        """The profile read again and locked until the transaction ends (call first inside it).

        On PostgreSQL, FOR UPDATE: an issuance group that read the profile (FOR KEY SHARE) commits
        first, so what follows sees its licenses; one that reads it later waits, then finds the
        new address. SQLite's write transaction holds the one write lock from its start.
        PROFILE_CHANGED when the address changed since the profile was found."""
        query = Profile.select().where(Profile.id == profile.id)
        if isinstance(database.obj, peewee.PostgresqlDatabase):
            query = query.for_update()
        held: Profile | None = query.first()
        if held is None or held.email_index != profile.email_index:
            raise Unavailable(
                "the purchaser's profile changed during the request; retry", reason="PROFILE_CHANGED"
            )
        return held

    def move(self, profile: Profile, new_email: str) -> None:
        """Correct the profile's address (call inside a main-database transaction): the new email
        sealed under the same data key (so sealed notes still open), the new blind index, and the
        former one remembered so that a retry with it is told EMAIL_CORRECTED."""
        data_key = self._data_key(profile.public_id)
        if data_key is None or profile.email_index is None:
            raise Unavailable(
                "the purchaser's data key cannot be opened; nothing was changed",
                reason="DATA_KEY_UNAVAILABLE",
            )
        EmailCorrection.create(
            profile=profile.id, former_index=bytes(profile.email_index), correct_time=utcnow()
        )
        Profile.update(
            email_index=self.index_of(new_email),
            email_ciphertext=self.vault.encrypt_email(data_key, profile.public_id, new_email),
        ).where(Profile.id == profile.id).execute()

    def erase(self, profile: Profile) -> None:
        """Crypto-shred: destroy the data key (confirmed on disk), then clear the profile.

        Raises Unavailable (ERASE_NOT_CONFIRMED) while another connection keeps the key store's
        old page readable; the profile keeps its blind index then, so the same request can retry.
        """
        with keystore.atomic():
            DataKey.delete().where(DataKey.profile_public_id == profile.public_id).execute()
        try:
            purge_deleted_rows(keystore.obj, DataKey._meta.table_name, rewrite=True)
        except CheckpointBusy:
            raise Unavailable(
                "the erasure is not confirmed: another connection (such as a running backup) holds the key "
                "store open, so the erased data key may still be in its file; retry when it has finished",
                reason="ERASE_NOT_CONFIRMED",
            ) from None
        orders = Order.select(Order.id).where(Order.profile == profile.id)
        with database.atomic():
            License.update(revocation_note=None, revocation_note_sealed=None).where(
                License.order.in_(orders)
            ).execute()
            EmailCorrection.delete().where(EmailCorrection.profile == profile.id).execute()
            Profile.update(
                email_index=None,
                email_ciphertext=None,
                erase_time=utcnow(),
                newsletter_subscribed=False,
                newsletter_source=None,
                newsletter_source_sealed=None,
            ).where(Profile.id == profile.id).execute()
        try:
            # The main database holds only sealed or keyed values of the purchaser, and notes now
            # cleared; its checkpoint is not what confirms the erasure, so a busy one is logged.
            purge_deleted_rows(
                database.obj,
                Profile._meta.table_name,
                License._meta.table_name,
                EmailCorrection._meta.table_name,
                attempts=2,
            )
        except CheckpointBusy:
            log.warning(
                "erase: the main database's checkpoint was deferred by a reader; it completes at the next checkpoint"
            )
