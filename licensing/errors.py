"""The project's errors: the domain raises these, and the gRPC edge maps them in one place.

    LicensingError                   base; `reason` is a machine-readable UPPER_SNAKE_CASE code
    ├── InvalidArgument              a request field is wrong; `field` names it    → INVALID_ARGUMENT
    ├── NotFound                     no such order, license, product or profile   → NOT_FOUND
    ├── Conflict                     contradicts what is stored (same order, other email or terms)
    │                                                                              → FAILED_PRECONDITION
    ├── AlreadyExists                a name that must be unique is taken          → ALREADY_EXISTS
    ├── Unauthenticated              no token, or an unknown or revoked one       → UNAUTHENTICATED
    ├── PermissionDenied             the token's role may not call this method    → PERMISSION_DENIED
    ├── RateLimited                  too many look-ups; `retry_after` seconds     → RESOURCE_EXHAUSTED
    ├── Unavailable                  the database cannot be reached right now     → UNAVAILABLE
    ├── ConfigurationError           settings or the home folder are not usable (CLI only)
    ├── UsageError                   the command line itself is wrong (CLI only: exit status 2)
    ├── SchemaOutdated               the database needs `licensing migrate`       → FAILED_PRECONDITION
    └── KeyringError                 the signing keyring cannot be used
        ├── WrongPassphrase          wrong passphrase, or the file was changed or damaged
        ├── KeyringCorrupt           not a keyring file, or its header is out of range
        ├── KeyringPermissions       private material readable by group or others
        ├── PassphraseMissing        no passphrase given: names the variables to set
        └── WeakPassphrase           too short or too plain to resist an offline guess (init)

Messages are written for the person who will read them and never contain an email address, a
license key, a token or a secret: they name the field and the problem. Errors of the libraries
underneath (Peewee and its drivers, gRPC on the client side) become these in one place,
`licensing.errormap`, with the original chained.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "ConfigurationError",
    "Conflict",
    "InvalidArgument",
    "KeyringCorrupt",
    "KeyringError",
    "KeyringPermissions",
    "LicensingError",
    "NotFound",
    "PassphraseMissing",
    "PermissionDenied",
    "RateLimited",
    "SchemaOutdated",
    "Unauthenticated",
    "Unavailable",
    "UsageError",
    "WeakPassphrase",
    "WrongPassphrase",
]


class LicensingError(Exception):
    """Base of every error the project raises on purpose."""

    reason = "LICENSING_ERROR"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason

    @property
    def message(self) -> str:
        return str(self.args[0])


class InvalidArgument(LicensingError):
    reason = "INVALID_ARGUMENT"

    def __init__(self, field: str, message: str, *, reason: str | None = None) -> None:
        super().__init__(f"{field}: {message}", reason=reason)
        self.field = field


class NotFound(LicensingError):
    reason = "NOT_FOUND"


class Conflict(LicensingError):
    reason = "CONFLICT"


class AlreadyExists(LicensingError):
    reason = "ALREADY_EXISTS"


class Unauthenticated(LicensingError):
    reason = "UNAUTHENTICATED"


class PermissionDenied(LicensingError):
    reason = "PERMISSION_DENIED"


class RateLimited(LicensingError):
    reason = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(LicensingError):
    reason = "DATABASE_UNAVAILABLE"


class ConfigurationError(LicensingError):
    reason = "CONFIGURATION"


class UsageError(LicensingError):
    reason = "USAGE"


class SchemaOutdated(LicensingError):
    reason = "SCHEMA_OUTDATED"


class KeyringError(LicensingError):
    reason = "KEYRING"


class WrongPassphrase(KeyringError):
    reason = "KEYRING_WRONG_PASSPHRASE"


class KeyringCorrupt(KeyringError):
    reason = "KEYRING_CORRUPT"


class KeyringPermissions(KeyringError):
    reason = "KEYRING_PERMISSIONS"


class PassphraseMissing(KeyringError):
    reason = "KEYRING_PASSPHRASE_MISSING"


class WeakPassphrase(KeyringError):
    reason = "WEAK_PASSPHRASE"
