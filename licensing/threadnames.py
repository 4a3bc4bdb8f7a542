"""Native (kernel) names for the server's long-lived threads.

Python names its threads only for itself; the kernel sees every one as "python". Giving the event
loop, the group-commit writer and the health monitor their names lets `top -H`, `ps -L`, py-spy and
/proc/PID/task/*/comm (bench/issue.py's CPU per thread) tell them apart. Linux only; elsewhere, and
if the C library cannot be reached, it does nothing.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["name_native_thread"]

_PR_SET_NAME = 15
_MAX_LENGTH = 15  # the kernel keeps 16 bytes with the terminating NUL


def name_native_thread(name: str) -> None:
    """Name the calling thread for the kernel (the first 15 bytes of `name`)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:_MAX_LENGTH]), 0, 0, 0)
    except (OSError, AttributeError):
        return
