"""The one place where the project's errors become gRPC statuses with a google.rpc.ErrorInfo.

Every reason is UPPER_SNAKE_CASE (AIP-193) under the domain "licensing". Anything unexpected
becomes INTERNAL with a generic message: a handler never answers UNKNOWN and never echoes
what the caller sent.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from .. import errors

__all__ = ["ERROR_DOMAIN", "status_for"]

ERROR_DOMAIN = "licensing"

_CODES: list[tuple[type[errors.LicensingError], grpc.StatusCode]] = [
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.Conflict, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.RateLimited, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.SchemaOutdated, grpc.StatusCode.FAILED_PRECONDITION),
]


def code_for(error: errors.LicensingError) -> grpc.StatusCode:
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return grpc.StatusCode.INTERNAL


def status_for(error: Exception) -> grpc.Status:
    """A rich status for `error`: code, a message a person can act on, and ErrorInfo."""
    if isinstance(error, errors.LicensingError):
        code, message, reason = code_for(error), error.message, error.reason
        metadata = {"field": error.field} if isinstance(error, errors.InvalidArgument) else {}
        if isinstance(error, errors.RateLimited):
            metadata["retry_after_seconds"] = f"{error.retry_after:.1f}"
    else:
        code, message, reason, metadata = (
            grpc.StatusCode.INTERNAL,
            "internal error; it has been logged",
            "INTERNAL",
            {},
        )
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata))
    details = [info]
    if isinstance(error, errors.RateLimited):
        retry = error_details_pb2.RetryInfo()
        retry.retry_delay.FromNanoseconds(int(error.retry_after * 1e9))
        packed = any_pb2.Any()
        packed.Pack(retry)
        details.append(packed)
    return rpc_status.to_status(
        status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=details)
    )
