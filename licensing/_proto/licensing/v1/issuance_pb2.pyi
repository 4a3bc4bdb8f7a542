import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from licensing._proto.licensing.v1 import license_pb2 as _license_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IssueLicenseRequest(_message.Message):
    __slots__ = ("email", "order_id", "product", "terms", "order_time", "provider", "test_order", "newsletter_consent")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    ORDER_TIME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    TEST_ORDER_FIELD_NUMBER: _ClassVar[int]
    NEWSLETTER_CONSENT_FIELD_NUMBER: _ClassVar[int]
    email: str
    order_id: str
    product: str
    terms: _license_pb2.LicenseTerms
    order_time: _timestamp_pb2.Timestamp
    provider: str
    test_order: bool
    newsletter_consent: bool
    def __init__(self, email: _Optional[str] = ..., order_id: _Optional[str] = ..., product: _Optional[str] = ..., terms: _Optional[_Union[_license_pb2.LicenseTerms, _Mapping]] = ..., order_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., provider: _Optional[str] = ..., test_order: _Optional[bool] = ..., newsletter_consent: _Optional[bool] = ...) -> None: ...

class IssueLicenseResponse(_message.Message):
    __slots__ = ("license", "created")
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    license: _license_pb2.License
    created: bool
    def __init__(self, license: _Optional[_Union[_license_pb2.License, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class RevokeLicenseRequest(_message.Message):
    __slots__ = ("order_id", "product", "reason", "note")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    product: str
    reason: _license_pb2.RevocationReason
    note: str
    def __init__(self, order_id: _Optional[str] = ..., product: _Optional[str] = ..., reason: _Optional[_Union[_license_pb2.RevocationReason, str]] = ..., note: _Optional[str] = ...) -> None: ...

class RevokeLicenseResponse(_message.Message):
    __slots__ = ("licenses",)
    LICENSES_FIELD_NUMBER: _ClassVar[int]
    licenses: _containers.RepeatedCompositeFieldContainer[_license_pb2.License]
    def __init__(self, licenses: _Optional[_Iterable[_Union[_license_pb2.License, _Mapping]]] = ...) -> None: ...

class GetLicenseRequest(_message.Message):
    __slots__ = ("order_id", "product")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    product: str
    def __init__(self, order_id: _Optional[str] = ..., product: _Optional[str] = ...) -> None: ...

class GetLicenseResponse(_message.Message):
    __slots__ = ("license",)
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    license: _license_pb2.License
    def __init__(self, license: _Optional[_Union[_license_pb2.License, _Mapping]] = ...) -> None: ...

class IssueLicensesRequest(_message.Message):
    __slots__ = ("request", "requests")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    request: IssueLicenseRequest
    requests: _containers.RepeatedCompositeFieldContainer[IssueLicenseRequest]
    def __init__(self, request: _Optional[_Union[IssueLicenseRequest, _Mapping]] = ..., requests: _Optional[_Iterable[_Union[IssueLicenseRequest, _Mapping]]] = ...) -> None: ...

class IssueLicensesResponse(_message.Message):
    __slots__ = ("issued", "existing", "failures")
    ISSUED_FIELD_NUMBER: _ClassVar[int]
    EXISTING_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    issued: int
    existing: int
    failures: _containers.RepeatedCompositeFieldContainer[BulkIssueFailure]
    def __init__(self, issued: _Optional[int] = ..., existing: _Optional[int] = ..., failures: _Optional[_Iterable[_Union[BulkIssueFailure, _Mapping]]] = ...) -> None: ...

class BulkIssueFailure(_message.Message):
    __slots__ = ("index", "field", "reason", "message")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    index: int
    field: str
    reason: str
    message: str
    def __init__(self, index: _Optional[int] = ..., field: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ListLicensesRequest(_message.Message):
    __slots__ = ("order_id", "product", "status", "serial", "page_size", "page_token")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    product: str
    status: _license_pb2.LicenseStatus
    serial: int
    page_size: int
    page_token: str
    def __init__(self, order_id: _Optional[str] = ..., product: _Optional[str] = ..., status: _Optional[_Union[_license_pb2.LicenseStatus, str]] = ..., serial: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListLicensesResponse(_message.Message):
    __slots__ = ("licenses", "next_page_token")
    LICENSES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    licenses: _containers.RepeatedCompositeFieldContainer[_license_pb2.License]
    next_page_token: str
    def __init__(self, licenses: _Optional[_Iterable[_Union[_license_pb2.License, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListProductsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListProductsResponse(_message.Message):
    __slots__ = ("products",)
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    products: _containers.RepeatedCompositeFieldContainer[Product]
    def __init__(self, products: _Optional[_Iterable[_Union[Product, _Mapping]]] = ...) -> None: ...

class Product(_message.Message):
    __slots__ = ("code", "number", "name")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    code: str
    number: int
    name: str
    def __init__(self, code: _Optional[str] = ..., number: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...
