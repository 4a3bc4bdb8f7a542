"""API tokens: who may call, and in which role.

A token is 32 random bytes shown once at creation (`lic_` + URL-safe base64); the database keeps
only its SHA-256, so a database leak yields no usable token. Roles are coarse on purpose:
`issuer` (the order system), `support` (staff look-ups), `admin` (the operator, everything).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

import peewee

from .errors import AlreadyExists, InvalidArgument, NotFound, Unauthenticated
from .storage.compiled import CompiledQuery
from .storage.models import ApiToken, database, utcnow

__all__ = [
    "CACHE_SECONDS",
    "Caller",
    "Role",
    "TokenInfo",
    "authenticate",
    "cached_caller",
    "create_token",
    "forget_cached_tokens",
    "list_tokens",
    "revoke_token",
]

TOKEN_PREFIX = "lic_"
# A cache miss runs this look-up; a hit is answered from memory (see CACHE_SECONDS).
_BY_HASH = CompiledQuery(
    lambda digest: ApiToken.select(
        ApiToken.name, ApiToken.role, ApiToken.token_hash, ApiToken.revoke_time
    ).where(ApiToken.token_hash == digest),
    arity=1,
)
# How long a token found valid is trusted without reading the database again. This bounds how long
# a token revoked by another process (`licensing tokens revoke`, another replica) may still be
# accepted by a server; a revocation in the same process empties the cache at once.
CACHE_SECONDS = 2.0
_cache: dict[bytes, tuple[Caller, float]] = {}  # digest -> (caller, monotonic time it expires)
_CACHE_MAX = 10_000  # tokens are few; a flood of distinct valid ones only empties the cache
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Role(enum.Enum):
    ISSUER = "issuer"
    SUPPORT = "support"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of one request."""

    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class TokenInfo:
    name: str
    role: Role
    create_time: dt.datetime
    revoke_time: dt.datetime | None


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def create_token(name: str, role: Role) -> str:
    """Store a new token and return it; this is the only time the token exists in clear."""
    if not _NAME.fullmatch(name):
        raise InvalidArgument("name", "must be 1 to 64 letters, digits, dots, underscores or hyphens")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        ApiToken.create(name=name, role=role.value, token_hash=_hash(token))
    except peewee.IntegrityError:
        raise AlreadyExists(f"a token named {name!r} exists already") from None
    return token


def cached_caller(token: str) -> Caller | None:
    """The caller of `token` if it was found valid less than CACHE_SECONDS ago, else None (look it up).

    The digest is the cache key, so the cache holds no token in clear; a dict look-up by digest
    reveals nothing a timing attacker can steer (the digest of a guess is not under their control).
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    entry = _cache.get(_hash(token))
    if entry is None or entry[1] < time.monotonic():
        return None
    return entry[0]


def forget_cached_tokens() -> None:
    _cache.clear()


def authenticate(token: str) -> Caller:
    """The caller a bearer token belongs to, or Unauthenticated (never saying which part failed)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthenticated("the token is not valid", reason="TOKEN_INVALID")
    digest = _hash(token)
    row = _BY_HASH.first(database.obj, digest)
    # The look-up is by a digest the caller cannot steer; compare again in constant time anyway.
    if (
        row is None
        or not hmac.compare_digest(bytes(row["token_hash"]), digest)
        or row["revoke_time"] is not None
    ):
        _cache.pop(digest, None)
        raise Unauthenticated("the token is not valid or has been revoked", reason="TOKEN_INVALID")
    caller = Caller(name=row["name"], role=Role(row["role"]))
    if len(_cache) >= _CACHE_MAX:
        _cache.clear()
    _cache[digest] = (caller, time.monotonic() + CACHE_SECONDS)
    return caller


def revoke_token(name: str) -> None:
    forget_cached_tokens()  # refused at once in this process, before the update even commits
    updated = (
        ApiToken.update(revoke_time=utcnow())
        .where((ApiToken.name == name) & ApiToken.revoke_time.is_null())
        .execute()
    )
    forget_cached_tokens()  # and again: a look-up racing the update may have cached it meanwhile
    if not updated and not ApiToken.select().where(ApiToken.name == name).exists():
        raise NotFound(f"no token named {name!r}")


def list_tokens() -> list[TokenInfo]:
    return [
        TokenInfo(row.name, Role(row.role), row.create_time, row.revoke_time)
        for row in ApiToken.select().order_by(ApiToken.name)
    ]
