"""IssuanceService: the order system issues, re-issues, reads and revokes licenses."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable

import grpc

from .. import metrics
from .._proto.licensing.v1 import issuance_pb2, issuance_pb2_grpc
from ..bulk_issue import BulkIssuer, Outcome
from ..bulk_lines import Failure, request_lines
from ..errors import InvalidArgument
from ..inputs import check_product_code
from ..issuance import Issuer, IssueRequest
from ..products import all_products
from ..storage.models import utcnow
from .convert import datetime_or_none, license_message, license_status, revocation_reason, terms_from
from .interceptor import current_caller, run_blocking

__all__ = ["BULK_CHUNK", "IssuanceServicer", "issue_request_from"]

BULK_CHUNK = 1000  # requests issued together from a bulk stream
DEFAULT_PAGE, MAX_PAGE = 100, 1000  # ListLicenses page sizes


def issue_request_from(message: issuance_pb2.IssueLicenseRequest) -> IssueRequest:
    return IssueRequest(
        email=message.email,
        order_ref=message.order_id,
        product=check_product_code(message.product),
        terms=terms_from(message.terms),
        order_time=datetime_or_none(message, "order_time"),
        provider=message.provider,
        test_order=message.test_order,
        newsletter_consent=message.newsletter_consent,
    )


class IssuanceServicer(issuance_pb2_grpc.IssuanceServiceServicer):
    def __init__(self, issuer: Issuer, today: Callable[[], dt.date], bulk: BulkIssuer | None = None) -> None:
        self.issuer = issuer
        self.today = today
        self.bulk = bulk if bulk is not None else BulkIssuer(issuer)  # None: prepared inline

    async def IssueLicense(
        self, request: issuance_pb2.IssueLicenseRequest, context: grpc.aio.ServicerContext
    ) -> issuance_pb2.IssueLicenseResponse:
        """A coroutine: checks, signing and sealing inline (CPU-light, ~0.1 ms), then the wait for
        the group commit, which holds no thread; no database read precedes the write."""
        started = time.perf_counter()
        result = await self.issuer.issue_async(issue_request_from(request), current_caller().name)
        metrics.issued(
            result.license.product, request.provider, result.created, time.perf_counter() - started
        )
        return issuance_pb2.IssueLicenseResponse(
            license=license_message(result.license, self.today()), created=result.created
        )

    async def IssueLicenses(
        self, requests: AsyncIterator[issuance_pb2.IssueLicensesRequest], context: grpc.aio.ServicerContext
    ) -> issuance_pb2.IssueLicensesResponse:
        """Bulk back-fill: the stream is read in chunks, each issued as one batch (bulk_issue.py).

        A coroutine: reading the stream holds no thread (a slow or idle sender costs nothing but
        memory). The loop does not convert the lines: it keeps each message serialized (one C call)
        with its lines' order references and product codes, and each chunk is issued on the
        bounded pool (run_blocking), its lines converted and prepared in the process pool."""
        response = issuance_pb2.IssueLicensesResponse()
        actor = current_caller().name
        messages: list[tuple[int, bytes]] = []
        refs: set[str] = set()
        codes: set[str] = set()
        refused: list[Failure] = []  # messages without a request
        pending = 0  # lines in `messages`

        async def flush() -> None:
            outcomes: dict[int, Outcome] = {f.position: f for f in refused}
            if messages:
                issued = await run_blocking(self.bulk.issue, list(messages), set(refs), set(codes), actor)
                outcomes.update(issued.outcomes)
                for (product, provider), count in Counter(issued.created).items():
                    metrics.issued(product, provider, True, count=count)
            for index in sorted(outcomes):
                outcome = outcomes[index]
                if isinstance(outcome, Failure):
                    response.failures.add(
                        index=index, field=outcome.field, reason=outcome.reason, message=outcome.message
                    )
                elif outcome:
                    response.issued += 1
                else:
                    response.existing += 1
            messages.clear()
            refs.clear()
            codes.clear()
            refused.clear()

        index = 0
        async for message in requests:
            lines = request_lines(message)
            if not lines:
                refused.append(
                    Failure.of(index, InvalidArgument("request", "is required", reason="REQUEST_REQUIRED"))
                )
                index += 1
                continue
            messages.append((index, message.SerializeToString()))
            for line in lines:
                refs.add(line.order_id)
                codes.add(line.product)
            index += len(lines)
            pending += len(lines)
            if pending >= BULK_CHUNK:
                await flush()
                pending = 0
        if messages or refused:
            await flush()
        return response

    def RevokeLicense(
        self, request: issuance_pb2.RevokeLicenseRequest, context: grpc.ServicerContext
    ) -> issuance_pb2.RevokeLicenseResponse:
        started = utcnow()
        records = self.issuer.revoke(
            request.order_id,
            check_product_code(request.product),
            revocation_reason(request.reason),
            request.note,
            current_caller().name,
        )
        for record in records:  # revoking again changes nothing and counts nothing
            if record.revoke_time is not None and record.revoke_time >= started and record.revocation_reason:
                metrics.revoked(record.product, record.revocation_reason.value)
        today = self.today()
        return issuance_pb2.RevokeLicenseResponse(licenses=[license_message(r, today) for r in records])

    def GetLicense(
        self, request: issuance_pb2.GetLicenseRequest, context: grpc.ServicerContext
    ) -> issuance_pb2.GetLicenseResponse:
        record = self.issuer.get(request.order_id, check_product_code(request.product), current_caller().name)
        return issuance_pb2.GetLicenseResponse(license=license_message(record, self.today()))

    def ListLicenses(
        self, request: issuance_pb2.ListLicensesRequest, context: grpc.ServicerContext
    ) -> issuance_pb2.ListLicensesResponse:
        size = request.page_size or DEFAULT_PAGE
        if size > MAX_PAGE:
            raise InvalidArgument("page_size", f"must be at most {MAX_PAGE}", reason="PAGE_SIZE_TOO_LARGE")
        after = -1
        if request.page_token:
            try:
                after = int(request.page_token, 16)
            except ValueError:
                raise InvalidArgument(
                    "page_token", "is not a token from a previous page", reason="BAD_PAGE_TOKEN"
                ) from None
        status = license_status(request.status) if request.status else None
        today = self.today()
        records = self.issuer.list_licenses(
            today=today,
            order_ref=request.order_id,
            product_code=check_product_code(request.product) if request.product else "",
            status=status,
            serial=request.serial,
            after_serial=after,
            limit=size + 1,  # one more tells whether another page follows
        )
        response = issuance_pb2.ListLicensesResponse(
            licenses=[license_message(r, today) for r in records[:size]]
        )
        if len(records) > size:
            response.next_page_token = f"{records[size - 1].serial:x}"
        return response

    def ListProducts(
        self, request: issuance_pb2.ListProductsRequest, context: grpc.ServicerContext
    ) -> issuance_pb2.ListProductsResponse:
        return issuance_pb2.ListProductsResponse(
            products=[issuance_pb2.Product(code=p.code, number=p.number, name=p.name) for p in all_products()]
        )
