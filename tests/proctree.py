"""Which processes a test's server has below it, and whether they still run (from /proc, Linux)."""

from __future__ import annotations

import contextlib
from pathlib import Path

__all__ = ["alive", "children_of", "descendants"]


def children_of(pid: int) -> list[int]:
    """The processes `pid` forked (from every one of its threads)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def descendants(pid: int) -> set[int]:
    """Every process below `pid`: its children, theirs, and so on."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children_of(todo.pop()):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Running: not ended, and not a zombie left for its parent to reap (a container's init may
    never reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
