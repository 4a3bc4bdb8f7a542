"""A forked process that must not outlive the process that forked it.

`serve --processes` forks server children, and each server forks preparation workers. If the
parent is killed outright (SIGKILL, the OOM killer), nothing of it runs to stop them: orphaned
server children would go on serving the port with the old keyring, beside a restarted server on the
same SO_REUSEPORT port. Linux sends a chosen signal to a process when its parent thread ends
(PR_SET_PDEATHSIG); elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int, sig: signal.Signals = signal.SIGKILL) -> None:
    """Have the kernel send `sig` to this process when `parent` (its parent, by pid) ends; exit at
    once if it has ended already (before this call took effect)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)
