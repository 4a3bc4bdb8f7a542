import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REASON_UNSPECIFIED: _ClassVar[Reason]
    REASON_MALFORMED: _ClassVar[Reason]
    REASON_UNSUPPORTED_VERSION: _ClassVar[Reason]
    REASON_UNKNOWN_KEY: _ClassVar[Reason]
    REASON_KEY_RETIRED: _ClassVar[Reason]
    REASON_BAD_SIGNATURE: _ClassVar[Reason]
    REASON_WRONG_PRODUCT: _ClassVar[Reason]
    REASON_EMAIL_MISMATCH: _ClassVar[Reason]
    REASON_INVALID_EMAIL: _ClassVar[Reason]
    REASON_NOT_YET_VALID: _ClassVar[Reason]
    REASON_EXPIRED: _ClassVar[Reason]
    REASON_UPDATES_EXPIRED: _ClassVar[Reason]
    REASON_REVOKED: _ClassVar[Reason]

class LicenseStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LICENSE_STATUS_UNSPECIFIED: _ClassVar[LicenseStatus]
    LICENSE_STATUS_VALID: _ClassVar[LicenseStatus]
    LICENSE_STATUS_EXPIRED: _ClassVar[LicenseStatus]
    LICENSE_STATUS_REVOKED: _ClassVar[LicenseStatus]

class RevocationReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVOCATION_REASON_UNSPECIFIED: _ClassVar[RevocationReason]
    REVOCATION_REASON_REFUND: _ClassVar[RevocationReason]
    REVOCATION_REASON_CHARGEBACK: _ClassVar[RevocationReason]
    REVOCATION_REASON_CANCELED: _ClassVar[RevocationReason]
    REVOCATION_REASON_FRAUD: _ClassVar[RevocationReason]
    REVOCATION_REASON_OTHER: _ClassVar[RevocationReason]
REASON_UNSPECIFIED: Reason
REASON_MALFORMED: Reason
REASON_UNSUPPORTED_VERSION: Reason
REASON_UNKNOWN_KEY: Reason
REASON_KEY_RETIRED: Reason
REASON_BAD_SIGNATURE: Reason
REASON_WRONG_PRODUCT: Reason
REASON_EMAIL_MISMATCH: Reason
REASON_INVALID_EMAIL: Reason
REASON_NOT_YET_VALID: Reason
REASON_EXPIRED: Reason
REASON_UPDATES_EXPIRED: Reason
REASON_REVOKED: Reason
LICENSE_STATUS_UNSPECIFIED: LicenseStatus
LICENSE_STATUS_VALID: LicenseStatus
LICENSE_STATUS_EXPIRED: LicenseStatus
LICENSE_STATUS_REVOKED: LicenseStatus
REVOCATION_REASON_UNSPECIFIED: RevocationReason
REVOCATION_REASON_REFUND: RevocationReason
REVOCATION_REASON_CHARGEBACK: RevocationReason
REVOCATION_REASON_CANCELED: RevocationReason
REVOCATION_REASON_FRAUD: RevocationReason
REVOCATION_REASON_OTHER: RevocationReason

class LicenseTerms(_message.Message):
    __slots__ = ("expire_time", "updates_until_time", "seats", "edition", "feature_flags")
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATES_UNTIL_TIME_FIELD_NUMBER: _ClassVar[int]
    SEATS_FIELD_NUMBER: _ClassVar[int]
    EDITION_FIELD_NUMBER: _ClassVar[int]
    FEATURE_FLAGS_FIELD_NUMBER: _ClassVar[int]
    expire_time: _timestamp_pb2.Timestamp
    updates_until_time: _timestamp_pb2.Timestamp
    seats: int
    edition: int
    feature_flags: int
    def __init__(self, expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updates_until_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., seats: _Optional[int] = ..., edition: _Optional[int] = ..., feature_flags: _Optional[int] = ...) -> None: ...

class License(_message.Message):
    __slots__ = ("serial", "product", "order_id", "license_key", "key_id", "terms", "issue_time", "status", "revoke_time", "revocation_reason", "revocation_note", "test_order", "create_time")
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    LICENSE_KEY_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    ISSUE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOCATION_REASON_FIELD_NUMBER: _ClassVar[int]
    REVOCATION_NOTE_FIELD_NUMBER: _ClassVar[int]
    TEST_ORDER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    serial: int
    product: str
    order_id: str
    license_key: str
    key_id: int
    terms: LicenseTerms
    issue_time: _timestamp_pb2.Timestamp
    status: LicenseStatus
    revoke_time: _timestamp_pb2.Timestamp
    revocation_reason: RevocationReason
    revocation_note: str
    test_order: bool
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, serial: _Optional[int] = ..., product: _Optional[str] = ..., order_id: _Optional[str] = ..., license_key: _Optional[str] = ..., key_id: _Optional[int] = ..., terms: _Optional[_Union[LicenseTerms, _Mapping]] = ..., issue_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[LicenseStatus, str]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revocation_reason: _Optional[_Union[RevocationReason, str]] = ..., revocation_note: _Optional[str] = ..., test_order: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
