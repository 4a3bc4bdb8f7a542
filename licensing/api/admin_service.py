"""AdminService: who the caller is, the audit log, and trends without people in them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import grpc

from .. import audit, metrics, trends
from .._proto.licensing.v1 import admin_pb2, admin_pb2_grpc
from ..errors import InvalidArgument
from .convert import datetime_or_none, timestamp
from .interceptor import current_caller

__all__ = ["AdminServicer"]

MAX_AUDIT_PAGE = 1000
MAX_TREND_DAYS = 366
_ACTION = re.compile(r"[a-z][a-z_-]{0,31}")


def _daily(rows: list[trends.DailyCount]) -> list[admin_pb2.DailyCount]:
    return [
        admin_pb2.DailyCount(
            day_time=timestamp(row.day), product=row.product, category=row.category, count=row.count
        )
        for row in rows
    ]


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    def __init__(self, today: Callable[[], dt.date]) -> None:
        self.today = today

    def GetCaller(
        self, request: admin_pb2.GetCallerRequest, context: grpc.ServicerContext
    ) -> admin_pb2.GetCallerResponse:
        caller = current_caller()
        return admin_pb2.GetCallerResponse(name=caller.name, role=caller.role.value)

    def ListAuditEntries(
        self, request: admin_pb2.ListAuditEntriesRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ListAuditEntriesResponse:
        size = request.page_size or 100
        if size > MAX_AUDIT_PAGE:
            raise InvalidArgument(
                "page_size", f"must be at most {MAX_AUDIT_PAGE}", reason="PAGE_SIZE_INVALID"
            )
        if request.action and not _ACTION.fullmatch(request.action):
            raise InvalidArgument("action", "is not an audit action name", reason="ACTION_INVALID")
        entries = audit.latest(
            size,
            since=datetime_or_none(request, "start_time"),
            until=datetime_or_none(request, "end_time"),
            action=request.action or None,
        )
        return admin_pb2.ListAuditEntriesResponse(
            entries=[
                admin_pb2.AuditEntry(
                    time=timestamp(entry.time),
                    actor=entry.actor,
                    action=entry.action,
                    target=entry.target,
                    detail=entry.detail,
                )
                for entry in entries
            ]
        )

    def GetTrends(
        self, request: admin_pb2.GetTrendsRequest, context: grpc.ServicerContext
    ) -> admin_pb2.GetTrendsResponse:
        days = request.days or 30
        if days > MAX_TREND_DAYS:
            raise InvalidArgument("days", f"must be at most {MAX_TREND_DAYS}", reason="DAYS_INVALID")
        end = self.today()
        start = end - dt.timedelta(days=days - 1)
        return admin_pb2.GetTrendsResponse(
            start_time=timestamp(start),
            days=days,
            issued=_daily(trends.issued_per_day(start, end)),
            revoked=_daily(trends.revoked_per_day(start, end)),
            verdicts=[
                admin_pb2.ReasonCount(reason=reason, count=count)
                for reason, count in sorted(metrics.verdict_counts().items())
            ],
        )
