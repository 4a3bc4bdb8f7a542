"""A helper a program may use to notice a clock set back to stretch an expiring license.

The program stores the high-water mark it is given (in its settings, say) and passes it back at
the next start. Pure: no clock reading and no file access here.
"""

# No "from __future__ import annotations" here: NamedTuple turns string annotations into
# ForwardRefs, compiling each one, which made importing this module several times slower.
import datetime as dt
from typing import NamedTuple

__all__ = ["ClockCheck", "check_clock"]

# Time zones, daylight saving and a network time correction move a clock back by hours, not days.
DEFAULT_TOLERANCE = dt.timedelta(hours=26)


class ClockCheck(NamedTuple):
    """The outcome of check_clock (a NamedTuple: importing dataclasses costs start-up time)."""

    high_water_mark: dt.datetime  # store this and pass it back next time
    set_back: bool  # True when `now` is earlier than a time already seen, beyond the tolerance
    set_back_by: dt.timedelta  # how far behind the mark `now` is (zero when not behind)


def check_clock(
    now: dt.datetime,
    high_water_mark: dt.datetime | None,
    tolerance: dt.timedelta = DEFAULT_TOLERANCE,
) -> ClockCheck:
    """Compare `now` with the latest time seen before; both must be timezone-aware."""
    if now.tzinfo is None or (high_water_mark is not None and high_water_mark.tzinfo is None):
        raise TypeError("times must be timezone-aware")
    if high_water_mark is None or now >= high_water_mark:
        return ClockCheck(high_water_mark=now, set_back=False, set_back_by=dt.timedelta(0))
    behind = high_water_mark - now
    return ClockCheck(high_water_mark=high_water_mark, set_back=behind > tolerance, set_back_by=behind)
