"""The bridge's side of our gRPC API: an ordinary `issuer` caller, with deadlines.

Statuses become HTTP answers for the provider in one place (`UpstreamError.status`):

    INVALID_ARGUMENT                  400  the order cannot be fulfilled as sent; retrying will not help
    FAILED_PRECONDITION               409  the order ID is on record with another email or terms
    UNAVAILABLE, DEADLINE_EXCEEDED,
    RESOURCE_EXHAUSTED, ABORTED       503  try again later (Retry-After when the server said when)
    UNAUTHENTICATED, PERMISSION_DENIED 503  the bridge's token is wrong: the operator must fix it,
                                           and the provider's retries then go through
    anything else                     500

A retry that finds the license issued on another day with date terms computed from that day
(ORDER_TERMS_MISMATCH or ORDER_TIME_MISMATCH) is answered with the stored key when seats,
edition and feature flags agree: the buyer keeps the key they were first given.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import grpc
from google.protobuf import timestamp_pb2

from .. import client
from .._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc, license_pb2
from ..errors import ConfigurationError
from .common import REASON_CANCELED, REASON_CHARGEBACK, REASON_FRAUD, REASON_REFUND, Revocation
from .orders import KeyRequest, unit_order_id

__all__ = ["Issuer", "UpstreamError", "channel_for"]

log = logging.getLogger("licensing.bridge")

_REASONS: dict[str, license_pb2.RevocationReason] = {
    REASON_REFUND: license_pb2.REVOCATION_REASON_REFUND,
    REASON_CHARGEBACK: license_pb2.REVOCATION_REASON_CHARGEBACK,
    REASON_CANCELED: license_pb2.REVOCATION_REASON_CANCELED,
    REASON_FRAUD: license_pb2.REVOCATION_REASON_FRAUD,
}
_RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
}
_DATE_MISMATCH = {"ORDER_TERMS_MISMATCH", "ORDER_TIME_MISMATCH"}
_MAX_UNITS_REVOKED = 10_000
_CONCURRENT_UNITS = 8


class UpstreamError(Exception):
    """A failed call to our server, with the HTTP status to answer the provider."""

    def __init__(self, code: grpc.StatusCode, reason: str, retry_after: float | None = None) -> None:
        super().__init__(f"{code.name} {reason}".strip())
        self.code = code
        self.reason = reason
        self.retry_after = retry_after

    @property
    def status(self) -> int:
        if self.code == grpc.StatusCode.INVALID_ARGUMENT:
            return 400
        if self.code == grpc.StatusCode.FAILED_PRECONDITION:
            return 409
        if self.code in _RETRYABLE:
            return 503
        return 500

    @property
    def retryable(self) -> bool:
        return self.status >= 500


def _upstream(error: grpc.RpcError) -> UpstreamError:
    code = error.code() if callable(getattr(error, "code", None)) else grpc.StatusCode.UNKNOWN
    details = client.error_details(error)  # the one decoder of ErrorInfo and RetryInfo
    return UpstreamError(code, details.reason, details.retry_after)


def _timestamp(day: dt.date | None) -> timestamp_pb2.Timestamp | None:
    if day is None:
        return None
    message = timestamp_pb2.Timestamp()
    message.FromDatetime(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC))
    return message


def channel_for(
    target: str, ca: bytes | None = None, cert: bytes | None = None, key: bytes | None = None
) -> grpc.aio.Channel:
    """The bridge's channel, opened by the shared client (plaintext only to a loopback address)."""
    channel: grpc.aio.Channel = client.open_channel(target, ca=ca, cert=cert, key=key, aio=True)
    return channel


@dataclass(frozen=True)
class Issued:
    key: str
    created: bool


class Issuer:
    def __init__(self, channel: grpc.aio.Channel, token: str, deadline: float) -> None:
        self._channel = channel
        self._stub = issuance_pb2_grpc.IssuanceServiceStub(channel)
        self._metadata = (("authorization", f"Bearer {token}"),)
        self._deadline = deadline

    async def close(self) -> None:
        await self._channel.close()

    async def check_products(self, wanted: Mapping[str, str], *, address: str | None = None) -> None:
        """Refuse to start when a mapping names a product the server does not know.

        `wanted` maps where each product is named in the configuration to the product code. A
        bridge that started anyway would answer every order for that product with an error,
        which the provider only shows to the buyer.
        """
        try:
            response = await self._stub.ListProducts(
                issuance_pb2.ListProductsRequest(), metadata=self._metadata, timeout=self._deadline
            )
        except grpc.RpcError as exc:
            raise client.error_of_call(exc, address, self._deadline) from exc
        known = {product.code for product in response.products}
        unknown = sorted(f"{where} = {code!r}" for where, code in wanted.items() if code not in known)
        if unknown:
            raise ConfigurationError(
                f"the server knows no product {', '.join(unknown)}; it knows "
                f"{', '.join(sorted(known)) or 'none'} (`licensing products list`, `licensing products add`)"
            )

    async def issue(
        self, requests: Sequence[KeyRequest], *, email: str, provider: str, test_order: bool
    ) -> list[Issued]:
        """Issue (or find again) every key, in order; the first failure is raised."""
        limit = asyncio.Semaphore(_CONCURRENT_UNITS)

        async def one(request: KeyRequest) -> Issued:
            async with limit:
                return await self._issue_one(request, email=email, provider=provider, test_order=test_order)

        return list(await asyncio.gather(*(one(request) for request in requests)))

    async def _issue_one(self, request: KeyRequest, *, email: str, provider: str, test_order: bool) -> Issued:
        terms = license_pb2.LicenseTerms(
            seats=request.seats, edition=request.edition, feature_flags=request.feature_flags
        )
        for field_name, day in (
            ("expire_time", request.expires),
            ("updates_until_time", request.updates_until),
        ):
            stamp = _timestamp(day)
            if stamp is not None:
                getattr(terms, field_name).CopyFrom(stamp)
        message = issuance_pb2.IssueLicenseRequest(
            email=email,
            order_id=request.order_id,
            product=request.product,
            terms=terms,
            provider=provider,
            test_order=test_order,
        )
        try:
            response = await self._stub.IssueLicense(message, metadata=self._metadata, timeout=self._deadline)
        except grpc.RpcError as exc:
            error = _upstream(exc)
            if error.reason in _DATE_MISMATCH:
                stored = await self._stored_if_same(request)
                if stored is not None:
                    return Issued(stored, created=False)
            raise error from None
        return Issued(response.license.license_key, response.created)

    async def _stored_if_same(self, request: KeyRequest) -> str | None:
        """The stored key when only dates differ (the server has checked the email already)."""
        try:
            response = await self._stub.GetLicense(
                issuance_pb2.GetLicenseRequest(order_id=request.order_id, product=request.product),
                metadata=self._metadata,
                timeout=self._deadline,
            )
        except grpc.RpcError as exc:
            raise _upstream(exc) from None
        terms = response.license.terms
        same = (terms.seats or 1, terms.edition, terms.feature_flags) == (
            request.seats or 1,
            request.edition,
            request.feature_flags,
        )
        return response.license.license_key if same else None

    async def get(self, order_id: str, product: str) -> license_pb2.License | None:
        try:
            response = await self._stub.GetLicense(
                issuance_pb2.GetLicenseRequest(order_id=order_id, product=product),
                metadata=self._metadata,
                timeout=self._deadline,
            )
        except grpc.RpcError as exc:
            error = _upstream(exc)
            if error.code == grpc.StatusCode.NOT_FOUND:
                return None
            raise error from None
        found: license_pb2.License = response.license
        return found

    async def revoke(self, revocation: Revocation) -> int:
        """Revoke every license of the order: the one-key licenses, then unit 1, 2, … until
        a unit has none. Returns how many licenses matched; 0 is not an error (an order of
        products without keys, or a refund before the purchase was ever fulfilled)."""
        reason = _REASONS[revocation.reason]
        matched = await self._revoke_one(revocation.order_ref, reason, revocation.note)
        for unit in range(1, _MAX_UNITS_REVOKED + 1):
            found = await self._revoke_one(unit_order_id(revocation.order_ref, unit), reason, revocation.note)
            if not found:
                break
            matched += found
        return matched

    async def _revoke_one(self, order_id: str, reason: license_pb2.RevocationReason, note: str) -> int:
        request = issuance_pb2.RevokeLicenseRequest(order_id=order_id, reason=reason, note=note)
        try:
            response = await self._stub.RevokeLicense(
                request, metadata=self._metadata, timeout=self._deadline
            )
        except grpc.RpcError as exc:
            error = _upstream(exc)
            if error.code == grpc.StatusCode.NOT_FOUND:
                return 0
            raise error from None
        return len(response.licenses)
