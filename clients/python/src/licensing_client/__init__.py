"""Offline validation of license keys: `validate(key, email, product, keyring, now)`.

Depends on PyNaCl alone and never imports a network module: the software sends nothing.

The clock helper and revocation lists are loaded on first use (PEP 562 ``__getattr__``), so a
program that only validates keys does not pay for them at start-up (docs/benchmarks.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .email import InvalidEmail, normalize_email
from .errors import ClientError, KeyringError, LicenseError, Reason, RevocationListError
from .keyring import PublicKey, PublicKeyring
from .license import License
from .validate import validate

if TYPE_CHECKING:
    from .clock import ClockCheck, check_clock
    from .revocation import RevocationList, newest_revocations

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
    "newest_revocations",
    "normalize_email",
    "validate",
]

_LAZY = {
    "ClockCheck": ".clock",
    "check_clock": ".clock",
    "RevocationList": ".revocation",
    "newest_revocations": ".revocation",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
