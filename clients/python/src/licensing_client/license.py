"""The terms a key carries, as plain data: what a valid key gives the program."""

# No "from __future__ import annotations" here: NamedTuple turns string annotations into
# ForwardRefs, compiling each one, which made importing this module several times slower.
import datetime as dt
from typing import NamedTuple

__all__ = ["License"]


class License(NamedTuple):
    """A license as read from a key. Dates are UTC calendar days.

    A NamedTuple rather than a dataclass: immutable like one, and built several times faster,
    which matters on the validation path (docs/benchmarks.md).
    """

    key_id: int  # the signing key that made it
    product: int  # the vendor's product number (1..65535)
    serial: int  # 48-bit serial, unique per issued license; the revocation list names it
    issued: dt.date
    expires: dt.date | None  # None: perpetual; otherwise valid through this day (UTC)
    updates_until: dt.date | None  # None: updates without end; else builds up to this day
    seats: int
    edition: int  # 0..255, meaning defined by the vendor per product
    flags: int  # 16-bit feature mask, meaning defined by the vendor

    @property
    def perpetual(self) -> bool:
        return self.expires is None

    @property
    def serial_text(self) -> str:
        """The serial as support and the revocation tooling print it: 12 hex digits."""
        return f"{self.serial:012X}"

    def to_json(self) -> dict[str, object]:
        """JSON-ready values: dates as YYYY-MM-DD, null for no limit, the serial as a number."""
        return {
            "key_id": self.key_id,
            "product": self.product,
            "serial": self.serial,
            "issued": self.issued.isoformat(),
            "expires": None if self.expires is None else self.expires.isoformat(),
            "updates_until": None if self.updates_until is None else self.updates_until.isoformat(),
            "seats": self.seats,
            "edition": self.edition,
            "flags": self.flags,
        }

    def has_flag(self, bit: int) -> bool:
        """True when feature bit `bit` (0..15) is set."""
        if not 0 <= bit < 16:
            raise ValueError("feature bits are numbered 0 to 15")
        return bool(self.flags >> bit & 1)
