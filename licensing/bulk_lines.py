"""The compact records a bulk import moves through: one tuple per line, no dataclass, no dict.

A line of an IssueLicenses stream is turned into a `Line` once (api/issuance_service.py); the
preparation step (bulk_prepare.py, in a worker process or inline) turns it into a `Ready` or a
`Failure`; the raw writer (bulk_writer.py) inserts `Ready` rows as parameter tuples. Named
tuples: they cost what a tuple costs, pickle small across the worker pipe, and read by name.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from .profiles import NewProfile
from .records import Terms

__all__ = ["Failure", "Line", "Ready"]


class Line(NamedTuple):
    """One request line as received: nothing checked yet but the product code's shape."""

    position: int  # its index in the stream, for the response's failures
    email: str
    order_ref: str
    product: str  # the code
    order_time: dt.datetime | None  # naive UTC; None: now
    terms: Terms
    provider: str
    test_order: bool
    newsletter_consent: bool


class Ready(NamedTuple):
    """A checked line, what the writer stores: its purchaser's blind index, its serial, and the
    purchaser's sealed profile when the order is new (None: the order exists, nothing to seal)."""

    position: int
    email_index: bytes
    order_ref: str
    product: int  # the number
    serial: int
    order_time: dt.datetime
    explicit_order_time: bool
    terms: Terms
    provider: str
    test_order: bool
    newsletter_consent: bool
    new_profile: NewProfile | None

    @property
    def issued(self) -> dt.date:
        return self.order_time.date()


class Failure(NamedTuple):
    """A line refused, as the response reports it (a field, a reason, a message without values)."""

    position: int
    field: str
    reason: str
    message: str
