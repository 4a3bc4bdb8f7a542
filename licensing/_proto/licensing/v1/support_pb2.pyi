import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from licensing._proto.licensing.v1 import license_pb2 as _license_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FindLicensesRequest(_message.Message):
    __slots__ = ("email", "order_id", "license_key")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    LICENSE_KEY_FIELD_NUMBER: _ClassVar[int]
    email: str
    order_id: str
    license_key: str
    def __init__(self, email: _Optional[str] = ..., order_id: _Optional[str] = ..., license_key: _Optional[str] = ...) -> None: ...

class FindLicensesResponse(_message.Message):
    __slots__ = ("profiles",)
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[ProfileRecord]
    def __init__(self, profiles: _Optional[_Iterable[_Union[ProfileRecord, _Mapping]]] = ...) -> None: ...

class ProfileRecord(_message.Message):
    __slots__ = ("profile", "orders")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    profile: Profile
    orders: _containers.RepeatedCompositeFieldContainer[OrderRecord]
    def __init__(self, profile: _Optional[_Union[Profile, _Mapping]] = ..., orders: _Optional[_Iterable[_Union[OrderRecord, _Mapping]]] = ...) -> None: ...

class Profile(_message.Message):
    __slots__ = ("profile_id", "email", "create_time", "newsletter", "erase_time")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    NEWSLETTER_FIELD_NUMBER: _ClassVar[int]
    ERASE_TIME_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    email: str
    create_time: _timestamp_pb2.Timestamp
    newsletter: NewsletterConsent
    erase_time: _timestamp_pb2.Timestamp
    def __init__(self, profile_id: _Optional[str] = ..., email: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., newsletter: _Optional[_Union[NewsletterConsent, _Mapping]] = ..., erase_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class NewsletterConsent(_message.Message):
    __slots__ = ("subscribed", "change_time", "source")
    SUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    CHANGE_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    subscribed: bool
    change_time: _timestamp_pb2.Timestamp
    source: str
    def __init__(self, subscribed: _Optional[bool] = ..., change_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ...) -> None: ...

class OrderRecord(_message.Message):
    __slots__ = ("order_id", "provider", "order_time", "test_order", "licenses")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    ORDER_TIME_FIELD_NUMBER: _ClassVar[int]
    TEST_ORDER_FIELD_NUMBER: _ClassVar[int]
    LICENSES_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    provider: str
    order_time: _timestamp_pb2.Timestamp
    test_order: bool
    licenses: _containers.RepeatedCompositeFieldContainer[_license_pb2.License]
    def __init__(self, order_id: _Optional[str] = ..., provider: _Optional[str] = ..., order_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., test_order: _Optional[bool] = ..., licenses: _Optional[_Iterable[_Union[_license_pb2.License, _Mapping]]] = ...) -> None: ...

class ExportProfileRequest(_message.Message):
    __slots__ = ("email",)
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    email: str
    def __init__(self, email: _Optional[str] = ...) -> None: ...

class ExportProfileResponse(_message.Message):
    __slots__ = ("document", "content_type")
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    document: str
    content_type: str
    def __init__(self, document: _Optional[str] = ..., content_type: _Optional[str] = ...) -> None: ...

class EraseProfileRequest(_message.Message):
    __slots__ = ("email",)
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    email: str
    def __init__(self, email: _Optional[str] = ...) -> None: ...

class EraseProfileResponse(_message.Message):
    __slots__ = ("erased", "licenses_kept")
    ERASED_FIELD_NUMBER: _ClassVar[int]
    LICENSES_KEPT_FIELD_NUMBER: _ClassVar[int]
    erased: bool
    licenses_kept: int
    def __init__(self, erased: _Optional[bool] = ..., licenses_kept: _Optional[int] = ...) -> None: ...

class CorrectEmailRequest(_message.Message):
    __slots__ = ("email", "profile_id", "new_email")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_EMAIL_FIELD_NUMBER: _ClassVar[int]
    email: str
    profile_id: str
    new_email: str
    def __init__(self, email: _Optional[str] = ..., profile_id: _Optional[str] = ..., new_email: _Optional[str] = ...) -> None: ...

class ReplacedLicense(_message.Message):
    __slots__ = ("former_serial", "license")
    FORMER_SERIAL_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    former_serial: int
    license: _license_pb2.License
    def __init__(self, former_serial: _Optional[int] = ..., license: _Optional[_Union[_license_pb2.License, _Mapping]] = ...) -> None: ...

class CorrectEmailResponse(_message.Message):
    __slots__ = ("profile", "replaced")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    REPLACED_FIELD_NUMBER: _ClassVar[int]
    profile: ProfileRecord
    replaced: _containers.RepeatedCompositeFieldContainer[ReplacedLicense]
    def __init__(self, profile: _Optional[_Union[ProfileRecord, _Mapping]] = ..., replaced: _Optional[_Iterable[_Union[ReplacedLicense, _Mapping]]] = ...) -> None: ...

class SetNewsletterConsentRequest(_message.Message):
    __slots__ = ("email", "subscribed", "source")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    email: str
    subscribed: bool
    source: str
    def __init__(self, email: _Optional[str] = ..., subscribed: _Optional[bool] = ..., source: _Optional[str] = ...) -> None: ...

class SetNewsletterConsentResponse(_message.Message):
    __slots__ = ("profile",)
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: Profile
    def __init__(self, profile: _Optional[_Union[Profile, _Mapping]] = ...) -> None: ...
