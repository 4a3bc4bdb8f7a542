"""The compact records a bulk import moves through: one tuple per line, no dataclass, no dict.

The server's event loop does not convert the stream: it hands each message, still serialized, to
the preparation step (bulk_prepare.py, in a worker process or inline), which turns every line into
a `Line` (`lines_of`, the conversions of a single IssueLicense), then into a `Ready` row or a
`Failure`. The writer (issuance_writer.py) inserts `Ready` rows as parameter tuples. Named tuples
read by name and cost what a tuple costs; across the worker's pipe they travel as plain tuples
(`from_wire`): pickling a named tuple or a dataclass runs Python code per object.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, NamedTuple

from ._proto.licensing.v1 import issuance_pb2
from .api.convert import datetime_or_none, terms_from
from .errors import LicensingError
from .inputs import check_product_code
from .issuance_writer import Ready
from .profiles import NewProfile
from .records import Terms

__all__ = ["Failure", "Line", "Ready", "from_wire", "lines_of", "request_lines"]


class Line(NamedTuple):
    """One request line as received: nothing checked yet but its conversion from the message."""

    position: int  # its index in the stream, for the response's failures
    email: str
    order_ref: str
    product: str  # the code
    order_time: dt.datetime | None  # naive UTC; None: now
    terms: Terms
    provider: str
    test_order: bool
    newsletter_consent: bool


class Failure(NamedTuple):
    """A line refused, as the response reports it (a field, a reason, a message without values)."""

    position: int
    field: str
    reason: str
    message: str

    @classmethod
    def of(cls, position: int, error: LicensingError) -> Failure:
        """The line at `position`, refused with `error` (its field, reason and message)."""
        return cls(position, getattr(error, "field", ""), error.reason, error.message)


def request_lines(message: issuance_pb2.IssueLicensesRequest) -> list[issuance_pb2.IssueLicenseRequest]:
    """The lines of one stream message: `request`, then `requests` (none: the message is refused)."""
    return ([message.request] if message.HasField("request") else []) + list(message.requests)


def lines_of(first: int, raw: bytes) -> Iterator[Line | Failure]:
    """The lines of one serialized stream message, numbered from `first`."""
    for position, line in enumerate(request_lines(issuance_pb2.IssueLicensesRequest.FromString(raw)), first):
        try:
            yield Line(
                position,
                line.email,
                line.order_id,
                check_product_code(line.product),
                datetime_or_none(line, "order_time"),
                terms_from(line.terms),
                line.provider,
                line.test_order,
                line.newsletter_consent,
            )
        except LicensingError as exc:
            yield Failure.of(position, exc)


def from_wire(values: tuple[Any, ...]) -> Ready:
    """The Ready row of the plain tuple a worker sends (Ready's fields in order, the profile as a
    plain tuple too), built without running Python code per field."""
    profile = values[15]
    if profile is not None:
        values = (*values[:15], tuple.__new__(NewProfile, profile))
    return tuple.__new__(Ready, values)
