"""One asyncio interceptor for every RPC: admit, authenticate, authorise, map errors, count.

Every handler the server sees is rewritten here into a coroutine that reads its request itself,
because that is the only way to bound the wait for it: grpc.aio would otherwise wait forever for
the message of a call that sent only headers. So:

- a call (or stream) that has sent no message within `first_message_seconds` ends with
  DEADLINE_EXCEEDED; a stream quiet for `idle_seconds` between two messages ends the same way;
- authenticated calls are admitted up to `max_in_flight` at once (beyond: RESOURCE_EXHAUSTED at
  once); a call counts only once its request has arrived, so callers that send nothing take no
  capacity; calls without a token (health, reflection) have their own, separate, allowance of
  open streams (`public_streams`) and cannot take the authenticated callers' capacity;
- the request is parsed here rather than by gRPC, so that bytes which are not a valid message get
  INVALID_ARGUMENT (gRPC itself would answer INTERNAL);
- the blocking work of a handler (database, group-commit wait) runs in a bounded thread pool,
  never on the event loop; the token check is answered from a short-lived cache on the loop.

Logs carry the method, the status code and the duration (at DEBUG: counters in metrics.py cover
INFO), and nothing a person could be identified by: no email, key, token or peer address.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar

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
from ..logsafe import log_unexpected
from ..ratelimit import RateLimiter
from ..storage.database import CONNECTION_ERRORS, release_connection
from ..tokens import Caller, Role, authenticate, cached_caller
from .status import status_for

__all__ = ["METHOD_ROLES", "AuthInterceptor", "Limits", "current_caller", "run_blocking"]

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

T = TypeVar("T")

_caller: contextvars.ContextVar[Caller] = contextvars.ContextVar("licensing_caller")
_runner: contextvars.ContextVar[_Blocking] = contextvars.ContextVar("licensing_runner")


@dataclass(frozen=True)
class Limits:
    """How long the server waits for callers, and how many it serves at once (docs/reliability.md)."""

    first_message_seconds: float = 5.0  # a call's (first) request must arrive within this
    idle_seconds: float = 10.0  # a stream's next message must arrive within this
    public_stream_seconds: float = 60.0  # a health Watch or reflection stream lives at most this
    max_in_flight: int = 256  # authenticated calls being served at once; beyond: RESOURCE_EXHAUSTED
    public_streams: int = 32  # open health-Watch and reflection streams, apart from the above


class _Stalled(Exception):
    """The caller sent nothing within the time allowed."""


class _Busy(Exception):
    """The server serves `max_in_flight` calls already."""


class _Blocking:
    """Runs blocking work on the bounded pool, giving the thread's database connections back after."""

    def __init__(self, executor: Executor, databases: tuple[peewee.Database, ...]) -> None:
        self.executor = executor
        self.databases = databases

    def _in_thread(self, context: contextvars.Context, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        broken = False
        try:
            return context.run(fn, *args)
        except CONNECTION_ERRORS:
            broken = True
            raise
        finally:
            for db in self.databases:
                release_connection(db, broken=broken)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        context = contextvars.copy_context()  # the caller, for current_caller() in the thread
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self._in_thread, context, fn, args)


def current_caller() -> Caller:
    """The authenticated caller of the request being served (in its coroutine or its thread)."""
    return _caller.get()


async def run_blocking(fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(*args)` on the server's bounded thread pool (for a coroutine handler's blocking part)."""
    return await _runner.get().run(fn, *args)


def _parsed(parse: Callable[[bytes], Any] | None, raw: bytes) -> Any:
    if parse is None:
        return raw
    try:
        return parse(raw)
    except (message.DecodeError, UnicodeDecodeError, ValueError):  # bad wire format or invalid UTF-8
        raise InvalidArgument(
            "request",
            "is not a valid message for this method (malformed protobuf or invalid UTF-8)",
            reason="REQUEST_MALFORMED",
        ) from None


async def _next(requests: AsyncIterator[Any], seconds: float) -> Any:
    """The next message, StopAsyncIteration at the stream's end, or _Stalled after `seconds`."""
    try:
        async with asyncio.timeout(seconds):  # no task per message, unlike wait_for
            return await requests.__anext__()
    except TimeoutError:
        raise _Stalled from None


async def _paced(
    requests: AsyncIterator[Any], first: float, idle: float, parse: Callable[[bytes], Any] | None
) -> AsyncIterator[Any]:
    """The stream's messages, parsed, each due within its time (`first`, then `idle`)."""
    wait = first
    while True:
        try:
            raw = await _next(requests, wait)
        except StopAsyncIteration:
            return
        wait = idle
        yield _parsed(parse, raw)


def _abort_args(error: Exception) -> tuple[grpc.StatusCode, str, tuple[tuple[str, Any], ...]]:
    status = status_for(error)
    return status.code, status.details, tuple(status.trailing_metadata)


_STALLED = Unavailable("no request arrived in time", reason="REQUEST_TIMEOUT")
_BUSY = RateLimited("the server is serving as many calls as it may; retry shortly", retry_after=1.0)
_BUSY.reason = "SERVER_BUSY"


class _Admission:
    """A call's place among the `max_in_flight`, taken once its first message has arrived: a caller
    that sends nothing must not hold capacity others need."""

    def __init__(self, owner: AuthInterceptor) -> None:
        self.owner = owner
        self.admitted = False

    def admit(self) -> None:
        if self.admitted:
            return
        if self.owner.in_flight >= self.owner.limits.max_in_flight:
            raise _Busy
        self.owner.in_flight += 1
        self.admitted = True

    def leave(self) -> None:
        if self.admitted:
            self.owner.in_flight -= 1
            self.admitted = False

    async def after_first(self, messages: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for item in messages:
            self.admit()
            yield item


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(
        self,
        databases: Iterable[peewee.Database],
        executor: Executor,
        lookups: RateLimiter | None = None,
        limits: Limits = Limits(),
    ) -> None:
        self.databases = tuple(databases)
        self.blocking = _Blocking(executor, self.databases)
        self.lookups = lookups
        self.limits = limits
        self.in_flight = 0
        self.public_open = 0
        # method -> (the servicer's handler, its wrapped form): built once, not on every call.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: grpc.HandlerCallDetails
    ) -> Any:
        handler = await continuation(details)
        if handler is None:
            return None
        method = details.method
        known = self._wrapped.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = self._wrapped_handler(method, handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrapped_handler(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """`handler` rewritten as described in the module's docstring (no per-call state here)."""
        if method.startswith(PUBLIC_PREFIXES):
            return self._public(handler)
        roles = METHOD_ROLES.get(method, frozenset({Role.ADMIN}))
        limiter = self.lookups if method in RATE_LIMITED_METHODS else None
        parse = handler.request_deserializer
        if handler.unary_unary is not None:
            behaviour = handler.unary_unary
            limits = self.limits

            async def unary(
                requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext, admission: _Admission
            ) -> Any:
                try:
                    raw = await _next(requests, limits.first_message_seconds)
                except StopAsyncIteration:
                    raise InvalidArgument("request", "is required", reason="REQUEST_REQUIRED") from None
                admission.admit()
                request = _parsed(parse, raw)
                if inspect.iscoroutinefunction(behaviour):
                    return await behaviour(request, context)
                return await self.blocking.run(behaviour, request, context)

            return grpc.stream_unary_rpc_method_handler(
                self._wrap(method, roles, limiter, unary), response_serializer=handler.response_serializer
            )
        if handler.stream_unary is not None:
            streaming = handler.stream_unary
            if not inspect.iscoroutinefunction(streaming):
                raise TypeError(f"{method}: a streaming handler must be a coroutine")
            limits = self.limits

            async def stream(
                requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext, admission: _Admission
            ) -> Any:
                paced = _paced(requests, limits.first_message_seconds, limits.idle_seconds, parse)
                return await streaming(admission.after_first(paced), context)

            return grpc.stream_unary_rpc_method_handler(
                self._wrap(method, roles, limiter, stream), response_serializer=handler.response_serializer
            )
        return handler  # no streaming-response methods exist; nothing else to wrap

    def _wrap(
        self,
        method: str,
        roles: frozenset[Role],
        limiter: RateLimiter | None,
        behaviour: Callable[[AsyncIterator[bytes], grpc.aio.ServicerContext, _Admission], Awaitable[Any]],
    ) -> Callable[[AsyncIterator[bytes], grpc.aio.ServicerContext], Awaitable[Any]]:
        async def serve(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            admission = _Admission(self)
            runner = _runner.set(self.blocking)
            counted = False

            def count(code: grpc.StatusCode) -> None:
                # Before the answer leaves: a client that has its status must find it counted.
                nonlocal counted
                counted = True
                elapsed = time.perf_counter() - started
                metrics.rpc_finished(method, code.name, elapsed)
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("rpc method=%s code=%s duration_ms=%.2f", method, code.name, elapsed * 1e3)

            try:
                caller = await self._authorise(context, roles)
                if limiter is not None:
                    limiter.take(caller.name)
                token = _caller.set(caller)
                try:
                    response = await behaviour(requests, context, admission)
                finally:
                    _caller.reset(token)
                count(grpc.StatusCode.OK)
                return response
            except _Stalled:
                metrics.rpc_refused(method, _STALLED.reason, False)
                count(grpc.StatusCode.DEADLINE_EXCEEDED)
                await context.abort(
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    "no request message arrived in time; the call was ended",
                )
            except _Busy:
                metrics.rpc_refused(method, _BUSY.reason, True)
                count(grpc.StatusCode.RESOURCE_EXHAUSTED)
                await context.abort(*_abort_args(_BUSY))
            except CONNECTION_ERRORS as exc:
                error: Exception = Unavailable("the database cannot be reached; retry shortly")
                if "database is locked" in str(exc):
                    error = Unavailable("the database is busy; retry shortly", reason="DATABASE_BUSY")
                # The class and SQLSTATE say what happened; the message may quote row values.
                log.warning(
                    "rpc method=%s database error %s sqlstate=%s",
                    method,
                    type(exc).__name__,
                    getattr(getattr(exc, "orig", None), "pgcode", None) or getattr(exc, "pgcode", None),
                )
                count(grpc.StatusCode.UNAVAILABLE)
                await context.abort(*_abort_args(error))
            except LicensingError as exc:
                metrics.rpc_refused(method, exc.reason, isinstance(exc, RateLimited))
                count(status_for(exc).code)
                await context.abort(*_abort_args(exc))
            except (asyncio.CancelledError, grpc.aio.AbortError):
                if not counted:
                    count(grpc.StatusCode.CANCELLED)
                raise
            except Exception as exc:  # noqa: BLE001 - logged by log_unexpected, answered INTERNAL
                log_unexpected(log, exc, "rpc method=%s failed unexpectedly", method)
                count(grpc.StatusCode.INTERNAL)
                await context.abort(*_abort_args(RuntimeError()))
            finally:
                admission.leave()
                _runner.reset(runner)

        return serve

    async def _authorise(self, context: grpc.aio.ServicerContext, roles: frozenset[Role]) -> Caller:
        header = next(
            (value for key, value in context.invocation_metadata() or () if key == "authorization"), None
        )
        if not isinstance(header, str) or not header.startswith("Bearer "):
            raise Unauthenticated(
                "send the API token as metadata 'authorization: Bearer <token>'", reason="TOKEN_MISSING"
            )
        token = header.removeprefix("Bearer ").strip()
        caller = cached_caller(token)
        if caller is None:
            caller = await self.blocking.run(authenticate, token)
        if caller.role not in roles:
            raise PermissionDenied(
                f"the {caller.role.value} role may not call this method", reason="ROLE_NOT_ALLOWED"
            )
        return caller

    # -- health and reflection: no token, their own bounded allowance ------------------------------

    def _public(self, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        limits = self.limits
        parse = handler.request_deserializer
        serialize = handler.response_serializer
        if handler.unary_unary is not None:  # Health.Check: answered from memory, needs no slot
            check = handler.unary_unary

            async def unary(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> Any:
                try:
                    raw = await _next(requests, limits.first_message_seconds)
                except (_Stalled, StopAsyncIteration):
                    await context.abort(
                        grpc.StatusCode.DEADLINE_EXCEEDED, "no request message arrived in time"
                    )
                return await check(_parsed(parse, raw), context)

            return grpc.stream_unary_rpc_method_handler(unary, response_serializer=serialize)
        if handler.unary_stream is not None:  # Health.Watch
            watch = handler.unary_stream

            async def watched(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> None:
                async with self._public_slot(context):
                    try:
                        raw = await _next(requests, limits.first_message_seconds)
                        await asyncio.wait_for(
                            watch(_parsed(parse, raw), context), limits.public_stream_seconds
                        )
                    except (_Stalled, StopAsyncIteration, TimeoutError):
                        await context.abort(
                            grpc.StatusCode.DEADLINE_EXCEEDED,
                            "the stream was open for the longest time allowed",
                        )

            return grpc.stream_stream_rpc_method_handler(watched, response_serializer=serialize)
        if handler.stream_stream is not None:  # reflection
            inner = handler.stream_stream

            async def reflected(
                requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
            ) -> AsyncIterator[Any]:
                async with self._public_slot(context):
                    deadline = time.monotonic() + limits.public_stream_seconds
                    try:
                        async for response in inner(
                            _paced(requests, limits.first_message_seconds, limits.idle_seconds, parse),
                            context,
                        ):
                            yield response
                            if time.monotonic() > deadline:
                                raise _Stalled
                    except _Stalled:
                        await context.abort(
                            grpc.StatusCode.DEADLINE_EXCEEDED, "the stream was idle or open for too long"
                        )
                    except LicensingError as exc:
                        await context.abort(*_abort_args(exc))

            return grpc.stream_stream_rpc_method_handler(reflected, response_serializer=serialize)
        return handler

    def _public_slot(self, context: grpc.aio.ServicerContext) -> _PublicSlot:
        return _PublicSlot(self, context)


class _PublicSlot:
    """One of the `public_streams` open streams without a token; RESOURCE_EXHAUSTED when none is free."""

    def __init__(self, owner: AuthInterceptor, context: grpc.aio.ServicerContext) -> None:
        self.owner, self.context = owner, context

    async def __aenter__(self) -> None:
        if self.owner.public_open >= self.owner.limits.public_streams:
            await self.context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED, "too many open health or reflection streams"
            )
        self.owner.public_open += 1

    async def __aexit__(self, *exc: object) -> None:
        self.owner.public_open -= 1
