"""The one outbound gRPC client: channel, loopback rule, bearer token, rich-status decoding.

Every program of ours that calls the server as a client (the support CLI, `licensing licenses`,
`licensing import`, the provider bridge, the tests) opens its channel here, so the rules hold
everywhere at once:

- a token never crosses a network in clear: without a CA certificate the channel is plaintext,
  which is allowed only to a loopback address;
- the token goes in the `authorization: Bearer …` header, never in a URL or a log line;
- a failed call becomes one line a person can act on, from the status, the server's
  google.rpc.ErrorInfo (its reason) and RetryInfo (when to try again), and "cannot reach" is said
  of a server that did not answer, never "refused".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

from .addresses import is_loopback
from .errors import ConfigurationError, LicensingError, RateLimited, Unavailable

__all__ = [
    "ADDRESS_ENV",
    "DEFAULT_ADDRESS",
    "Connection",
    "ErrorDetails",
    "bearer",
    "check_plaintext_allowed",
    "connect",
    "error_details",
    "error_of_call",
    "open_channel",
    "read_ca",
    "resolve_address",
    "token_from",
]

ADDRESS_ENV = "LICENSING_ADDRESS"
DEFAULT_ADDRESS = "127.0.0.1:50051"
ERROR_DOMAIN = "licensing"  # the server's google.rpc.ErrorInfo domain (licensing.api.status)
CALL_TIMEOUT = 30.0  # seconds; every unary call of ours is one short database transaction


@dataclass(frozen=True)
class ErrorDetails:
    """What a rich status carried: the ErrorInfo reason and domain, the RetryInfo delay."""

    reason: str = ""
    domain: str = ""
    retry_after: float | None = None

    @property
    def from_server(self) -> bool:
        """True when our server answered (as opposed to gRPC failing to reach it)."""
        return self.domain == ERROR_DOMAIN


def resolve_address(flag: str | None) -> str:
    """The server's host:port: the flag, else LICENSING_ADDRESS, else 127.0.0.1:50051."""
    return flag or os.environ.get(ADDRESS_ENV) or DEFAULT_ADDRESS


def check_plaintext_allowed(address: str) -> None:
    if not is_loopback(address):
        raise ConfigurationError(
            f"refusing to send the token in plaintext to {address}: give --tls-ca with the server's CA "
            "certificate (plaintext is allowed only to a loopback address)"
        )


def open_channel(
    address: str,
    *,
    ca: bytes | None = None,
    cert: bytes | None = None,
    key: bytes | None = None,
    aio: bool = False,
    options: Sequence[tuple[str, Any]] = (),
) -> Any:
    """A channel to `address`: TLS when `ca` is given, else plaintext to a loopback address only."""
    if ca is None:
        check_plaintext_allowed(address)
        if aio:
            return grpc.aio.insecure_channel(address, options=options)
        return grpc.insecure_channel(address, options=options)
    credentials = grpc.ssl_channel_credentials(ca, key, cert)
    if aio:
        return grpc.aio.secure_channel(address, credentials, options=options)
    return grpc.secure_channel(address, credentials, options=options)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def error_details(error: grpc.RpcError) -> ErrorDetails:
    """ErrorInfo and RetryInfo from the trailing metadata; works for sync and asyncio calls."""
    trailing = getattr(error, "trailing_metadata", None)
    metadata = trailing() if callable(trailing) else None
    reason, domain, retry_after = "", "", None
    for key, value in metadata or ():
        if key != "grpc-status-details-bin" or not isinstance(value, bytes):
            continue
        try:
            status = status_pb2.Status.FromString(value)
        except DecodeError:  # a garbled detail must not hide the status itself
            status = status_pb2.Status()
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, domain = info.reason, info.domain
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                retry_after = retry.retry_delay.ToNanoseconds() / 1e9
    return ErrorDetails(reason, domain, retry_after)


def error_of_call(error: grpc.RpcError, address: str | None, timeout: float = CALL_TIMEOUT) -> LicensingError:
    """One line for a failed call: the server's status and message, or why it was not reached."""
    code: grpc.StatusCode = (
        error.code() if callable(getattr(error, "code", None)) else grpc.StatusCode.UNKNOWN
    )
    details = (
        " ".join(str(error.details() or "").split()) if callable(getattr(error, "details", None)) else ""
    )
    info = error_details(error)
    where = f" at {address}" if address else ""
    if code == grpc.StatusCode.UNAVAILABLE and not info.from_server:
        return Unavailable(
            f"cannot reach the licensing server{where}: is it running (make serve), and is the address right "
            f"(--address or {ADDRESS_ENV})?",
            reason="SERVER_UNREACHABLE",
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED and not info.from_server:
        return Unavailable(
            f"the licensing server{where} did not answer within {timeout:.0f} s", reason="DEADLINE"
        )
    line = f"{code.name}: {details or 'no details'}"
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        if "retry" not in details.lower():
            line += (
                f"; retry in {info.retry_after:.1f} s" if info.retry_after is not None else "; retry later"
            )
        return RateLimited(line, retry_after=info.retry_after or 0.0)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        line += "; check the token (licensing tokens list shows which are active)"
    return LicensingError(line, reason=info.reason or code.name)


@dataclass
class Connection:
    """A channel with its token: `call(method, request)` raises the project's errors only."""

    address: str
    token: str
    channel: Any

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return bearer(self.token)

    def call(self, method: Callable[..., Any], request: Any, timeout: float = CALL_TIMEOUT) -> Any:
        try:
            return method(request, metadata=self.metadata, timeout=timeout)
        except grpc.RpcError as error:
            raise error_of_call(error, self.address, timeout) from error


def read_ca(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the CA certificate {path}: {exc.strerror}") from exc


def token_from(flag: str | None, env_names: tuple[str, ...], role: str) -> str:
    """The token from --token or the first of `env_names` that is set, else one clear line."""
    token = flag or next((os.environ[name] for name in env_names if os.environ.get(name)), "")
    if not token.strip():
        names = " or ".join(env_names)
        raise ConfigurationError(f"no {role} token: set {names} (or give --token)")
    return token.strip()


@contextmanager
def connect(address: str, token: str, tls_ca: Path | None = None) -> Iterator[Connection]:
    """A Connection on a fresh channel, closed on leaving the block."""
    channel = open_channel(address, ca=read_ca(tls_ca))
    with channel:
        yield Connection(address, token, channel)
