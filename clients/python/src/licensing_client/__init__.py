"""Offline validation of license keys: `validate(key, email, product, keyring, now)`.

Depends on PyNaCl alone and never imports a network module: the software sends nothing.
"""

from .clock import ClockCheck, check_clock
from .email import InvalidEmail, normalize_email
from .errors import ClientError, KeyringError, LicenseError, Reason, RevocationListError
from .keyring import PublicKey, PublicKeyring
from .license import License
from .revocation import RevocationList
from .validate import validate

__all__ = [
    "ClientError",
    "ClockCheck",
    "InvalidEmail",
    "KeyringError",
    "License",
    "LicenseError",
    "PublicKey",
    "PublicKeyring",
    "Reason",
    "RevocationList",
    "RevocationListError",
    "check_clock",
    "normalize_email",
    "validate",
]
