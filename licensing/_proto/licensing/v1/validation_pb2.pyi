import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from licensing._proto.licensing.v1 import license_pb2 as _license_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SigningKeyStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIGNING_KEY_STATUS_UNSPECIFIED: _ClassVar[SigningKeyStatus]
    SIGNING_KEY_STATUS_ACTIVE: _ClassVar[SigningKeyStatus]
    SIGNING_KEY_STATUS_VERIFY_ONLY: _ClassVar[SigningKeyStatus]
    SIGNING_KEY_STATUS_RETIRED: _ClassVar[SigningKeyStatus]
SIGNING_KEY_STATUS_UNSPECIFIED: SigningKeyStatus
SIGNING_KEY_STATUS_ACTIVE: SigningKeyStatus
SIGNING_KEY_STATUS_VERIFY_ONLY: SigningKeyStatus
SIGNING_KEY_STATUS_RETIRED: SigningKeyStatus

class ValidateKeyRequest(_message.Message):
    __slots__ = ("license_key", "email", "product", "build_time")
    LICENSE_KEY_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    BUILD_TIME_FIELD_NUMBER: _ClassVar[int]
    license_key: str
    email: str
    product: str
    build_time: _timestamp_pb2.Timestamp
    def __init__(self, license_key: _Optional[str] = ..., email: _Optional[str] = ..., product: _Optional[str] = ..., build_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ValidateKeyResponse(_message.Message):
    __slots__ = ("valid", "reason", "info")
    VALID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    reason: _license_pb2.Reason
    info: LicenseInfo
    def __init__(self, valid: _Optional[bool] = ..., reason: _Optional[_Union[_license_pb2.Reason, str]] = ..., info: _Optional[_Union[LicenseInfo, _Mapping]] = ...) -> None: ...

class LicenseInfo(_message.Message):
    __slots__ = ("serial", "product", "key_id", "issue_time", "expire_time", "updates_until_time", "seats", "edition", "feature_flags")
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATES_UNTIL_TIME_FIELD_NUMBER: _ClassVar[int]
    SEATS_FIELD_NUMBER: _ClassVar[int]
    EDITION_FIELD_NUMBER: _ClassVar[int]
    FEATURE_FLAGS_FIELD_NUMBER: _ClassVar[int]
    serial: int
    product: str
    key_id: int
    issue_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    updates_until_time: _timestamp_pb2.Timestamp
    seats: int
    edition: int
    feature_flags: int
    def __init__(self, serial: _Optional[int] = ..., product: _Optional[str] = ..., key_id: _Optional[int] = ..., issue_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updates_until_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., seats: _Optional[int] = ..., edition: _Optional[int] = ..., feature_flags: _Optional[int] = ...) -> None: ...

class ListSigningKeysRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSigningKeysResponse(_message.Message):
    __slots__ = ("signing_keys", "keyring_document")
    SIGNING_KEYS_FIELD_NUMBER: _ClassVar[int]
    KEYRING_DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    signing_keys: _containers.RepeatedCompositeFieldContainer[SigningKey]
    keyring_document: bytes
    def __init__(self, signing_keys: _Optional[_Iterable[_Union[SigningKey, _Mapping]]] = ..., keyring_document: _Optional[bytes] = ...) -> None: ...

class SigningKey(_message.Message):
    __slots__ = ("key_id", "public_key", "status", "create_time")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    key_id: int
    public_key: bytes
    status: SigningKeyStatus
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, key_id: _Optional[int] = ..., public_key: _Optional[bytes] = ..., status: _Optional[_Union[SigningKeyStatus, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetRevocationListRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetRevocationListResponse(_message.Message):
    __slots__ = ("revocation_list", "sequence", "issue_time", "serials")
    REVOCATION_LIST_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ISSUE_TIME_FIELD_NUMBER: _ClassVar[int]
    SERIALS_FIELD_NUMBER: _ClassVar[int]
    revocation_list: bytes
    sequence: int
    issue_time: _timestamp_pb2.Timestamp
    serials: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, revocation_list: _Optional[bytes] = ..., sequence: _Optional[int] = ..., issue_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., serials: _Optional[_Iterable[int]] = ...) -> None: ...
