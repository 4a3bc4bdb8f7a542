"""One interceptor for every licensing RPC: authenticate, authorise, map errors, log a trend line.

It wraps each method's behaviour rather than deciding in `intercept_service` itself, because
gRPC calls `intercept_service` on its polling thread: the token look-up must run on the worker
thread that serves the call, or every call would queue behind one database query.

Log lines carry the method, the status code and the duration, and nothing a person could be
identified by: no email, key, token or peer address.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import grpc
import peewee
from google.protobuf import message

from .. import metrics
from ..errors import (
    InvalidArgument,
    LicensingError,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from ..ratelimit import RateLimiter
from ..storage.database import CONNECTION_ERRORS, release_connection
from ..tokens import Caller, Role, authenticate
from .status import status_for

__all__ = ["METHOD_ROLES", "AuthInterceptor", "current_caller"]

log = logging.getLogger("licensing.rpc")

_ISSUER_OR_ADMIN = frozenset({Role.ISSUER, Role.ADMIN})
_SUPPORT_OR_ADMIN = frozenset({Role.SUPPORT, Role.ADMIN})
_ANY_ROLE = frozenset(Role)

# Least privilege: the order system cannot look customers up, support cannot issue keys.
METHOD_ROLES: Mapping[str, frozenset[Role]] = {
    "/licensing.v1.IssuanceService/IssueLicense": _ISSUER_OR_ADMIN,
    "/licensing.v1.IssuanceService/IssueLicenses": _ISSUER_OR_ADMIN,
    "/licensing.v1.IssuanceService/RevokeLicense": _ISSUER_OR_ADMIN,
    "/licensing.v1.IssuanceService/GetLicense": _ISSUER_OR_ADMIN,
    "/licensing.v1.IssuanceService/ListLicenses": _ISSUER_OR_ADMIN,
    "/licensing.v1.IssuanceService/ListProducts": _ISSUER_OR_ADMIN,
    "/licensing.v1.ValidationService/ValidateKey": _ANY_ROLE,
    "/licensing.v1.ValidationService/ListSigningKeys": _ANY_ROLE,
    "/licensing.v1.ValidationService/GetRevocationList": _ANY_ROLE,
    "/licensing.v1.SupportService/FindLicenses": _SUPPORT_OR_ADMIN,
    "/licensing.v1.SupportService/ExportProfile": _SUPPORT_OR_ADMIN,
    "/licensing.v1.SupportService/EraseProfile": _SUPPORT_OR_ADMIN,
    "/licensing.v1.SupportService/SetNewsletterConsent": _SUPPORT_OR_ADMIN,
    "/licensing.v1.AdminService/GetCaller": _ANY_ROLE,
    "/licensing.v1.AdminService/ListAuditEntries": frozenset({Role.ADMIN}),
    "/licensing.v1.AdminService/GetTrends": _SUPPORT_OR_ADMIN,
    "/licensing.v1.SupportService/CorrectEmail": _SUPPORT_OR_ADMIN,
}
# Look-ups that could enumerate customers are rate-limited per token.
# Every method whose answer differs for a known and an unknown email, order or key: each is a way
# to test a guess, so each spends one of the caller's look-ups (a miss as much as a hit).
RATE_LIMITED_METHODS = frozenset(
    {
        "/licensing.v1.SupportService/FindLicenses",
        "/licensing.v1.SupportService/ExportProfile",
        "/licensing.v1.SupportService/EraseProfile",
        "/licensing.v1.SupportService/SetNewsletterConsent",
        "/licensing.v1.SupportService/CorrectEmail",
        "/licensing.v1.IssuanceService/GetLicense",
        "/licensing.v1.ValidationService/ValidateKey",
    }
)
# Standard tooling answers without a token: health checks and reflection reveal no data.
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

_caller: contextvars.ContextVar[Caller] = contextvars.ContextVar("licensing_caller")


def _parsed(parse: Callable[[bytes], Any] | None, raw: bytes) -> Any:
    if parse is None:
        return raw
    try:
        return parse(raw)
    except (message.DecodeError, UnicodeDecodeError, ValueError):  # bad wire format or invalid UTF-8
        raise InvalidArgument(
            "request", "is not a valid message for this method (malformed protobuf or invalid UTF-8)",
            reason="REQUEST_MALFORMED",
        ) from None


def current_caller() -> Caller:
    """The authenticated caller of the request being served on this thread."""
    return _caller.get()


class AuthInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, databases: Iterable[peewee.Database], lookups: RateLimiter | None = None) -> None:
        self.databases = tuple(databases)
        self.lookups = lookups

    def intercept_service(self, continuation: Callable[[Any], Any], details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        method = details.method
        if handler is None or method.startswith(PUBLIC_PREFIXES):
            return handler
        roles = METHOD_ROLES.get(method, frozenset({Role.ADMIN}))
        limiter = self.lookups if method in RATE_LIMITED_METHODS else None
        # The request is parsed inside the wrapper rather than by gRPC, so that bytes which are
        # not a valid message get INVALID_ARGUMENT (gRPC itself would answer INTERNAL).
        parse = handler.request_deserializer
        if handler.unary_unary is not None:
            unary = handler.unary_unary
            return grpc.unary_unary_rpc_method_handler(
                self._wrap(method, roles, limiter, lambda raw, context: unary(_parsed(parse, raw), context)),
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:
            streaming = handler.stream_unary
            return grpc.stream_unary_rpc_method_handler(
                self._wrap(
                    method, roles, limiter,
                    lambda raws, context: streaming((_parsed(parse, raw) for raw in raws), context),
                ),
                response_serializer=handler.response_serializer,
            )
        return handler  # no streaming-response methods exist; nothing else to wrap

    def _wrap(self, method: str, roles: frozenset[Role], limiter: RateLimiter | None, behaviour: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[[Any, grpc.ServicerContext], Any]:
        def serve(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            broken = False
            try:
                caller = self._authorise(context, roles)
                if limiter is not None:
                    limiter.take(caller.name)
                token = _caller.set(caller)
                try:
                    return behaviour(request, context)
                finally:
                    _caller.reset(token)
            except CONNECTION_ERRORS as exc:
                error: Exception = Unavailable("the database cannot be reached; retry shortly")
                if "database is locked" in str(exc):
                    error = Unavailable("the database is busy; retry shortly", reason="DATABASE_BUSY")
                broken = True
                code = grpc.StatusCode.UNAVAILABLE
                # The class and SQLSTATE say what happened; the message may quote row values.
                log.warning(
                    "rpc method=%s database error %s sqlstate=%s",
                    method, type(exc).__name__, getattr(getattr(exc, "orig", None), "pgcode", None) or getattr(exc, "pgcode", None),
                )
                context.abort_with_status(status_for(error))
            except LicensingError as exc:
                status = status_for(exc)
                code = status.code
                metrics.rpc_refused(method, exc.reason, isinstance(exc, RateLimited))
                context.abort_with_status(status)
            except Exception:
                if context.code() is not None and context.code() != grpc.StatusCode.OK:
                    raise  # the servicer (or gRPC) already chose a status, e.g. a cancelled call
                code = grpc.StatusCode.INTERNAL
                log.exception("rpc method=%s failed unexpectedly", method)
                context.abort_with_status(status_for(RuntimeError()))
            finally:
                for db in self.databases:
                    release_connection(db, broken=broken)
                elapsed = time.perf_counter() - started
                metrics.rpc_finished(method, code.name, elapsed)
                log.info("rpc method=%s code=%s duration_ms=%.2f", method, code.name, elapsed * 1e3)

        return serve

    def _authorise(self, context: grpc.ServicerContext, roles: frozenset[Role]) -> Caller:
        header = next((value for key, value in context.invocation_metadata() if key == "authorization"), None)
        if not isinstance(header, str) or not header.startswith("Bearer "):
            raise Unauthenticated(
                "send the API token as metadata 'authorization: Bearer <token>'", reason="TOKEN_MISSING"
            )
        caller = authenticate(header.removeprefix("Bearer ").strip())
        if caller.role not in roles:
            raise PermissionDenied(
                f"the {caller.role.value} role may not call this method", reason="ROLE_NOT_ALLOWED"
            )
        return caller
