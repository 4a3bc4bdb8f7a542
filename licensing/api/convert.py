"""Protobuf messages to and from the domain's plain records, in one place."""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2
from licensing_client import License as KeyLicense
from licensing_client import Reason

from .._proto.licensing.v1 import license_pb2, validation_pb2
from ..errors import InvalidArgument
from ..records import LicenseRecord, LicenseStatus, RevocationReason, Terms

__all__ = [
    "date_or_none",
    "datetime_or_none",
    "license_info",
    "license_message",
    "license_status",
    "reason_value",
    "revocation_reason",
    "terms_from",
    "timestamp",
]

_MIN_SECONDS = -62135596800  # 0001-01-01, the smallest valid google.protobuf.Timestamp
_MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59


def datetime_or_none(message: object, field: str) -> dt.datetime | None:
    """A Timestamp field as naive UTC, None when unset; out-of-range values name the field."""
    if not message.HasField(field.rsplit(".", 1)[-1]):  # type: ignore[attr-defined]
        return None
    value: timestamp_pb2.Timestamp = getattr(message, field.rsplit(".", 1)[-1])
    if not _MIN_SECONDS <= value.seconds <= _MAX_SECONDS or not 0 <= value.nanos < 1_000_000_000:
        raise InvalidArgument(field, "is not a valid timestamp", reason="TIMESTAMP_INVALID")
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)


def date_or_none(message: object, field: str) -> dt.date | None:
    value = datetime_or_none(message, field)
    return None if value is None else value.date()


_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_DAY = _EPOCH.toordinal()


def timestamp(value: dt.datetime | dt.date | None) -> timestamp_pb2.Timestamp | None:
    """A stored time (naive UTC) or day as a Timestamp; by arithmetic, as Timestamp.FromDatetime
    costs several times more and every issuance answer carries three or more of these."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        return timestamp_pb2.Timestamp(seconds=(value.toordinal() - _EPOCH_DAY) * 86400)
    since = value.replace(tzinfo=None) - _EPOCH
    return timestamp_pb2.Timestamp(
        seconds=since.days * 86400 + since.seconds, nanos=since.microseconds * 1000
    )


def terms_from(message: license_pb2.LicenseTerms) -> Terms:
    return Terms(
        expires=date_or_none(message, "terms.expire_time"),
        updates_until=date_or_none(message, "terms.updates_until_time"),
        seats=message.seats,
        edition=message.edition,
        flags=message.feature_flags,
    )


_STATUS = {
    LicenseStatus.VALID: license_pb2.LICENSE_STATUS_VALID,
    LicenseStatus.EXPIRED: license_pb2.LICENSE_STATUS_EXPIRED,
    LicenseStatus.REVOKED: license_pb2.LICENSE_STATUS_REVOKED,
}
_REVOCATION_TO_PROTO = {
    RevocationReason.REFUND: license_pb2.REVOCATION_REASON_REFUND,
    RevocationReason.CHARGEBACK: license_pb2.REVOCATION_REASON_CHARGEBACK,
    RevocationReason.CANCELED: license_pb2.REVOCATION_REASON_CANCELED,
    RevocationReason.FRAUD: license_pb2.REVOCATION_REASON_FRAUD,
    RevocationReason.OTHER: license_pb2.REVOCATION_REASON_OTHER,
}
_REVOCATION_FROM_PROTO: dict[int, RevocationReason] = {
    int(value): key for key, value in _REVOCATION_TO_PROTO.items()
}


def license_status(value: int) -> LicenseStatus:
    for status, number in _STATUS.items():
        if number == value:
            return status
    raise InvalidArgument("status", "must be VALID, EXPIRED or REVOKED", reason="BAD_STATUS")


def revocation_reason(value: int) -> RevocationReason:
    try:
        return _REVOCATION_FROM_PROTO[value]
    except KeyError:
        raise InvalidArgument(
            "reason",
            "must be REFUND, CHARGEBACK, CANCELED, FRAUD or OTHER",
            reason="REVOCATION_REASON_REQUIRED",
        ) from None


def license_message(record: LicenseRecord, today: dt.date) -> license_pb2.License:
    terms = record.terms
    return license_pb2.License(
        serial=record.serial,
        product=record.product,
        order_id=record.order_ref,
        license_key=record.key_text,
        key_id=record.key_id,
        terms=license_pb2.LicenseTerms(
            expire_time=timestamp(terms.expires),
            updates_until_time=timestamp(terms.updates_until),
            seats=terms.seats,
            edition=terms.edition,
            feature_flags=terms.flags,
        ),
        issue_time=timestamp(record.issued),
        status=_STATUS[record.status(today)],
        revoke_time=timestamp(record.revoke_time),
        revocation_reason=_REVOCATION_TO_PROTO.get(record.revocation_reason)
        if record.revocation_reason
        else 0,  # type: ignore[arg-type]
        revocation_note=record.revocation_note or "",
        test_order=record.test_order,
        create_time=timestamp(record.create_time),
    )


def reason_value(reason: Reason | None) -> int:
    """The proto Reason for a client Reason; the enums share names (a test pins that)."""
    return 0 if reason is None else license_pb2.Reason.Value(f"REASON_{reason.value}")


def license_info(license: KeyLicense, product_code: str | None) -> validation_pb2.LicenseInfo:
    return validation_pb2.LicenseInfo(
        serial=license.serial,
        product=product_code or "",
        key_id=license.key_id,
        issue_time=timestamp(license.issued),
        expire_time=timestamp(license.expires),
        updates_until_time=timestamp(license.updates_until),
        seats=license.seats,
        edition=license.edition,
        feature_flags=license.flags,
    )
