"""SupportService: look-ups by email, order or key; export; erasure; email correction; consent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import grpc

from .. import metrics
from .._proto.licensing.v1 import support_pb2, support_pb2_grpc
from ..errors import InvalidArgument
from ..support import ProfileView, Support
from .convert import license_message, timestamp
from .interceptor import current_caller

__all__ = ["SupportServicer"]


def profile_message(view: ProfileView) -> support_pb2.Profile:
    return support_pb2.Profile(
        profile_id=view.public_id,
        email=view.email or "",
        create_time=timestamp(view.create_time),
        newsletter=support_pb2.NewsletterConsent(
            subscribed=view.newsletter_subscribed,
            change_time=timestamp(view.newsletter_change_time),
            source=view.newsletter_source or "",
        ),
        erase_time=timestamp(view.erase_time),
    )


def profile_record(view: ProfileView, today: dt.date) -> support_pb2.ProfileRecord:
    return support_pb2.ProfileRecord(
        profile=profile_message(view),
        orders=[
            support_pb2.OrderRecord(
                order_id=order.order_ref,
                provider=order.provider,
                order_time=timestamp(order.order_time),
                test_order=order.test_order,
                licenses=[license_message(lic, today) for lic in order.licenses],
            )
            for order in view.orders
        ],
    )


class SupportServicer(support_pb2_grpc.SupportServiceServicer):
    def __init__(self, support: Support, today: Callable[[], dt.date]) -> None:
        self.support = support
        self.today = today

    def FindLicenses(
        self, request: support_pb2.FindLicensesRequest, context: grpc.ServicerContext
    ) -> support_pb2.FindLicensesResponse:
        actor = current_caller().name
        query = request.WhichOneof("query")
        if query == "email":
            views = self.support.find_by_email(request.email, actor)
        elif query == "order_id":
            views = self.support.find_by_order(request.order_id, actor)
        elif query == "license_key":
            views = self.support.find_by_key(request.license_key, actor)
        else:
            raise InvalidArgument(
                "query", "give one of email, order_id or license_key", reason="QUERY_REQUIRED"
            )
        metrics.lookup(query)
        today = self.today()
        return support_pb2.FindLicensesResponse(profiles=[profile_record(view, today) for view in views])

    def ExportProfile(
        self, request: support_pb2.ExportProfileRequest, context: grpc.ServicerContext
    ) -> support_pb2.ExportProfileResponse:
        document = self.support.export(request.email, current_caller().name, self.today())
        return support_pb2.ExportProfileResponse(document=document, content_type="application/json")

    def EraseProfile(
        self, request: support_pb2.EraseProfileRequest, context: grpc.ServicerContext
    ) -> support_pb2.EraseProfileResponse:
        erased, kept = self.support.erase(request.email, current_caller().name)
        return support_pb2.EraseProfileResponse(erased=erased, licenses_kept=kept)

    def SetNewsletterConsent(
        self, request: support_pb2.SetNewsletterConsentRequest, context: grpc.ServicerContext
    ) -> support_pb2.SetNewsletterConsentResponse:
        view = self.support.set_newsletter_consent(
            request.email, request.subscribed, request.source, current_caller().name
        )
        return support_pb2.SetNewsletterConsentResponse(profile=profile_message(view))

    def CorrectEmail(
        self, request: support_pb2.CorrectEmailRequest, context: grpc.ServicerContext
    ) -> support_pb2.CorrectEmailResponse:
        which = request.WhichOneof("profile")
        correction = self.support.correct_email(
            request.email if which == "email" else "",
            request.profile_id if which == "profile_id" else "",
            request.new_email,
            current_caller().name,
        )
        today = self.today()
        record = profile_record(correction.profile, today)
        by_serial = {lic.serial: lic for order in record.orders for lic in order.licenses}
        return support_pb2.CorrectEmailResponse(
            profile=record,
            replaced=[
                support_pb2.ReplacedLicense(former_serial=old, license=by_serial[new])
                for old, new in correction.replaced
                if new in by_serial
            ],
        )
