"""The online check of a key: the offline validator's verdict plus the server's revocations.

It calls the very validator the desktop software runs (licensing_client.validate), with the
database standing in for the shipped revocation list, so both answer with the same Reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import cast

from licensing_client import License as KeyLicense
from licensing_client import LicenseError, Reason, validate

from .keyring import Keyring
from .products import ProductCatalog
from .revocations import build_revocation_list
from .storage.compiled import CompiledQuery
from .storage.models import License, Product, SupersededLicense, database

__all__ = ["CurrentRevocations", "ValidationResult", "Validator"]


@dataclass(frozen=True, slots=True)
class CurrentRevocations:
    document: str  # the signed file, as shipped with program updates
    sequence: int
    issue_time: dt.datetime
    serials: list[int]


@dataclass(frozen=True, slots=True)
class ValidationResult:
    reason: Reason | None  # None: valid
    license: KeyLicense | None  # set when the signature checked out
    product_code: str | None

    @property
    def valid(self) -> bool:
        return self.reason is None


_REVOKED = CompiledQuery(
    lambda serial: License.select(License.serial).where(
        (License.serial == serial) & License.revoke_time.is_null(False)
    ),
    arity=1,
)


_REPLACED = CompiledQuery(
    lambda serial: SupersededLicense.select(SupersededLicense.serial).where(
        SupersededLicense.serial == serial
    ),
    arity=1,
)


class _RevokedInDatabase:
    """Answers `serial in revocations` from the licenses table and the serials replaced by an
    email correction (indexed primary-key look-ups)."""

    def __contains__(self, serial: object) -> bool:
        return (
            _REVOKED.first(database.obj, serial) is not None
            or _REPLACED.first(database.obj, serial) is not None
        )


class Validator:
    def __init__(self, keyring: Keyring, products: ProductCatalog | None = None) -> None:
        self.keyring = keyring
        self.public = keyring.public_keyring()  # a running server's keyring does not change
        self.products = products or ProductCatalog()

    def check(
        self, key_text: str, email: str, product_code: str, now: dt.datetime, build_date: dt.date | None
    ) -> ValidationResult:
        product = self.products.by_code(product_code)
        try:
            license = validate(
                key_text,
                email,
                product.number,
                self.public,
                now,
                build_date=build_date,
                revocations=_RevokedInDatabase(),
            )
        except LicenseError as exc:
            code = None if exc.license is None else self.products.code_of(exc.license.product)
            return ValidationResult(exc.reason, exc.license, code)
        return ValidationResult(None, license, product.code)

    def public_document(self) -> str:
        """The public keyring file, with today's product codes, as `keys export-public` writes it."""
        products = {p.code: p.number for p in Product.select(Product.code, Product.number)}
        return self.keyring.public_keyring(products).to_json()

    def revocation_list(self) -> CurrentRevocations:
        """The signed list of every revoked serial, and of every serial an email correction replaced.

        Revocations are never undone, so the count of revoked licenses only grows: it is the
        sequence number, and the time of the latest revocation is the list's issue time. The
        same database state always yields the same document.
        """
        query = (
            License.select(License.serial, License.revoke_time)
            .where(License.revoke_time.is_null(False))
            .order_by(License.serial)
            .tuples()
        )
        replaced = SupersededLicense.select(
            SupersededLicense.serial, SupersededLicense.supersede_time
        ).tuples()
        rows = cast(list[tuple[int, dt.datetime]], list(query) + list(replaced))
        serials = [serial for serial, _ in rows]
        latest = max((when for _, when in rows), default=dt.datetime(1970, 1, 1))
        issue_time = latest.replace(microsecond=0, tzinfo=dt.UTC)
        document = build_revocation_list(self.keyring, serials, len(serials), issue_time)
        return CurrentRevocations(document, len(serials), issue_time.replace(tzinfo=None), serials)
