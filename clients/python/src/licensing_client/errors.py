"""The client's errors and the one enum of reasons a key is refused.

    ClientError                    base of everything this package raises on purpose
    ├── LicenseError               a key is not valid; .reason says why (a Reason)
    ├── KeyringError               a public keyring document cannot be read
    └── RevocationListError        a revocation list is malformed or its signature fails

The server answers its online ValidateKey with the same Reason values, so an offline and an
online check of the same key never disagree. Values are append-only: never renumber or reuse.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .license import License

__all__ = ["ClientError", "KeyringError", "LicenseError", "Reason", "RevocationListError"]


class Reason(enum.Enum):
    """Why a key was refused. The value is the stable text used by the CLI and the server."""

    MALFORMED = "MALFORMED"  # not a well-formed key: a typo, a truncated paste
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION"  # a format version this reader does not know
    UNKNOWN_KEY = "UNKNOWN_KEY"  # signed by a key ID absent from the keyring
    KEY_RETIRED = "KEY_RETIRED"  # signed by a key the vendor has retired
    BAD_SIGNATURE = "BAD_SIGNATURE"  # well-formed but forged or altered
    WRONG_PRODUCT = "WRONG_PRODUCT"  # a genuine key for another product
    EMAIL_MISMATCH = "EMAIL_MISMATCH"  # a genuine key, but not for this email
    INVALID_EMAIL = "INVALID_EMAIL"  # the email given is not an email address
    NOT_YET_VALID = "NOT_YET_VALID"  # issued after `now`: the clock is behind
    EXPIRED = "EXPIRED"  # past its expiry date
    UPDATES_EXPIRED = "UPDATES_EXPIRED"  # this build is newer than the updates period
    REVOKED = "REVOKED"  # listed in the vendor's signed revocation list


class ClientError(Exception):
    """Base class of the errors this package raises."""


class LicenseError(ClientError):
    """The key is not valid for this email, product and time.

    `license` is set when the signature checked out and only the terms failed (EXPIRED,
    UPDATES_EXPIRED, REVOKED, NOT_YET_VALID, WRONG_PRODUCT), so a program can say
    "your license expired on …".
    """

    def __init__(self, reason: Reason, message: str, license: License | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.license = license

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.args[0]}"


class KeyringError(ClientError):
    """A public keyring document is malformed."""


class RevocationListError(ClientError):
    """A revocation list is malformed, from an unknown key, or its signature does not check out."""
