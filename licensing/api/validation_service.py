"""ValidationService: the online key check, the public keyring, the signed revocation list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import grpc

from .. import metrics
from .._proto.licensing.v1 import validation_pb2, validation_pb2_grpc
from ..inputs import check_product_code
from ..validation import Validator
from .convert import date_or_none, license_info, reason_value, timestamp

__all__ = ["ValidationServicer"]

_KEY_STATUS = {
    "active": validation_pb2.SIGNING_KEY_STATUS_ACTIVE,
    "verify-only": validation_pb2.SIGNING_KEY_STATUS_VERIFY_ONLY,
    "retired": validation_pb2.SIGNING_KEY_STATUS_RETIRED,
}


class ValidationServicer(validation_pb2_grpc.ValidationServiceServicer):
    def __init__(self, validator: Validator, clock: Callable[[], dt.datetime]) -> None:
        self.validator = validator
        self.clock = clock

    def ValidateKey(
        self, request: validation_pb2.ValidateKeyRequest, context: grpc.ServicerContext
    ) -> validation_pb2.ValidateKeyResponse:
        result = self.validator.check(
            request.license_key,
            request.email,
            check_product_code(request.product),
            self.clock().replace(tzinfo=dt.UTC),
            date_or_none(request, "build_time"),
        )
        metrics.verdict(result.product_code, result.reason.name if result.reason else None)
        return validation_pb2.ValidateKeyResponse(
            valid=result.valid,
            reason=reason_value(result.reason),  # type: ignore[arg-type]  # the enum's int value
            info=license_info(result.license, result.product_code) if result.license else None,
        )

    def ListSigningKeys(
        self, request: validation_pb2.ListSigningKeysRequest, context: grpc.ServicerContext
    ) -> validation_pb2.ListSigningKeysResponse:
        document = self.validator.public_document()
        return validation_pb2.ListSigningKeysResponse(
            signing_keys=[
                validation_pb2.SigningKey(
                    key_id=key.key_id,
                    public_key=key.public_key,
                    status=_KEY_STATUS[key.status],
                    create_time=timestamp(key.create_time),
                )
                for key in self.validator.keyring.keys
            ],
            keyring_document=document.encode("utf-8"),
        )

    def GetRevocationList(
        self, request: validation_pb2.GetRevocationListRequest, context: grpc.ServicerContext
    ) -> validation_pb2.GetRevocationListResponse:
        current = self.validator.revocation_list()
        return validation_pb2.GetRevocationListResponse(
            revocation_list=current.document.encode("utf-8"),
            sequence=current.sequence,
            issue_time=timestamp(current.issue_time),
            serials=current.serials,
        )
