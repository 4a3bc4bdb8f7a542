"""Purchaser profiles: found by blind index, email sealed under a per-profile data key.

The data key is written to the key store before the profile row to the main database (the
group committer does both), so a crash in between leaves at most an unused data key, never a
profile whose email cannot be opened.
"""

from __future__ import annotations

from dataclasses import dataclass

from .privacy import DataKeyUnavailable, EmailVault, new_public_id
from .storage.compiled import CompiledQuery, select_in
from .storage.database import purge_deleted_rows
from .storage.models import DataKey, Profile, database, keystore, utcnow

__all__ = ["NewProfile", "ProfileStore"]

_PROFILE_BY_INDEX = CompiledQuery(lambda index: Profile.select(Profile.id).where(Profile.email_index == index), arity=1)


@dataclass(frozen=True, slots=True)
class NewProfile:
    public_id: str
    wrapped_key: bytes
    email_index: bytes
    email_ciphertext: bytes

    def __repr__(self) -> str:
        return f"NewProfile({self.public_id})"


class ProfileStore:
    def __init__(self, vault: EmailVault) -> None:
        self.vault = vault

    def index_of(self, normalized_email: str) -> bytes:
        return self.vault.blind_index(normalized_email)

    def find(self, normalized_email: str) -> Profile | None:
        return Profile.get_or_none(Profile.email_index == self.index_of(normalized_email))

    def exists(self, email_index: bytes) -> bool:
        return _PROFILE_BY_INDEX.first(database.obj, email_index) is not None

    def existing_indexes(self, indexes: list[bytes]) -> set[bytes]:
        """Which of these blind indexes already have a profile (one query)."""
        found: set[bytes] = set()
        for start in range(0, len(indexes), 500):
            rows = select_in(database.obj, [Profile.email_index], Profile.email_index, list(set(indexes[start : start + 500])))
            found.update(bytes(index) for (index,) in rows)
        return found

    def prepare(self, normalized_email: str) -> NewProfile:
        """What a first purchase stores: a fresh data key (wrapped) and the email sealed under it.

        Pure computation, done on the caller's thread before the write is queued.
        """
        public_id = new_public_id()
        data_key, wrapped = self.vault.new_data_key(public_id)
        return NewProfile(
            public_id=public_id,
            wrapped_key=wrapped,
            email_index=self.index_of(normalized_email),
            email_ciphertext=self.vault.encrypt_email(data_key, public_id, normalized_email),
        )

    def reveal_email(self, profile: Profile) -> str | None:
        """The clear email for support and export; None once the profile has been erased."""
        if profile.email_ciphertext is None:
            return None
        row = DataKey.get_or_none(DataKey.profile_public_id == profile.public_id)
        if row is None:
            return None
        try:
            data_key = self.vault.unwrap_data_key(profile.public_id, bytes(row.wrapped_key))
            return self.vault.decrypt_email(data_key, profile.public_id, bytes(profile.email_ciphertext))
        except DataKeyUnavailable:
            return None

    def erase(self, profile: Profile) -> None:
        """Crypto-shred: destroy the data key, then drop the ciphertext and the blind index."""
        with keystore.atomic():
            DataKey.delete().where(DataKey.profile_public_id == profile.public_id).execute()
        purge_deleted_rows(keystore.obj, DataKey._meta.table_name)
        with database.atomic():
            Profile.update(
                email_index=None,
                email_ciphertext=None,
                erase_time=utcnow(),
                newsletter_subscribed=False,
            ).where(Profile.id == profile.id).execute()
