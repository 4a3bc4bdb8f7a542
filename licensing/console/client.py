"""The console's gRPC client: one channel to the server, every call with the person's own token.

Failures become a `ConsoleError` holding one line a person can act on: the server's own message
(which never quotes what was sent) for a refusal, or what to check when the server cannot be
reached. Nothing here logs a request or a response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from .._proto.licensing.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    issuance_pb2,
    issuance_pb2_grpc,
    license_pb2,
    support_pb2,
    support_pb2_grpc,
)
from ..addresses import is_loopback
from ..api.status import ERROR_DOMAIN
from ..errors import ConfigurationError

__all__ = ["ConsoleClient", "ConsoleError"]

CALL_TIMEOUT = 30.0
_R = TypeVar("_R")


class ConsoleError(Exception):
    """A call that failed, with the status name, the reason code and a message for the page."""

    def __init__(
        self, code: grpc.StatusCode, message: str, reason: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.reason, self.retry_after = code, message, reason, retry_after


def _describe(error: grpc.aio.AioRpcError, address: str) -> ConsoleError:
    code = error.code()
    details = " ".join(str(error.details() or "").split())
    info: error_details_pb2.ErrorInfo | None = None
    retry_after: float | None = None
    try:
        status = rpc_status.from_call(error)
    except ValueError:
        status = None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            retry_after = retry.retry_delay.ToNanoseconds() / 1e9
    from_server = info is not None and info.domain == ERROR_DOMAIN
    if not from_server and code == grpc.StatusCode.UNAVAILABLE:
        return ConsoleError(code, f"The licensing server at {address} cannot be reached; try again shortly.")
    if not from_server and code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return ConsoleError(code, f"The licensing server did not answer within {CALL_TIMEOUT:.0f} s.")
    reason = info.reason if info is not None else ""
    field = info.metadata.get("field", "") if info is not None else ""
    message = details or code.name
    if field and not message.startswith(field):
        message = f"{field.replace('_', ' ')} {message}"
    return ConsoleError(code, message[:1].upper() + message[1:], reason, retry_after)


class ConsoleClient:
    def __init__(self, address: str, root_certificates: bytes | None = None) -> None:
        if root_certificates is None and not is_loopback(address):
            raise ConfigurationError(
                f"refusing to send tokens in plaintext to {address}: give --tls-ca with the server's CA "
                "certificate (plaintext is allowed only to a loopback address)"
            )
        self.address = address
        self.root_certificates = root_certificates
        self._channel: grpc.aio.Channel | None = None

    async def start(self) -> None:
        """Open the channel; it belongs to the running event loop, so this runs on it."""
        if self.root_certificates is None:
            self._channel = grpc.aio.insecure_channel(self.address)
        else:
            credentials = grpc.ssl_channel_credentials(root_certificates=self.root_certificates)
            self._channel = grpc.aio.secure_channel(self.address, credentials)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()

    @property
    def channel(self) -> grpc.aio.Channel:
        if self._channel is None:
            raise RuntimeError("ConsoleClient.start() was not awaited")
        return self._channel

    async def _call(self, method: Callable[..., Awaitable[_R]], request: Message, token: str) -> _R:
        try:
            return await method(
                request, metadata=(("authorization", f"Bearer {token}"),), timeout=CALL_TIMEOUT
            )
        except grpc.aio.AioRpcError as error:
            raise _describe(error, self.address) from None

    # -- the calls the pages make ----------------------------------------------------------------

    async def caller(self, token: str) -> admin_pb2.GetCallerResponse:
        stub = admin_pb2_grpc.AdminServiceStub(self.channel)
        return await self._call(stub.GetCaller, admin_pb2.GetCallerRequest(), token)

    async def find(self, token: str, by: str, value: str) -> support_pb2.FindLicensesResponse:
        stub = support_pb2_grpc.SupportServiceStub(self.channel)
        request = support_pb2.FindLicensesRequest(**{by: value})
        return await self._call(stub.FindLicenses, request, token)

    async def export(self, token: str, email: str) -> str:
        stub = support_pb2_grpc.SupportServiceStub(self.channel)
        response = await self._call(stub.ExportProfile, support_pb2.ExportProfileRequest(email=email), token)
        return str(response.document)

    async def consent(self, token: str, email: str, subscribed: bool, source: str) -> support_pb2.Profile:
        stub = support_pb2_grpc.SupportServiceStub(self.channel)
        request = support_pb2.SetNewsletterConsentRequest(email=email, subscribed=subscribed, source=source)
        response: support_pb2.SetNewsletterConsentResponse = await self._call(
            stub.SetNewsletterConsent, request, token
        )
        return response.profile

    async def erase(self, token: str, email: str) -> support_pb2.EraseProfileResponse:
        stub = support_pb2_grpc.SupportServiceStub(self.channel)
        return await self._call(stub.EraseProfile, support_pb2.EraseProfileRequest(email=email), token)

    async def revoke(
        self, token: str, order_id: str, product: str, reason: int, note: str
    ) -> list[license_pb2.License]:
        stub = issuance_pb2_grpc.IssuanceServiceStub(self.channel)
        request = issuance_pb2.RevokeLicenseRequest(
            order_id=order_id,
            product=product,
            reason=reason,  # type: ignore[arg-type]  # the enum's number: the stubs name only the enum type
            note=note,
        )
        response = await self._call(stub.RevokeLicense, request, token)
        return list(response.licenses)

    async def audit(
        self, token: str, request: admin_pb2.ListAuditEntriesRequest
    ) -> list[admin_pb2.AuditEntry]:
        stub = admin_pb2_grpc.AdminServiceStub(self.channel)
        response = await self._call(stub.ListAuditEntries, request, token)
        return list(response.entries)

    async def trends(self, token: str, days: int) -> admin_pb2.GetTrendsResponse:
        stub = admin_pb2_grpc.AdminServiceStub(self.channel)
        return await self._call(stub.GetTrends, admin_pb2.GetTrendsRequest(days=days), token)
