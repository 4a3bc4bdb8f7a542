"""Private files: the home folder is 0700 and every SQLite file in it 0600, whatever the umask.

SQLite creates a database's -wal and -shm (and -journal) files with the mode of the database
file itself, so creating the database file as 0600 before SQLite opens it keeps all of them
private; files left by an older version or another tool are brought to 0600 here too. A home
that existed before `init` (made by `mkdir` with a permissive umask, say) is narrowed to 0700.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["private_folder", "private_sqlite_file"]

_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_folder(path: Path) -> None:
    """Create `path` (and parents) if needed and make it 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != 0o700:
        path.chmod(0o700)


def private_sqlite_file(path: Path) -> None:
    """Make the database file (created empty if absent) and its side files 0600."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        os.close(descriptor)  # an empty file is a valid, empty SQLite database
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in _SIDE_FILES)):
        try:
            if candidate.stat().st_mode & 0o777 != 0o600:
                candidate.chmod(0o600)
        except FileNotFoundError:
            continue
